"""The `compliance_cells` target generator (see register.py)."""

from __future__ import annotations

import yaml

from pants.backend.python.target_types import PythonTestTarget
from pants.base.glob_match_error_behavior import GlobMatchErrorBehavior
from pants.engine.fs import DigestContents, PathGlobs, Paths
from pants.engine.rules import Get, collect_rules, rule
from pants.engine.target import (
    COMMON_TARGET_FIELDS,
    GeneratedTargets,
    GenerateTargetsRequest,
    IntField,
    StringField,
    TargetGenerator,
)
from pants.engine.unions import UnionMembership, UnionRule

REGISTRY_DIR = "registry/backends"
CATALOG = "registry/interfaces.yaml"
SUITES_DIR = "src/prism_accept/suites"
PLUGIN_SOURCE_ROOT = "src"
CELL_RUNNER = "test_cell.py"
UNDECLARED_CELL = "undeclared"


class BackendField(StringField):
    alias = "backend"
    help = "Backend name: the cells come from registry/backends/<backend>.yaml. Defaults to the target name."


class CellTimeoutField(IntField):
    alias = "timeout"
    default = 180
    help = "Seconds after which a cell is killed and reported as failed."


class ComplianceCellsTarget(TargetGenerator):
    alias = "compliance_cells"
    help = "One python_test per interface declared in registry/backends/<backend>.yaml, plus the undeclared-interfaces check."
    core_fields = (*COMMON_TARGET_FIELDS, BackendField, CellTimeoutField)
    copied_fields = COMMON_TARGET_FIELDS
    moved_fields = (CellTimeoutField,)


class GenerateComplianceCellsRequest(GenerateTargetsRequest):
    generate_from = ComplianceCellsTarget


def env_name(backend: str) -> str:
    """PRISM_INSTANCE_<BACKEND>: the instance state the ./pants bootstrap exports (a cache key)."""
    return "PRISM_INSTANCE_" + "".join(c if c.isalnum() else "_" for c in backend.upper())


def suite_path(interface: str) -> str:
    """`keyvalue_basic` -> src/prism_accept/suites/keyvalue/basic.py (the suite-module convention)."""
    model, _, rest = interface.partition("_")
    return f"{SUITES_DIR}/{model}/{rest}.py"


def plugin_address(module: str) -> str:
    """A first-party plugin module is a package under src/ with its own BUILD."""
    return f"{PLUGIN_SOURCE_ROOT}/{module.replace('.', '/')}"


@rule
async def generate_compliance_cells(
    request: GenerateComplianceCellsRequest, union_membership: UnionMembership
) -> GeneratedTargets:
    generator = request.generator
    backend = generator[BackendField].value or generator.address.target_name
    yaml_path = f"{REGISTRY_DIR}/{backend}.yaml"
    contents = await Get(
        DigestContents,
        PathGlobs(
            [yaml_path],
            glob_match_error_behavior=GlobMatchErrorBehavior.error,
            description_of_origin=f"the compliance_cells target {generator.address}",
        ),
    )
    try:
        declaration = yaml.safe_load(contents[0].content) or {}
    except yaml.YAMLError as e:
        raise ValueError(f"{yaml_path}: not valid YAML ({e}); fix the syntax, then run `./pants test tests/registry::`") from e
    if not isinstance(declaration, dict):
        raise ValueError(f"{yaml_path}: expected a mapping with backend, implements, plugin, instance")
    implements = [i for i in declaration.get("implements") or [] if isinstance(i, str)]
    plugin = declaration.get("plugin") or {}
    instance = declaration.get("instance") or {}

    # File addresses name their owning target (registry/BUILD, registry/backends/BUILD).
    common_deps = [f"{yaml_path}:backends", f"{CATALOG}:catalog"]
    module = plugin.get("module") if isinstance(plugin, dict) else None
    if isinstance(module, str):
        common_deps.append(plugin_address(module))
    catalog = await Get(DigestContents, PathGlobs([CATALOG]))
    models = sorted((yaml.safe_load(catalog[0].content) or {}).keys()) if catalog else []
    existing_suites = set(
        (await Get(Paths, PathGlobs([suite_path(i) for i in implements]))).files
    )
    passthrough = [env_name(backend)]
    url_env = instance.get("url_env") if isinstance(instance, dict) else None
    if isinstance(url_env, str):
        passthrough.append(url_env)

    def cell(name: str, interface: str, extra_deps: list[str]) -> PythonTestTarget:
        return PythonTestTarget(
            {
                **request.template,
                "source": CELL_RUNNER,
                "dependencies": [*common_deps, *extra_deps],
                "extra_env_vars": [f"PRISM_BACKEND={backend}", f"PRISM_INTERFACE={interface}", *passthrough],
                "tags": [*(request.template.get("tags") or ()), "compliance", f"backend:{backend}", f"interface:{interface}"],
            },
            generator.address.create_generated(name),
            union_membership,
        )

    cells = [
        cell(i, i, [suite_path(i)] if suite_path(i) in existing_suites else [])
        for i in dict.fromkeys(implements)
    ]
    # The undeclared check calls every other service, so it needs every model's protos.
    cells.append(cell(UNDECLARED_CELL, UNDECLARED_CELL, [f"proto/prism/{m}/v1" for m in models]))
    return GeneratedTargets(generator, cells)


def rules():
    return [
        *collect_rules(),
        UnionRule(GenerateTargetsRequest, GenerateComplianceCellsRequest),
    ]
