"""Pants plugin: one `python_test` target per backend x interface, generated from the registry.

`compliance_cells(name="redis")` in tests/compliance/BUILD reads registry/backends/redis.yaml and
generates `tests/compliance:redis#<interface>` for every declared interface, plus
`tests/compliance:redis#undeclared` (the other interfaces answer UNIMPLEMENTED and the plugin's
own list equals the YAML). Each cell depends only on what its result depends on: the shared
cell runner, its backend's plugin package, its interface's suite module and its registry file,
so `--changed-since` reruns exactly the affected cells. Reading the registry here, rather than
writing BUILD files from a script, means nothing generated can go stale.
"""

from prism_cells.target_types import ComplianceCellsTarget
from prism_cells.target_types import rules as target_type_rules


def target_types():
    return [ComplianceCellsTarget]


def rules():
    return [*target_type_rules()]
