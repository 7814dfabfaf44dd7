"""Backend declarations (registry/backends/<backend>.yaml): load, validate, explain mistakes.

Validation is JSON Schema (backend.schema.json, with the interface names filled in from the
catalog). Every error names the file, the field and the fix.

A file may declare server variants of its backend (`variants:`): another version or fork of the
server, each with its own `instance:` (the same shape as the backend's) and its own
`deviations:`. `BackendDeclaration.variant(name)` is the declaration a variant's cells run
with: the backend's plugin, interfaces, limits and behaviours, the variant's instance and only the
variant's deviations (none inherited: a Valkey deviation is not a Redis one, nor the reverse).
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import yaml

from prism_accept import catalog
from prism_accept.cellname import CHAOS, CONVENTIONS, MODEL, REPLICAS, CellName, Column
from prism_accept.paths import registry_dir

if TYPE_CHECKING:
    import jsonschema

# Set by the Pants plugin on every cell: the sha256 of the registry file it validated. A cell that
# reads the same text parses it without validating it again (jsonschema costs ~0.15 CPU-s to load).
VALIDATED_ENV = "PRISM_REGISTRY_VALIDATED"

# What to write when a required field is missing.
FIELD_FIXES = {
    "backend": "add `backend: <name>` matching the file name",
    "description": "add `description: <one line saying what the backend is>`",
    "plugin": "add `plugin: {module: <python module that serves the plugin>}` or `plugin: {command: [...]}`",
    "implements": "add `implements:` with the interface names of registry/interfaces.yaml the plugin serves",
    "instance": "add `instance:` saying how to reach the backend (embedded, url_env, local, container) and `start_hint`",
    "start_hint": "add `start_hint: <how to start the backend>`, shown when a cell is skipped",
    "limits": "add `limits:` with the backend's limits",
    "max_value_bytes": "add `max_value_bytes: <largest value the backend stores>` under `limits:`",
    "max_batch_size": "add `max_batch_size: <largest batch accepted>` under `limits:`",
    "image": "add `image: <container image>`",
    "port": "add `port: <the port the container serves>`",
    "url": "add `url: <scheme>://{host}:{port}/...` (for an embedded server: <scheme>://127.0.0.1:{port})",
    "distribution": (
        "add `distribution: <the installed Python distribution that ships the server>` under `embedded:` or `private:` "
        "(or give `binary` as an absolute path: a binary of the machine)"
    ),
    "binary": (
        "add `binary: <the server binary's path inside the distribution, or its absolute path on the machine>` "
        "under `embedded:` or `private:`"
    ),
    "args": "add `args: [...]` (the server's arguments; {port} and {data_dir} are filled in) under `embedded:` or `private:`",
    "label": "add `label: <what the reports call the instance>` ({distribution} {version} are filled in) under `embedded:` or `private:`",
    "package": "add `package: <the Debian package that provides the binary>` (a binary of the machine: named when it is missing)",
}
VARIANT_FIXES = {
    "description": "add `description: <the server: product, version, where its binary comes from>` to the variant",
    "instance": "add `instance:` to the variant (the same fields as the backend's `instance:`, e.g. `embedded:` and `start_hint`)",
}


class RegistryError(Exception):
    """A registry file is invalid; str() has one line per problem: file, field, fix."""

    def __init__(self, path: Path | str, problems: list[str]):
        self.path = str(path)
        self.problems = problems
        super().__init__("\n".join(f"{self.path}: {p}" for p in problems))

    @classmethod
    def combine(cls, errors: list["RegistryError"]) -> "RegistryError":
        combined = cls(errors[0].path, [])
        combined.problems = [f"{e.path}: {p}" for e in errors for p in e.problems]
        combined.args = ("\n".join(combined.problems),)
        return combined


@dataclass(frozen=True)
class PluginLaunch:
    module: str | None = None
    command: tuple[str, ...] = ()
    startup_timeout_s: float = 20.0


@dataclass(frozen=True)
class ContainerSpec:
    image: str
    port: int
    url: str
    env: dict[str, str] = field(default_factory=dict)
    command: tuple[str, ...] = ()  # replaces the image's command (empty: the image's own)
    module: str | None = None  # a testcontainers module that configures the container (kafka)
    host_command: tuple[str, ...] = ()  # host network mode: the server's whole command, {port} filled in


@dataclass(frozen=True)
class EmbeddedServer:
    """A server the harness starts for one cell on a free loopback port (`instance.embedded` given
    as a mapping, or `instance.private`): a binary shipped inside an installed Python distribution,
    or (`binary` an absolute path) a binary of the machine, provided by a Debian `package`."""

    distribution: str  # the distribution's name, as in the lockfile (e.g. noida-db); "" for a machine binary
    binary: str  # the binary's path inside the distribution, as its RECORD lists it; or an absolute path
    args: tuple[str, ...]  # placeholders {port} and {data_dir}
    url: str  # what the plugin gets; placeholder {port}
    label: str  # what the reports call the instance; placeholders {distribution} and {version}
    ready_timeout_s: float = 10.0
    template: ServerTemplate | None = None  # a data directory made once per machine and version
    user: str | None = None  # the system user the server runs as when the harness is root
    install_dirs: tuple[str, ...] = ()  # what `user` needs of the distribution (default: the binary's dir)
    emulates: str | None = None  # the engine it only emulates: its cells do not count as the backend's engine
    package: str | None = None  # a machine binary's Debian package (named when the binary is missing)

    @property
    def machine(self) -> bool:
        """A binary of the machine (an absolute path), not one inside a Python distribution."""
        return os.path.isabs(self.binary)

    @property
    def name(self) -> str:
        """What names its template, data directories and errors: the distribution, or the package."""
        return self.distribution or self.package or os.path.basename(self.binary)


@dataclass(frozen=True)
class ServerTemplate:
    """How to make an embedded server's template data directory (e.g. PostgreSQL's initdb): once
    per machine and distribution version; each cell's {data_dir} is a copy of it."""

    binary: str  # its path inside the distribution
    args: tuple[str, ...]  # placeholder {template_dir}


