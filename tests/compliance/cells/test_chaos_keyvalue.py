"""The chaos-keyvalue cell of $PRISM_BACKEND (generated: python -m prism_accept.runtime.cellfile --write)."""

from prism_accept.runtime.cellfile import define_cell_of_file

pytest_plugins = ["prism_accept.runtime.cell"]

define_cell_of_file(globals())
