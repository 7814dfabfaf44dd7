"""Where the registry, the cells and the code they depend on live (paths from the build root)."""

REGISTRY_DIR = "registry/backends"
CATALOG = "registry/interfaces.yaml"
CELLS_DIR = "tests/compliance"
CELL_RUNNER = "test_cell.py"
# A cell's own file, relative to CELLS_DIR (prism_accept.runtime.cellfile writes them), for the
# kinds of cell that may share a process (CellKind.shares_process).
CELL_FILE = "cells/test_{stem}.py"
SUITES_DIR = "src/prism_accept/suites"
PROTO_DIR = "proto/prism"  # proto/prism/<model>/v1/<model>.proto
MODELS_DIR = "src/prism_accept/models"
CONVENTIONS = "src/prism_accept/runtime/conventions.py"
UNDECLARED = "src/prism_accept/runtime/undeclared.py"
CHAOS_CELL = "src/prism_accept/chaos/cell.py"  # the faults every chaos-<model> cell runs
PROBES_DIR = "src/prism_accept/chaos/probes"  # probes/<model>.py: a data model's items under faults
REPLICAS = "src/prism_accept/chaos/replicas.py"
# First-party plugin packages: plugins/<module>/ (source root /plugins) or src/<module>/.
PLUGIN_SOURCE_ROOTS = ("plugins", "src")
# The third-party requirements (3rdparty/python/BUILD): an embedded server's distribution is
# `<REQUIREMENTS>#<distribution>`, a dependency of its backend's cells.
REQUIREMENTS = "3rdparty/python:reqs"
