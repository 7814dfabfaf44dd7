"""What a compliance cell is, parsed once from its name (CellName), and where it is (CellAddress).

The cells of backend B are `tests/compliance:B#<cell>`, and `<cell>` says the kind of cell and
its subject: `keyvalue_basic` (an interface's suite), `model-keyvalue` (a data model's state
machine), `chaos-keyvalue` (a data model under faults), `conventions`, `undeclared` and
`replicas` (one per backend). The Pants plugin that generates the
cells, the cell runner, the reports and the benchmark all read names through `CellName`, so a
new kind of cell is one entry in `KINDS`. (Also imported by the Pants plugin: Python 3.9.)

A backend's server variants (another version or fork of its server, `variants:` in its registry
file) have cells of their own, under the target `<backend>.<variant>`:
`tests/compliance:redis.valkey-8.1#keyvalue_basic`. Backend names hold no `.` (the registry's
schema), so the first `.` of a target name separates the variant. `CellAddress` is the one place
that spells and reads these names: target names, addresses, report file names, matrix columns.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class CellKind:
    """A kind of cell: `interface` (its subject is the interface), a prefixed kind (`model-`
    with the data model as subject), or a fixed one (one cell per backend, named after the kind)."""

    name: str
    prefix: str = ""  # cells of this kind are named `<prefix><subject>`
    fixed: bool = False  # one cell per backend, named `name`
    hypothesis: bool = False  # runs Hypothesis examples: the per-case timeout is the profile's
    # May share a pytest process with other cells of its column (a Pants batch): its cells have a
    # file of their own (tests/compliance/cells/). Every kind does: the fault kinds kill, pause and
    # cut off plugin subprocesses and private servers of their own, never the cell's process, and
    # stop them when the cell ends. A kind that must not would say False here.
    shares_process: bool = False
    title: str = ""  # what reports call a cell of this kind; {subject} for prefixed kinds

    def __str__(self) -> str:
        return self.name


INTERFACE = CellKind("interface", shares_process=True)
MODEL = CellKind("model", prefix="model-", hypothesis=True, title="{subject} data model", shares_process=True)
CHAOS = CellKind("chaos", prefix="chaos-", title="{subject} under faults", shares_process=True)
CONVENTIONS = CellKind("conventions", fixed=True, hypothesis=True, title="conventions", shares_process=True)
UNDECLARED = CellKind("undeclared", fixed=True, title="undeclared interfaces", shares_process=True)
REPLICAS = CellKind("replicas", fixed=True, title="plugin replicas", shares_process=True)
# Most specific first; INTERFACE, which takes any other name, last.
KINDS = (MODEL, CHAOS, CONVENTIONS, UNDECLARED, REPLICAS, INTERFACE)
# Prefixed kinds whose subject is a data model: reports show them in that model's group.
MODEL_KINDS = (MODEL, CHAOS)
KIND_NAMES = tuple(k.name for k in KINDS)


@dataclass(frozen=True)
class CellName:
    kind: CellKind
    subject: str = ""  # the interface or the data model; "" for a fixed kind

    @classmethod
    def parse(cls, text: str) -> CellName:
        """`model-keyvalue` -> (MODEL, keyvalue); `keyvalue_basic` -> (INTERFACE, keyvalue_basic).
        A whole address (`tests/compliance:redis#model-keyvalue`) is read by its part after `#`."""
        name = text.rpartition("#")[2]
        for kind in KINDS:
            if kind.fixed and name == kind.name:
                return cls(kind)
            if kind.prefix and name.startswith(kind.prefix) and len(name) > len(kind.prefix):
                return cls(kind, name[len(kind.prefix) :])
        if not name:
            raise ValueError(f"{text!r} names no cell")
        return cls(INTERFACE, name)

    @classmethod
    def from_file_stem(cls, stem: str) -> CellName:
        """The cell whose file is `test_<stem>.py` (file_stem): `model_keyvalue` -> model-keyvalue."""
        for kind in KINDS:
            if kind.prefix and stem.startswith(_stem(kind.prefix)) and len(stem) > len(kind.prefix):
                return cls(kind, stem[len(kind.prefix) :])
        return cls.parse(stem)

    @property
    def file_stem(self) -> str:
        """The cell's name as a module name: `model-keyvalue` -> `model_keyvalue`."""
        return _stem(str(self))

    @classmethod
    def of_interface(cls, interface: str) -> CellName:
        return cls(INTERFACE, interface)

    @classmethod
    def of_model(cls, model: str) -> CellName:
        return cls(MODEL, model)

    @property
    def interface(self) -> str | None:
        return self.subject if self.kind is INTERFACE else None

    @property
    def model(self) -> str | None:
        """The data model of a model or chaos cell (None for the other kinds)."""
        return self.subject if self.kind in MODEL_KINDS else None

    @property
    def title(self) -> str:
        """What reports call the cell: "keyvalue data model", "plugin replicas", `keyvalue_basic`."""
        return self.kind.title.format(subject=self.subject) if self.kind.title else str(self)

    def __str__(self) -> str:
        return self.kind.name if self.kind.fixed else f"{self.kind.prefix}{self.subject}"