@dataclass(frozen=True)
class InstanceSpec:
    start_hint: str
    embedded: bool = False  # the engine runs inside the plugin (memstore)
    server: EmbeddedServer | None = None  # `embedded:` as a mapping: a server the harness starts
    url_env: str | None = None
    local: str | None = None
    container: ContainerSpec | None = None
    private: EmbeddedServer | None = None  # `private:`: the server a chaos or replicas cell starts for itself

    @property
    def private_server(self) -> EmbeddedServer | None:
        """The server a fault cell starts for itself: `private:`, else the embedded server that is
        the backend's instance (Kafka's noida-db); None: the backend has none."""
        return self.private or self.server


@dataclass(frozen=True)
class Deviation:
    cell: str  # an interface, model-<model> or conventions
    case: str  # the case's test function name without "test_"
    reason: str
    row: str = ""  # one row of a table case (its operation, suites/rows.py): only that row deviates


@dataclass(frozen=True)
class VariantSpec:
    """A server variant of a backend (`variants.<name>`): its instance and its own deviations."""

    name: str
    description: str
    instance: InstanceSpec
    deviations: tuple[Deviation, ...] = ()


@dataclass(frozen=True)
class BackendDeclaration:
    path: str
    backend: str
    description: str
    plugin: PluginLaunch
    implements: tuple[str, ...]
    instance: InstanceSpec
    limits: dict[str, int] = field(default_factory=dict)
    tolerances: dict[str, int] = field(default_factory=dict)
    behaviours: dict[str, dict[str, Any]] = field(default_factory=dict)
    deviations: tuple[Deviation, ...] = ()
    variants: tuple[VariantSpec, ...] = ()
    variant_name: str = ""  # set on the declaration of a variant's cells (see `variant`)
    variant_description: str = ""

    @property
    def column(self) -> Column:
        """The matrix column and compliance_cells target of these cells: `redis`, `redis.valkey-8.1`."""
        return Column(self.backend, self.variant_name)

    @property
    def variant_names(self) -> tuple[str, ...]:
        return tuple(v.name for v in self.variants)

    def variant(self, name: str) -> BackendDeclaration:
        """The declaration a variant's cells run with: this backend's plugin, interfaces, limits and
        behaviours; the variant's instance and deviations (the backend's are not inherited)."""
        if not name:
            return self
        found = next((v for v in self.variants if v.name == name), None)
        if found is None:
            known = ", ".join(self.variant_names) or "none"
            problem = f"field 'variants': no variant '{name}' (declared: {known}); fix: declare it under `variants:`"
            raise RegistryError(self.path, [problem])
        return replace(
            self,
            instance=found.instance,
            deviations=found.deviations,
            variants=(),
            variant_name=found.name,
            variant_description=found.description,
        )

    slo: dict[str, dict[str, float]] = field(default_factory=dict)  # interface -> {p99_ms, throughput_ops}
    engine: str = ""  # the engine its cells exercise (`reference`: memstore, not counted)


