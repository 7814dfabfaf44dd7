"""The `compliance_cells` target generator: one `python_test` per cell of a backend.

Cells of backend B (`tests/compliance:B#<cell>`), each running its own file,
tests/compliance/cells/test_<cell>.py, with PRISM_BACKEND=B (the kinds that may share a process,
which Pants then batches per column), or tests/compliance/test_cell.py with PRISM_BACKEND=B and
PRISM_CELL=<cell> (a cell whose file is not written yet, or of a kind that may not share one):
- `#<interface>` per interface B declares, depending on the interface's suite module;
- `#undeclared`: the other interfaces answer UNIMPLEMENTED (needs every model's protos);
- `#conventions`, when src/prism_accept/runtime/conventions.py exists;
- `#model-<model>` per data model B declares an interface of, when src/prism_accept/models/<model>.py exists;
- `#chaos-<model>` per data model B declares an interface of, when its probe
  (src/prism_accept/chaos/probes/<model>.py) and src/prism_accept/chaos/cell.py exist;
- `#replicas`, when src/prism_accept/chaos/replicas.py exists (with the probes of B's models).
A server variant V of B (`variants:` in B's file) is a compliance_cells of its own,
`B.V` (prism_accept.cellname.Column), generating the same cells as B (`tests/compliance:B.V#<cell>`)
with PRISM_VARIANT=V, tagged `variant:V`, depending on what provides the variant's instance.
Each cell depends only on what its result depends on (its registry file, the catalog, the
backend's plugin package, its suite), so `--changed-since` reruns exactly the affected cells.
"""

from __future__ import annotations

from dataclasses import dataclass

from pants.backend.python.target_types import PythonTestTarget
from pants.engine.fs import PathGlobs, Paths
from pants.engine.rules import Get, MultiGet, collect_rules, rule
from pants.engine.target import (
    COMMON_TARGET_FIELDS,
    GeneratedTargets,
    GenerateTargetsRequest,
    IntField,
    StringField,
    TargetGenerator,
)
from pants.engine.unions import UnionMembership, UnionRule
from pants.option.option_types import BoolOption
from pants.option.subsystem import Subsystem

from prism_accept.cellname import CHAOS, CellName, Column
from prism_accept.cellname import CONVENTIONS as CONVENTIONS_CELL
from prism_accept.cellname import REPLICAS as REPLICAS_CELL
from prism_accept.cellname import UNDECLARED as UNDECLARED_CELL
from prism_accept.harness import container_settings
from prism_accept.registry import VALIDATED_ENV, InstanceSpec, RegistryError, text_digest
from prism_cells.layout import (
    CATALOG,
    CELL_FILE,
    CELL_RUNNER,
    CELLS_DIR,
    CHAOS_CELL,
    CONVENTIONS,
    MODELS_DIR,
    PLUGIN_SOURCE_ROOTS,
    PROBES_DIR,
    REPLICAS,
    REQUIREMENTS,
    SUITES_DIR,
    UNDECLARED,
)
from prism_cells.registry_rules import BackendName, Catalog, CatalogRequest, InvalidRegistryFile, RegistryEntry

HYPOTHESIS_PROFILE_ENV = "PRISM_HYPOTHESIS_PROFILE"
VARIANT_ENV = "PRISM_VARIANT"  # read by prism_accept.runtime.cell (which the plugin cannot import)
HYPOTHESIS_CELL_TIMEOUT_S = 1800


class PrismCells(Subsystem):
    options_scope = "prism-cells"
    help = "How the compliance cells run."

    batch = BoolOption(
        default=True,
        help=(
            "Run the cells of a column (a backend, or one server variant) in shared pytest "
            "processes: each cell stays a target of its own, but Pants runs up to [test].batch_size "
            "of them in one process, caches their results as one and reports them as one. "
            "Saves the process, Pants' sandbox and the imports of every cell but the first."
        ),
    )


def batch_tag(column: Column) -> str:
    """The batch_compatibility_tag of a column's cells that may share a process: cells of two
    columns never do (their PRISM_BACKEND and PRISM_VARIANT differ), and Pants keeps cells of
    different environments apart too (every cell of a column has the same one)."""
    return f"prism-cells:{column}"


def cell_file(cell: CellName) -> str | None:
    """tests/compliance/cells/test_<cell>.py, relative to tests/compliance, for a kind of cell that
    may share a process; None for the others (they run test_cell.py)."""
    return CELL_FILE.format(stem=cell.file_stem) if cell.kind.shares_process else None


