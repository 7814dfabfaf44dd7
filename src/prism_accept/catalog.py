"""The catalog of the 45 interfaces (registry/interfaces.yaml): names, data models, services."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import yaml

from prism_accept.paths import registry_dir


@dataclass(frozen=True)
class Interface:
    name: str  # e.g. "keyvalue_basic"
    model: str  # e.g. "keyvalue"
    service: str  # e.g. "KeyValueBasic"

    @property
    def full_service_name(self) -> str:
        """The gRPC service, e.g. "prism.keyvalue.v1.KeyValueBasic"."""
        return f"prism.{self.model}.v1.{self.service}"

    @property
    def proto_module(self) -> str:
        """The generated module that holds the service, e.g. "prism.keyvalue.v1.keyvalue_pb2"."""
        return f"prism.{self.model}.v1.{self.model}_pb2"

    @property
    def suite_module(self) -> str:
        """The suite module by convention: keyvalue_basic -> prism_accept.suites.keyvalue.basic."""
        return f"prism_accept.suites.{self.model}.{self.name.partition('_')[2]}"


def parse_catalog(text: str) -> tuple[Interface, ...]:
    """The interfaces of the catalog's YAML text; pure, so the Pants plugin can use it too."""
    raw = yaml.safe_load(text)
    return tuple(
        Interface(name=name, model=model, service=service) for model, interfaces in raw.items() for name, service in interfaces.items()
    )


@functools.lru_cache(maxsize=None)
def load_catalog(path: Path | None = None) -> tuple[Interface, ...]:
    path = path or registry_dir() / "interfaces.yaml"
    return parse_catalog(path.read_text())


def interface_names() -> list[str]:
    return [i.name for i in load_catalog()]


def get_interface(name: str) -> Interface:
    for interface in load_catalog():
        if interface.name == name:
            return interface
    raise KeyError(f"{name!r} is not one of the {len(load_catalog())} interfaces of registry/interfaces.yaml")