def schema(interface_names: Sequence[str] | None = None) -> dict[str, Any]:
    """The JSON Schema of a backend file, `implements` limited to the catalog's interface names."""
    raw = json.loads(resources.files("prism_accept").joinpath("backend.schema.json").read_text())
    names = catalog.interface_names() if interface_names is None else interface_names
    raw["properties"]["implements"]["items"] = {"enum": list(names)}
    return raw


def _field(path: Any) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _describe(error: "jsonschema.ValidationError", interface_names: Sequence[str]) -> str:
    where = _field(error.absolute_path)
    if error.validator == "required":
        missing = error.message.split("'")[1]
        place = f"{where}.{missing}" if error.absolute_path else missing
        in_variant = len(error.absolute_path) == 2 and error.absolute_path[0] == "variants"
        fix = (VARIANT_FIXES if in_variant else FIELD_FIXES).get(missing) or FIELD_FIXES.get(missing, f"add `{missing}:`")
        return f"field '{place}' is missing; fix: {fix}"
    if error.validator in ("pattern", "maxLength") and list(error.absolute_path) == ["variants"]:
        return (
            f"field 'variants': {error.instance!r} is not a variant name; fix: lower-case letters, digits, "
            "`.`, `-` and `_`, at most 40 characters, e.g. `valkey-8.1` (it names the cells: <backend>.<variant>#<cell>)"
        )
    if error.validator == "enum" and list(error.absolute_path)[:1] == ["implements"]:
        close = difflib.get_close_matches(str(error.instance), list(interface_names), n=1, cutoff=0.5)
        hint = f"did you mean '{close[0]}'?" if close else "use one of the names in registry/interfaces.yaml"
        return f"field '{where}': '{error.instance}' is not a known interface; fix: {hint}"
    if error.validator == "type" and not error.absolute_path and error.instance is None:
        return "the file is empty; fix: declare backend, description, plugin, implements and instance (copy registry/backends/redis.yaml)"
    if error.validator == "type" and list(error.absolute_path) == ["implements"]:
        return (
            f"field 'implements': {error.instance!r} is a {type(error.instance).__name__}, not a list; "
            f"fix: one interface per line, e.g. `implements: [{error.instance}]`"
        )
    if error.validator == "uniqueItems":
        seen: set[Any] = set()
        dupes = [x for x in error.instance if x in seen or seen.add(x)]
        return f"field '{where}': {', '.join(repr(d) for d in dict.fromkeys(dupes))} listed more than once; fix: remove the duplicate"
    if error.validator == "additionalProperties":
        allowed = list(error.schema.get("properties", {}))
        extra = [k for k in error.instance if k not in allowed]
        fixes = []
        for k in extra:
            close = difflib.get_close_matches(k, allowed, n=1)
            fixes.append(f"'{k}'" + (f" (did you mean '{close[0]}'?)" if close else ""))
        return f"field '{where}': unknown field {', '.join(fixes)}; fix: remove it or use one of {', '.join(allowed)}"
    if error.validator == "maximum":
        most = error.validator_value
        return f"field '{where}': {error.instance} is above the largest value the suites can use, {most}; fix: declare at most {most}"
    if error.validator == "exclusiveMinimum":
        return f"field '{where}': {error.instance} is not above {error.validator_value}; fix: give a positive number"
    if error.validator == "oneOf" and list(error.absolute_path) == ["plugin"]:
        return "field 'plugin': give exactly one of `module` or `command`; fix: keep one"
    if error.validator == "oneOf" and list(error.absolute_path)[-1:] == ["embedded"] and isinstance(error.instance, dict):
        import jsonschema

        inner = jsonschema.exceptions.best_match(e for e in error.context if e.validator != "type")
        if inner is not None:
            return _describe(inner, interface_names)
    if error.validator == "type" and list(error.absolute_path)[-1:] == ["private"]:
        return (
            f"field '{where}': {error.instance!r} is not a mapping; fix: give the server's fields as under `embedded:` "
            "(binary, args, url, label; distribution, or package for a binary of the machine)"
        )
    if error.validator == "pattern" and list(error.absolute_path)[-2:] == ["template", "binary"]:
        return (
            f"field '{where}': {error.instance!r} is not an absolute path, and the server's binary is one of the machine; "
            "fix: give the template's binary as an absolute path too (e.g. /usr/bin/mariadb-install-db)"
        )
    if error.validator == "anyOf" and list(error.absolute_path)[-1:] == ["instance"]:
        return f"field '{where}': says nowhere to find the backend; fix: add `embedded:`, `local:`, `url_env:` or `container:`"
    return f"field '{where}': {error.message}; fix: see src/prism_accept/backend.schema.json"


