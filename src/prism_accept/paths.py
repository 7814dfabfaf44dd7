"""Where the registry lives: found from the working directory (repo root or a Pants sandbox)."""

from __future__ import annotations

import os
from pathlib import Path

REGISTRY_ENV = "PRISM_REGISTRY_DIR"
# The instance state the Pants plugin (prism_cells/instance_probe.py) puts into a cell's sandbox.
CELL_STATE_FILE = ".prism-instance.json"


def registry_dir() -> Path:
    """The `registry/` directory: $PRISM_REGISTRY_DIR, else the nearest `registry/` upwards."""
    if os.environ.get(REGISTRY_ENV):
        return Path(os.environ[REGISTRY_ENV])
    here = Path.cwd().resolve()
    for d in (here, *here.parents):
        if (d / "registry" / "interfaces.yaml").is_file():
            return d / "registry"
    raise FileNotFoundError(f"no registry/interfaces.yaml in {here} or above; run from the repository or set {REGISTRY_ENV}")
