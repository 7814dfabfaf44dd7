"""Pants plugin: the compliance cells, generated from the registry (see target_types.py).

Every registry/backends/<backend>.yaml becomes a synthesized `compliance_cells(name="<backend>")`
in tests/compliance (synthetic.py), which generates one python_test per cell (target_types.py)
from the declaration as the project's validated loader parses it (registry_rules.py). Reading the
registry here, rather than writing BUILD files from a script, means nothing generated can go stale.
"""

from prism_cells import instance_probe, registry_rules, synthetic
from prism_cells import target_types as cell_targets
from prism_cells.target_types import ComplianceCellsTarget


def target_types():
    return [ComplianceCellsTarget]


def rules():
    return [*registry_rules.rules(), *cell_targets.rules(), *synthetic.rules(), *instance_probe.rules()]