def validate(document: Any, path: Path | str, interface_names: Sequence[str] | None = None) -> None:
    """Raise RegistryError listing every problem of one parsed backend file."""
    import jsonschema

    names = catalog.interface_names() if interface_names is None else interface_names
    validator = jsonschema.Draft202012Validator(schema(names))
    errors = sorted(validator.iter_errors(document), key=lambda e: [str(p) for p in e.absolute_path])
    problems = list(dict.fromkeys(_describe(e, names) for e in errors))  # one line per problem
    if isinstance(document, dict) and isinstance(document.get("backend"), str):
        stem = Path(path).stem
        if document["backend"] != stem:
            problems.append(
                f"field 'backend': '{document['backend']}' disagrees with the file name '{Path(path).name}'; "
                f"fix: rename the file to {document['backend']}.yaml or set `backend: {stem}`"
            )
    if isinstance(document, dict):
        problems += _deviation_cell_problems(document, document.get("deviations"), "deviations", names)
        variants = document.get("variants")
        for name, variant in variants.items() if isinstance(variants, dict) else ():
            if isinstance(variant, dict):
                field_name = f"variants.{name}.deviations"
                problems += _deviation_cell_problems(document, variant.get("deviations"), field_name, names)
        problems += _slo_problems(document, interface_names=names)
    if problems:
        raise RegistryError(path, problems)