class CellTimeoutField(IntField):
    alias = "timeout"
    default = 180
    help = "Seconds after which a cell is killed and reported as failed."


class ComplianceCellsTarget(TargetGenerator):
    alias = "compliance_cells"
    help = (
        "The cells of one backend (the target's name): one python_test per interface declared in "
        "registry/backends/<name>.yaml, plus #undeclared, #conventions, #model-<model>, #chaos-<model> and #replicas. "
        "Synthesized in tests/compliance for every registry file; not written by hand."
    )
    core_fields = (*COMMON_TARGET_FIELDS, CellTimeoutField)
    copied_fields = COMMON_TARGET_FIELDS
    moved_fields = (CellTimeoutField,)


class ComplianceBackendField(StringField):
    """Set on generated cells only: marks a python_test as a compliance cell of this backend."""

    alias = "compliance_backend"
    help = "The backend a compliance cell tests (set by compliance_cells; not for hand use)."


class ComplianceVariantField(StringField):
    """Set on generated cells of a server variant only: the variant's name."""

    alias = "compliance_variant"
    help = "The server variant of the backend a compliance cell tests (set by compliance_cells; not for hand use)."


class GenerateComplianceCellsRequest(GenerateTargetsRequest):
    generate_from = ComplianceCellsTarget


def suite_path(interface: str) -> str:
    """`keyvalue_basic` -> src/prism_accept/suites/keyvalue/basic.py (the suite-module convention)."""
    model, _, rest = interface.partition("_")
    return f"{SUITES_DIR}/{model}/{rest}.py"


def model_path(model: str) -> str:
    return f"{MODELS_DIR}/{model}.py"


def probe_path(model: str) -> str:
    return f"{PROBES_DIR}/{model}.py"


def plugin_globs(module: str) -> list[str]:
    """Where a first-party plugin module may live: a package or a module under each root."""
    rel = module.replace(".", "/")
    return [g for root in PLUGIN_SOURCE_ROOTS for g in (f"{root}/{rel}/__init__.py", f"{root}/{rel}.py")]


def plugin_address(found: str) -> str:
    """The target owning a plugin: its package directory's target, or the module file."""
    return found[: -len("/__init__.py")] if found.endswith("/__init__.py") else found


def proto_address(model: str) -> str:
    return f"proto/prism/{model}/v1"


def instance_dependencies(spec: InstanceSpec) -> list[str]:
    """What the harness needs to provide the instance: an embedded server's distribution (the
    harness starts its binary; the plugin never imports it)."""
    return [f"{REQUIREMENTS}#{spec.server.distribution}"] if spec.server and spec.server.distribution else []


def private_dependencies(spec: InstanceSpec) -> list[str]:
    """What the harness needs to start the private server of the chaos and replicas cells
    (instance.private, else the embedded server): its distribution, unless a machine binary."""
    server = spec.private_server
    return [f"{REQUIREMENTS}#{server.distribution}"] if server and server.distribution else []


@dataclass(frozen=True)
class Cell:
    cell: CellName
    dependencies: tuple[str, ...]
    private: bool = False  # runs against the private server of instance.private

    @property
    def name(self) -> str:
        return str(self.cell)

    @property
    def kind(self) -> str:
        return self.cell.kind.name

    @property
    def interface(self) -> str | None:
        return self.cell.interface

    @property
    def hypothesis(self) -> bool:
        return self.cell.kind.hypothesis


def plan_cells(
    implements: tuple[str, ...],
    catalog: Catalog,
    existing: set[str],
    faults: bool = True,
) -> list[Cell]:
    """The cells of a backend, given which optional files exist (pure: tested without Pants).
    `faults`: whether it has chaos and replicas cells (a server variant has not: its faults
    would repeat its backend's on another version of the server, at 2-3 CPU-s a cell)."""
    protos = tuple(proto_address(m) for m in catalog.models)
    cells = [Cell(CellName.of_interface(i), (suite_path(i),) if suite_path(i) in existing else ()) for i in dict.fromkeys(implements)]
    cells.append(Cell(CellName(UNDECLARED_CELL), (UNDECLARED, *protos)))
    if CONVENTIONS in existing:
        cells.append(Cell(CellName(CONVENTIONS_CELL), (CONVENTIONS, *protos)))
    models = tuple(dict.fromkeys(catalog.model_of(i) for i in implements))
    for model in models:
        if model_path(model) in existing:
            cells.append(Cell(CellName.of_model(model), (model_path(model),)))
    for model in models if faults else ():
        if CHAOS_CELL in existing and probe_path(model) in existing:
            cells.append(Cell(CellName(CHAOS, model), (CHAOS_CELL, probe_path(model)), private=True))
    if faults and REPLICAS in existing:
        probes = tuple(probe_path(m) for m in models if probe_path(m) in existing)
        cells.append(Cell(CellName(REPLICAS_CELL), (REPLICAS, *probes), private=True))
    return cells