def _stem(text: str) -> str:
    return text.replace("-", "_")


def kind_of(cell: str) -> str:
    """The kind's name of a cell name (`interface`, `model`, `chaos`, `conventions`, ...)."""
    return CellName.parse(cell).kind.name


CELLS_PATH = "tests/compliance"  # where the generated cells are (Pants address path)
CELL_PACKAGE = "tests.compliance"  # the same path as Pants spells it in report file names
VARIANT_SEPARATOR = "."  # backend.variant; Pants refuses `@` (parametrization) in target names
BACKEND_NAME = re.compile(r"^[a-z][a-z0-9_-]*$")
VARIANT_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
_REPORT_NAME = re.compile(re.escape(CELL_PACKAGE) + r"\.(?P<target>[^@/]+)@(?P<cell>[^/@]+)\.xml$")


@dataclass(frozen=True)
class Column:
    """A backend, or one server variant of it: a column of the matrix, a compliance_cells target."""

    backend: str
    variant: str = ""  # "" for the backend's reference instance

    @classmethod
    def parse(cls, text: str) -> Column:
        """`redis` -> (redis, ""); `redis.valkey-8.1` -> (redis, valkey-8.1)."""
        backend, sep, variant = text.partition(VARIANT_SEPARATOR)
        if not BACKEND_NAME.match(backend) or (sep and not VARIANT_NAME.match(variant)):
            raise ValueError(f"{text!r} is not <backend> or <backend>{VARIANT_SEPARATOR}<variant>")
        return cls(backend, variant)

    def __str__(self) -> str:
        return f"{self.backend}{VARIANT_SEPARATOR}{self.variant}" if self.variant else self.backend


@dataclass(frozen=True)
class CellAddress:
    """One cell of one backend or variant: `tests/compliance:<backend>[.<variant>]#<cell>`."""

    column: Column
    cell: CellName

    @classmethod
    def of(cls, backend: str, cell: str, variant: str = "") -> CellAddress:
        return cls(Column(backend, variant), CellName.parse(cell))

    @classmethod
    def parse(cls, text: str) -> CellAddress:
        """`tests/compliance:redis.valkey-8.1#keyvalue_basic`, `redis.valkey-8.1#keyvalue_basic`."""
        target, sep, cell = text.rpartition(":")[2].partition("#")
        if not sep:
            raise ValueError(f"{text!r} is not <backend>[{VARIANT_SEPARATOR}<variant>]#<cell>")
        return cls(Column.parse(target), CellName.parse(cell))

    @classmethod
    def from_report(cls, file_name: str) -> CellAddress | None:
        """The cell of a report Pants wrote (`tests.compliance.redis.valkey-8.1@keyvalue_basic.xml`)."""
        m = _REPORT_NAME.search(file_name)
        if not m:
            return None
        try:
            return cls(Column.parse(m["target"]), CellName.parse(m["cell"]))
        except ValueError:
            return None

    @property
    def backend(self) -> str:
        return self.column.backend

    @property
    def variant(self) -> str:
        return self.column.variant

    @property
    def target_name(self) -> str:
        return str(self.column)

    @property
    def spec(self) -> str:
        return f"{CELLS_PATH}:{self}"

    def property_name(self, name: str) -> str:
        """The name of the cell's JUnit report property `name` (`redis#keyvalue_basic cpu_s`): a
        report of several cells (a batch) holds each one's apart."""
        return f"{self} {name}"

    @classmethod
    def from_property(cls, text: str) -> tuple[CellAddress, str] | None:
        """(the cell, the property's own name) of a property_name; None for any other name."""
        address, sep, name = text.partition(" ")
        if not sep or not name:
            return None
        try:
            return cls.parse(address), name
        except ValueError:
            return None

    @property
    def report_name(self) -> str:
        """The file name of the cell's JUnit report, as Pants writes it (Address.path_safe_spec)."""
        return f"{CELL_PACKAGE}.{self.column}@{self.cell}.xml"

    def __str__(self) -> str:
        return f"{self.column}#{self.cell}"
