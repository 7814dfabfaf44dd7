"""The stream_partitioning cell of $PRISM_BACKEND (generated: python -m prism_accept.runtime.cellfile --write)."""

from prism_accept.runtime.cellfile import define_interface_cell

pytest_plugins = ["prism_accept.runtime.cell"]

define_interface_cell(globals())