def _deviation_cell_problems(document: dict[str, Any], deviations: Any, where: str, interface_names: Sequence[str]) -> list[str]:
    """A deviation must name a cell the backend has: a declared interface, model-<model> or
    chaos-<model> of a model it declares an interface of, conventions or replicas; anything else
    would never run."""
    implements = [i for i in document.get("implements") or () if isinstance(i, str)]
    if not isinstance(deviations, list):
        return []
    models = {i.partition("_")[0] for i in implements if i in interface_names}  # keyvalue_basic -> keyvalue
    cells = [
        *implements,
        *(str(CellName(kind, m)) for kind in (MODEL, CHAOS) for m in sorted(models)),
        str(CellName(CONVENTIONS)),
        str(CellName(REPLICAS)),
    ]
    problems = []
    for n, deviation in enumerate(deviations):
        cell = deviation.get("cell") if isinstance(deviation, dict) else None
        if isinstance(cell, str) and cell and cell not in cells:
            close = difflib.get_close_matches(cell, cells, n=1, cutoff=0.8)
            if cell in interface_names:
                hint = f"declare '{cell}' under `implements:`, or remove the deviation"
            else:
                hint = f"did you mean '{close[0]}'?" if close else f"name one of {', '.join(cells)}"
            problems.append(f"field '{where}[{n}].cell': the backend has no cell '{cell}'; fix: {hint}")
    return problems


def _slo_problems(document: dict[str, Any], interface_names: Sequence[str]) -> list[str]:
    """An SLO must name an interface the backend declares (one it does not would never be judged)."""
    slo = document.get("slo")
    if not isinstance(slo, dict):
        return []
    implements = [i for i in document.get("implements") or () if isinstance(i, str)]
    problems = []
    for name in slo:
        if name not in interface_names:
            close = difflib.get_close_matches(str(name), list(interface_names), n=1, cutoff=0.5)
            hint = f"did you mean '{close[0]}'?" if close else "use one of the names in registry/interfaces.yaml"
            problems.append(f"field 'slo.{name}': '{name}' is not a known interface; fix: {hint}")
        elif name not in implements:
            problems.append(
                f"field 'slo.{name}': the backend does not declare '{name}'; fix: declare it under `implements:`, or remove its SLO"
            )
    return problems


class _DuplicateKey(yaml.YAMLError):
    pass


