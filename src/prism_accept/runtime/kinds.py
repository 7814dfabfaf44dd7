"""The kinds of cell a backend has, and the test class each one runs:

- `<interface>`: the interface's suite (suites/<model>/<rest>.py);
- `model-<model>`: the data model's state machine (models/<model>.py);
- `conventions`: the request conventions of every declared RPC (runtime/conventions.py);
- `undeclared`: every other interface answers UNIMPLEMENTED (runtime/undeclared.py);
- `chaos-<model>`: the data model under faults (chaos/cell.py);
- `replicas`: several plugin processes on one instance (chaos/replicas.py).

Modules are imported only for the cell that runs, so a cell pays for its own imports alone.
"""

from __future__ import annotations

import importlib
import inspect
from typing import Callable

from prism_accept.cellname import CHAOS, CONVENTIONS, INTERFACE, MODEL, REPLICAS, UNDECLARED, CellName

# The test class of each kind of cell (prism_accept.cellname.KINDS), by the kind's name.
_LOADERS: dict[str, Callable[[str], type]] = {
    UNDECLARED.name: lambda _: importlib.import_module("prism_accept.runtime.undeclared").UndeclaredInterfacesTests,
    CONVENTIONS.name: lambda _: importlib.import_module("prism_accept.runtime.conventions").ConventionsTests,
    MODEL.name: lambda model: importlib.import_module("prism_accept.models").model_for(model),
    CHAOS.name: lambda model: importlib.import_module("prism_accept.chaos.cell").chaos_for(model),
    REPLICAS.name: lambda _: importlib.import_module("prism_accept.chaos.replicas").ReplicaTests,
    INTERFACE.name: lambda interface: importlib.import_module("prism_accept.suites").suite_for(interface),
}


def cell_class(cell: str) -> type:
    name = CellName.parse(cell)
    return _LOADERS[name.kind.name](name.subject)


def case_names(cls: type) -> set[str]:
    """The cases of a cell's class, as deviations name them (test function without test_)."""
    return {name[len("test_") :] for name, _ in inspect.getmembers(cls, inspect.isfunction) if name.startswith("test_")}
