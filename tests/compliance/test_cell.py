"""One compliance cell of any kind: the test class of $PRISM_CELL (runtime/kinds.py) run against
the plugin of $PRISM_BACKEND.

Pants runs this file for the cells that are not an interface's (#undeclared, #conventions,
#model-<model>, #chaos-<model>, #replicas); an interface's cell runs its own file,
cells/test_<interface>.py, so that a column's interface cells can share one process.
"""

from prism_accept.runtime.cellfile import define_cell_of_environment

pytest_plugins = ["prism_accept.runtime.cell"]

define_cell_of_environment(globals())
