"""One compliance cell: the test class of $PRISM_CELL (runtime/kinds.py) run against the
plugin of $PRISM_BACKEND.

Pants generates a target per backend x cell (build-support/pants-plugins/prism_cells) that runs
this file with both variables set.
"""

from prism_accept.cellname import INTERFACE, CellName
from prism_accept.runtime.cell import cell_declaration, cell_from_environment
from prism_accept.runtime.kinds import cell_class

pytest_plugins = ["prism_accept.runtime.cell"]

BACKEND, CELL = cell_from_environment()
DECLARATION = cell_declaration()

if CellName.parse(CELL).kind is INTERFACE and CELL not in DECLARATION.implements:
    raise RuntimeError(f"{DECLARATION.path} does not declare {CELL}: there is no such cell")

_name = f"Test_{BACKEND}_{CELL}".replace("-", "_")
globals()[_name] = type(_name, (cell_class(CELL),), {"__module__": __name__})
