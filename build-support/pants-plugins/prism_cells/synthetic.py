"""One `compliance_cells(name="<backend>")` in tests/compliance per registry/backends/*.yaml.

The targets are synthesized from the registry's file names, so declaring a backend is adding its
YAML file: no BUILD file lists backends, and none can disagree with the registry.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from pants.engine.fs import PathGlobs, Paths
from pants.engine.internals.synthetic_targets import (
    SyntheticAddressMaps,
    SyntheticTargetsRequest,
    SyntheticTargetsSpecPaths,
)
from pants.engine.internals.target_adaptor import TargetAdaptor
from pants.engine.rules import Get, collect_rules, rule

from prism_cells.layout import CELLS_DIR, REGISTRY_DIR


class ComplianceCellsSpecPathsRequest:
    pass


@dataclass(frozen=True)
class ComplianceCellsPerDirectoryRequest(SyntheticTargetsRequest):
    """Makes `tests/compliance::` find the cells even if tests/compliance/BUILD is removed."""

    path: str = CELLS_DIR
    spec_paths_request = ComplianceCellsSpecPathsRequest


@rule
def compliance_cells_spec_paths(request: ComplianceCellsSpecPathsRequest) -> SyntheticTargetsSpecPaths:
    return SyntheticTargetsSpecPaths.from_paths([CELLS_DIR])


def backend_names(registry_files: tuple[str, ...]) -> list[str]:
    return sorted(os.path.splitext(os.path.basename(p))[0] for p in registry_files)


@rule
async def synthesize_compliance_cells(request: ComplianceCellsPerDirectoryRequest) -> SyntheticAddressMaps:
    if request.path != CELLS_DIR:
        return SyntheticAddressMaps()
    paths = await Get(Paths, PathGlobs([f"{REGISTRY_DIR}/*.yaml"]))
    return SyntheticAddressMaps.for_targets_request(
        request,
        [
            (
                "BUILD.prism-registry",
                tuple(
                    TargetAdaptor(
                        "compliance_cells",
                        backend,
                        f"{REGISTRY_DIR}/{backend}.yaml",
                    )
                    for backend in backend_names(paths.files)
                ),
            )
        ],
    )


def rules():
    return [*collect_rules(), *ComplianceCellsPerDirectoryRequest.rules()]
