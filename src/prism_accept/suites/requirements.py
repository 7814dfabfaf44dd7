"""What a case needs from a backend beyond the interface under test, declared up front (as
SQLAlchemy's dialect suite does in requirements.py), never discovered by `if` in a case body.

    @requires.interface("keyvalue_scan")
    @requires.limit("max_value_bytes")
    def test_...

A need the backend's registry file does not declare makes the case a SKIP whose reason names the
file and the field to add; the cell decides it at collection, before any case runs, so
`pytest --collect-only -rs` shows it. A declared need must hold: the case runs and must pass.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from importlib import resources
from typing import Any, Iterable

import pytest

from prism_accept.registry import BackendDeclaration

MARK = "prism_requires"


@dataclass(frozen=True)
class Requirement:
    field: str  # the YAML field that declares it, e.g. "limits.max_value_bytes"
    want: str  # what the field must say, in words

    def unmet(self, decl: BackendDeclaration) -> bool:
        raise NotImplementedError

    def reason(self, decl: BackendDeclaration) -> str:
        return f"needs {self.want}, which {decl.path} does not declare"


@dataclass(frozen=True)
class _Interface(Requirement):
    name: str = ""

    def unmet(self, decl: BackendDeclaration) -> bool:
        return self.name not in decl.implements


@dataclass(frozen=True)
class _Limit(Requirement):
    name: str = ""

    def unmet(self, decl: BackendDeclaration) -> bool:
        return self.name not in decl.limits


@dataclass(frozen=True)
class _Behaviour(Requirement):
    interface: str = ""
    name: str = ""
    values: tuple[Any, ...] = ()

    def unmet(self, decl: BackendDeclaration) -> bool:
        declared = decl.behaviours.get(self.interface, {}).get(self.name)
        if isinstance(declared, list):
            return not any(v in declared for v in self.values)
        return declared not in self.values


@functools.lru_cache(maxsize=None)
def _declarable() -> dict[str, Any]:
    """What a registry file can declare (backend.schema.json): limits and behaviours by name."""
    schema = json.loads(resources.files("prism_accept").joinpath("backend.schema.json").read_text())
    return schema["properties"]


def _known_interface(name: str) -> None:
    from prism_accept.catalog import interface_names

    if name not in interface_names():
        raise ValueError(f"@requires.interface({name!r}): no such interface in registry/interfaces.yaml")


def _known_limit(name: str) -> None:
    limits = _declarable()["limits"]["properties"]
    if name not in limits:
        raise ValueError(f"@requires.limit({name!r}): backend.schema.json declares no such limit (one of {', '.join(limits)})")


def _known_behaviour(interface: str, name: str, values: tuple[Any, ...]) -> None:
    field = _declarable()["behaviours"]["properties"].get(interface, {}).get("properties", {}).get(name)
    if field is None:
        raise ValueError(f"@requires.behaviour({interface!r}, {name!r}): backend.schema.json declares no behaviours.{interface}.{name}")
    allowed = field.get("enum") or field.get("items", {}).get("enum", [])
    unknown = [v for v in values if v not in allowed]
    if unknown:
        raise ValueError(f"@requires.behaviour({interface!r}, {name!r}, ...): {unknown} not among {allowed}")


class _Requires:
    """`@requires.<kind>(...)` marks a case, or a whole suite class, with what it needs. A name
    the registry schema (or the catalog) does not know is an error when the suite is imported: a
    typo would otherwise make the case a SKIP on every backend while its cell reports PASS."""

    @staticmethod
    def _mark(requirement: Requirement) -> pytest.MarkDecorator:
        # Built directly: pytest.mark.<name> would warn before the cell plugin registers the mark.
        return pytest.MarkDecorator(pytest.Mark(MARK, (requirement,), {}, _ispytest=True), _ispytest=True)

    def interface(self, name: str) -> pytest.MarkDecorator:
        """Another interface, used to set up or observe state."""
        _known_interface(name)
        return self._mark(_Interface(field="implements", want=f"'{name}' under implements", name=name))

    def limit(self, name: str) -> pytest.MarkDecorator:
        """A declared limit (`limits.<name>`), whose value the case reads."""
        _known_limit(name)
        return self._mark(_Limit(field=f"limits.{name}", want=f"limits.{name}", name=name))

    def behaviour(self, interface: str, name: str, *values: Any) -> pytest.MarkDecorator:
        """A choice INTERFACES.md leaves to the backend, declared as one of `values`
        (`behaviours.<interface>.<name>`; for a list-valued behaviour, one of them in the list)."""
        _known_behaviour(interface, name, values)
        shown = " or ".join(repr(v) for v in values)
        field = f"behaviours.{interface}.{name}"
        return self._mark(_Behaviour(field=field, want=f"{field}: {shown}", interface=interface, name=name, values=values))


requires = _Requires()


def unmet(decl: BackendDeclaration, requirements: Iterable[Requirement]) -> list[str]:
    """The reasons a backend cannot run a case with these requirements (empty: it can)."""
    return [r.reason(decl) for r in requirements if r.unmet(decl)]
