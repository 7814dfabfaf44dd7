"""The kinds of cell a backend has, and the test class each one runs:

- `<interface>`: the interface's suite (suites/<model>/<rest>.py);
- `model-<model>`: the data model's state machine (models/<model>.py);
- `conventions`: the request conventions of every declared RPC (compliance/conventions.py);
- `undeclared`: every other interface answers UNIMPLEMENTED (compliance/undeclared.py).

Modules are imported only for the cell that runs, so a cell pays for its own imports alone.
"""

from __future__ import annotations

import importlib
import inspect

UNDECLARED = "undeclared"
CONVENTIONS = "conventions"
MODEL_PREFIX = "model-"


def cell_class(cell: str) -> type:
    if cell == UNDECLARED:
        return importlib.import_module("prism_accept.compliance.undeclared").UndeclaredInterfacesTests
    if cell == CONVENTIONS:
        return importlib.import_module("prism_accept.compliance.conventions").ConventionsTests
    if cell.startswith(MODEL_PREFIX):
        return importlib.import_module("prism_accept.models").model_for(cell[len(MODEL_PREFIX) :])
    from prism_accept.suites import suite_for

    return suite_for(cell)


def case_names(cls: type) -> set[str]:
    """The cases of a cell's class, as deviations name them (test function without test_)."""
    return {name[len("test_") :] for name, _ in inspect.getmembers(cls, inspect.isfunction) if name.startswith("test_")}