class _UniqueKeyLoader(yaml.SafeLoader):
    """YAML's safe loader, refusing a key given twice in one mapping (plain YAML keeps the last,
    so a second `implements:` would silently replace the first)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)  # type: ignore[no-untyped-call]
            line = key_node.start_mark.line + 1
            if key in seen:
                raise _DuplicateKey(f"field '{key}' is given twice (lines {seen[key]} and {line}); fix: keep one of them")
            seen[key] = line
        return super().construct_mapping(node, deep=deep)


def _display(path: Path) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:
        return str(path)


def text_digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def load_file(path: Path) -> BackendDeclaration:
    text = path.read_text()
    if os.environ.get(VALIDATED_ENV) == text_digest(text):
        return _declaration(yaml.safe_load(text), _display(path))  # validated by the Pants plugin
    return parse_declaration(text, _display(path), catalog.interface_names())


def parse_declaration(text: str, path: str, interface_names: Sequence[str]) -> BackendDeclaration:
    """Parse and validate one backend file's text. Pure (reads no file), so the Pants plugin
    parses the registry with it from file contents read through the engine."""
    try:
        document = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 (a SafeLoader)
    except _DuplicateKey as e:
        raise RegistryError(path, [str(e)]) from e
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise RegistryError(path, [f"not valid YAML{where} ({getattr(e, 'problem', e)}); fix: correct the YAML syntax"]) from e
    validate(document, path, interface_names)
    return _declaration(document, path)


def _container(container: dict[str, Any]) -> ContainerSpec:
    return ContainerSpec(
        image=container["image"],
        port=container["port"],
        url=container["url"],
        env=dict(container.get("env") or {}),
        command=tuple(container.get("command", ())),
        module=container.get("module"),
        host_command=tuple(str(a) for a in container.get("host_command", ())),
    )


def _server(server: dict[str, Any]) -> EmbeddedServer:
    template = server.get("template")
    return EmbeddedServer(
        distribution=server.get("distribution") or "",
        binary=server["binary"],
        args=tuple(str(a) for a in server["args"]),
        url=server["url"],
        label=server["label"],
        ready_timeout_s=float(server.get("ready_timeout_s", 10.0)),
        template=ServerTemplate(template["binary"], tuple(str(a) for a in template["args"])) if template else None,
        user=server.get("user"),
        install_dirs=tuple(server.get("install_dirs") or ()),
        emulates=server.get("emulates"),
        package=server.get("package"),
    )


def _instance(instance: dict[str, Any]) -> InstanceSpec:
    container = instance.get("container")
    embedded = instance.get("embedded", False)
    private = instance.get("private")
    return InstanceSpec(
        start_hint=instance["start_hint"],
        embedded=embedded is True,
        server=_server(embedded) if isinstance(embedded, dict) else None,
        url_env=instance.get("url_env"),
        local=instance.get("local"),
        container=_container(container) if container else None,
        private=_server(private) if isinstance(private, dict) else None,
    )


def _deviations(listed: Any) -> tuple[Deviation, ...]:
    return tuple(Deviation(**d) for d in listed or ())


def _declaration(document: dict[str, Any], shown: str) -> BackendDeclaration:
    plugin = document["plugin"]
    return BackendDeclaration(
        path=shown,
        backend=document["backend"],
        description=document["description"],
        plugin=PluginLaunch(
            module=plugin.get("module"),
            command=tuple(plugin.get("command", ())),
            startup_timeout_s=float(plugin.get("startup_timeout_s", 20.0)),
        ),
        implements=tuple(document["implements"]),
        instance=_instance(document["instance"]),
        limits=dict(document.get("limits") or {}),
        tolerances=dict(document.get("tolerances") or {}),
        behaviours={k: dict(v) for k, v in (document.get("behaviours") or {}).items()},
        deviations=_deviations(document.get("deviations")),
        variants=tuple(
            VariantSpec(name, v["description"], _instance(v["instance"]), _deviations(v.get("deviations")))
            for name, v in (document.get("variants") or {}).items()
        ),
        slo={k: dict(v) for k, v in (document.get("slo") or {}).items()},
        engine=document.get("engine") or document["backend"],
    )


def variant_names(text: str) -> list[str]:
    """The variant names a registry file's text declares, read leniently (no validation): the
    Pants plugin synthesizes a compliance_cells per variant from them, and the cells' generation
    then validates the file (an invalid file fails there, with the loader's message)."""
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError:
        return []
    variants = document.get("variants") if isinstance(document, dict) else None
    if not isinstance(variants, dict):
        return []
    return [str(name) for name in variants if isinstance(name, str)]


def load_backend(name: str, directory: Path | None = None, variant: str = "") -> BackendDeclaration:
    """A backend's declaration, or (with `variant`) the declaration its variant's cells run with."""
    directory = directory or registry_dir() / "backends"
    path = directory / f"{name}.yaml"
    if not path.is_file():
        raise RegistryError(_display(path), [f"no such file; fix: create it to declare backend '{name}'"])
    return load_file(path).variant(variant)


def load_all(directory: Path | None = None) -> dict[str, BackendDeclaration]:
    """Every backend file; raises one RegistryError naming every bad file."""
    directory = directory or registry_dir() / "backends"
    backends: dict[str, BackendDeclaration] = {}
    failures: list[RegistryError] = []
    for path in sorted(directory.glob("*.yaml")):
        try:
            decl = load_file(path)
        except RegistryError as e:
            failures.append(e)
            continue
        backends[decl.backend] = decl
    if failures:
        raise RegistryError.combine(failures)
    return backends


def main(argv: list[str] | None = None) -> int:
    """`python -m prism_accept.registry --check DIR`: every problem of every file, no traceback."""
    import argparse
    import sys

    parser = argparse.ArgumentParser(description="Validate registry/backends/*.yaml")
    parser.add_argument("--check", type=Path, required=True, metavar="DIR", help="the registry/backends directory")
    args = parser.parse_args(argv)
    try:
        load_all(args.check)
    except RegistryError as e:
        print(str(e), file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