@rule
async def generate_compliance_cells(
    request: GenerateComplianceCellsRequest, union_membership: UnionMembership, prism_cells: PrismCells
) -> GeneratedTargets:
    generator = request.generator
    column = Column.parse(generator.address.target_name)
    backend, variant = column.backend, column.variant
    entry, catalog = await MultiGet(Get(RegistryEntry, BackendName(backend)), Get(Catalog, CatalogRequest()))
    try:
        decl = entry.declaration.variant(variant)
    except RegistryError as e:
        raise InvalidRegistryFile(str(e)) from None
    module = decl.plugin.module
    optional = [
        *(suite_path(i) for i in decl.implements),
        *(model_path(catalog.model_of(i)) for i in decl.implements),
        *(probe_path(catalog.model_of(i)) for i in decl.implements),
        f"{CELLS_DIR}/{CELL_FILE.format(stem='*')}",
        CONVENTIONS,
        CHAOS_CELL,
        REPLICAS,
    ]
    existing_paths, plugin_paths = await MultiGet(
        Get(Paths, PathGlobs(optional)),
        Get(Paths, PathGlobs(plugin_globs(module) if module else [])),
    )
    # File addresses name their owning target (registry/BUILD, registry/backends/BUILD).
    common_deps = [f"{entry.path}:backends", f"{CATALOG}:catalog"]
    common_deps.extend(sorted({plugin_address(p) for p in plugin_paths.files}))
    common_deps.extend(instance_dependencies(decl.instance))
    timeout = generator[CellTimeoutField].value
    private_deps = private_dependencies(decl.instance)

    existing = set(existing_paths.files)

    def target(cell: Cell) -> PythonTestTarget:
        # A cell of a kind that may share a process runs its own file (which names the cell), so
        # the column's cells of that kind have the same environment; without its file (a new
        # interface, before `python -m prism_accept.runtime.cellfile --write`) it runs test_cell.py.
        own_file = cell_file(cell.cell)
        if own_file and f"{CELLS_DIR}/{own_file}" not in existing:
            own_file = None
        env = [
            f"PRISM_BACKEND={backend}",
            *(() if own_file else (f"PRISM_CELL={cell.name}",)),
            f"{VALIDATED_ENV}={text_digest(entry.text)}",
        ]
        if variant:
            env.append(f"{VARIANT_ENV}={variant}")
        # Read by the Hypothesis kinds only, passed to every cell: a column's cells then have one
        # environment, so Pants may batch them all together (a deep run reruns the others too).
        env.append(HYPOTHESIS_PROFILE_ENV)
        if decl.instance.container:  # the container path's settings, passed through (so in the cache key)
            env.extend(container_settings.passed_to_cells(backend))
        tags = [*(request.template.get("tags") or ()), "compliance", f"backend:{backend}", f"cell:{cell.kind}"]
        if variant:
            tags.append(f"variant:{variant}")
        if cell.interface:
            tags.append(f"interface:{cell.interface}")
        return PythonTestTarget(
            {
                **request.template,
                "source": own_file or CELL_RUNNER,
                **({"batch_compatibility_tag": batch_tag(column)} if own_file and prism_cells.batch else {}),
                "dependencies": [*common_deps, *cell.dependencies, *(private_deps if cell.private else ())],
                "extra_env_vars": env,
                "tags": tags,
                # Hypothesis cells may run the deep profile (per-case timeout 1500 s, see
                # models/machine.py); their fast cases keep pytest's 120 s per case.
                "timeout": max(timeout, HYPOTHESIS_CELL_TIMEOUT_S) if cell.hypothesis else timeout,
                ComplianceBackendField.alias: backend,
                **({ComplianceVariantField.alias: variant} if variant else {}),
            },
            generator.address.create_generated(cell.name),
            union_membership,
        )

    cells = plan_cells(decl.implements, catalog, existing, faults=not variant)
    return GeneratedTargets(generator, [target(c) for c in cells])


def rules():
    return [
        *collect_rules(),
        *PrismCells.rules(),
        UnionRule(GenerateTargetsRequest, GenerateComplianceCellsRequest),
        PythonTestTarget.register_plugin_field(ComplianceBackendField),
        PythonTestTarget.register_plugin_field(ComplianceVariantField),
    ]
