"""One `compliance_cells(name="<backend>")` in tests/compliance per registry/backends/*.yaml, one
`compliance_cells(name="<backend>.<variant>")` per server variant the file declares, and
`src/prism_accept/suites:every-suite`, the suite package of every data model of the catalog.

The targets are synthesized from the registry's file names and the catalog, so declaring a
backend is adding its YAML file and a data model's suites are found once the catalog names it: no
BUILD file lists backends or suite packages, and none can disagree with the registry.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from pants.engine.fs import DigestContents, PathGlobs
from pants.engine.internals.synthetic_targets import (
    SyntheticAddressMaps,
    SyntheticTargetsRequest,
    SyntheticTargetsSpecPaths,
)
from pants.engine.internals.target_adaptor import TargetAdaptor
from pants.engine.rules import Get, collect_rules, rule

from prism_accept.cellname import Column
from prism_accept.registry import variant_names
from prism_cells.layout import CATALOG, CELLS_DIR, PROTO_DIR, REGISTRY_DIR, SUITES_DIR
from prism_cells.registry_rules import Catalog, CatalogRequest

# Depend on it where the suites are found by name at run time (the cells, the verify PEX, the
# suite and mutant tests): Pants takes no `::` in dependencies.
EVERY_SUITE = "every-suite"


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


def columns(registry: dict[str, str]) -> list[Column]:
    """The backends and their variants, from each registry file's path and text (variants read
    leniently: the cells' generation validates the file and fails with the loader's message)."""
    found = []
    for path, text in sorted(registry.items()):
        backend = backend_names((path,))[0]
        found.append(Column(backend))
        found.extend(Column(backend, v) for v in variant_names(text))
    return found


@rule
async def synthesize_compliance_cells(request: ComplianceCellsPerDirectoryRequest) -> SyntheticAddressMaps:
    if request.path != CELLS_DIR:
        return SyntheticAddressMaps()
    contents = await Get(DigestContents, PathGlobs([f"{REGISTRY_DIR}/*.yaml"]))
    registry = {c.path: c.content.decode(errors="replace") for c in contents}
    return SyntheticAddressMaps.for_targets_request(
        request,
        [
            (
                "BUILD.prism-registry",
                tuple(
                    TargetAdaptor(
                        "compliance_cells",
                        str(column),
                        f"{REGISTRY_DIR}/{column.backend}.yaml",
                    )
                    for column in columns(registry)
                ),
            )
        ],
    )


class EverySuiteSpecPathsRequest:
    pass


@dataclass(frozen=True)
class EverySuitePerDirectoryRequest(SyntheticTargetsRequest):
    path: str = SUITES_DIR
    spec_paths_request = EverySuiteSpecPathsRequest


@rule
def every_suite_spec_paths(request: EverySuiteSpecPathsRequest) -> SyntheticTargetsSpecPaths:
    return SyntheticTargetsSpecPaths.from_paths([SUITES_DIR])


def every_suite_dependencies(models: tuple[str, ...]) -> list[str]:
    """The suites' base package, each data model's suite package and its protos."""
    return [SUITES_DIR, *(f"{SUITES_DIR}/{m}" for m in models), *(f"{PROTO_DIR}/{m}/v1" for m in models)]


@rule
async def synthesize_every_suite(request: EverySuitePerDirectoryRequest) -> SyntheticAddressMaps:
    if request.path != SUITES_DIR:
        return SyntheticAddressMaps()
    catalog = await Get(Catalog, CatalogRequest())
    return SyntheticAddressMaps.for_targets_request(
        request,
        [("BUILD.prism-catalog", (TargetAdaptor("target", EVERY_SUITE, CATALOG, dependencies=every_suite_dependencies(catalog.models)),))],
    )


def rules():
    return [*collect_rules(), *ComplianceCellsPerDirectoryRequest.rules(), *EverySuitePerDirectoryRequest.rules()]
