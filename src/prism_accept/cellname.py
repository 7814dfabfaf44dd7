"""What a compliance cell is, parsed once from its name.

The cells of backend B are `tests/compliance:B#<cell>`, and `<cell>` says the kind of cell and
its subject: `keyvalue_basic` (an interface's suite), `model-keyvalue` (a data model's state
machine), `conventions` and `undeclared` (one per backend). The Pants plugin that generates the
cells, the cell runner, the reports and the benchmark all read names through `CellName`, so a
new kind of cell is one entry in `KINDS`. (Also imported by the Pants plugin: Python 3.9.)
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CellKind:
    """A kind of cell: `interface` (its subject is the interface), a prefixed kind (`model-`
    with the data model as subject), or a fixed one (one cell per backend, named after the kind)."""

    name: str
    prefix: str = ""  # cells of this kind are named `<prefix><subject>`
    fixed: bool = False  # one cell per backend, named `name`
    hypothesis: bool = False  # runs Hypothesis examples: the per-case timeout is the profile's

    def __str__(self) -> str:
        return self.name


INTERFACE = CellKind("interface")
MODEL = CellKind("model", prefix="model-", hypothesis=True)
CONVENTIONS = CellKind("conventions", fixed=True, hypothesis=True)
UNDECLARED = CellKind("undeclared", fixed=True)
# Most specific first; INTERFACE, which takes any other name, last.
KINDS = (MODEL, CONVENTIONS, UNDECLARED, INTERFACE)
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
        return self.subject if self.kind is MODEL else None

    def __str__(self) -> str:
        return self.kind.name if self.kind.fixed else f"{self.kind.prefix}{self.subject}"


def kind_of(cell: str) -> str:
    """The kind's name of a cell name (`interface`, `model`, `conventions`, `undeclared`)."""
    return CellName.parse(cell).kind.name
