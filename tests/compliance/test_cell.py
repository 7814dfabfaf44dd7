"""One compliance cell of any kind: the test class of $PRISM_CELL (runtime/kinds.py) run against
the plugin of $PRISM_BACKEND.

Pants runs this file, a process each, for a cell whose own file (cells/test_<cell>.py, which lets a
column's cells share a process) is not written yet; prism_accept.verify writes a module like it.
"""

from prism_accept.runtime.cellfile import define_cell_of_environment

pytest_plugins = ["prism_accept.runtime.cell"]

define_cell_of_environment(globals())
