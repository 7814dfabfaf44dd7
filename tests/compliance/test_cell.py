"""One compliance cell of any kind: the test class of $PRISM_CELL (runtime/kinds.py) run against
the plugin of $PRISM_BACKEND.

Pants runs this file for the fault cells (#chaos-<model>, #replicas), a process each; the other
kinds run their own file, cells/test_<cell>.py, so that a column's cells can share a process.
"""

from prism_accept.runtime.cellfile import define_cell_of_environment

pytest_plugins = ["prism_accept.runtime.cell"]

define_cell_of_environment(globals())
