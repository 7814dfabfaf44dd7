"""The synthesized compliance_cells targets and the cells they generate (Pants RuleRunner)."""

from __future__ import annotations

import pytest
from pants.backend.python.target_types import (
    PythonTestsBatchCompatibilityTagField,
    PythonTestsExtraEnvVarsField,
    PythonTestSourceField,
    PythonTestsTimeoutField,
    PythonTestTarget,
)
from pants.core.target_types import FilesGeneratorTarget, GenericTarget
from pants.engine.addresses import Address
from pants.engine.internals.scheduler import ExecutionError
from pants.engine.target import Dependencies, Tags
from pants.testutil.rule_runner import RuleRunner

from prism_accept.cellname import CellAddress
from prism_accept.registry import EmbeddedServer, InstanceSpec
from prism_cells import register
from prism_cells.synthetic import columns
from prism_cells.target_types import ComplianceBackendField, ComplianceCellsTarget, ComplianceVariantField, instance_dependencies

CATALOG = """\
keyvalue:
  keyvalue_basic: KeyValueBasic
  keyvalue_scan: KeyValueScan
list:
  list_basic: ListBasic
set:
  set_basic: SetBasic
"""


def backend_yaml(name: str, implements: list[str], module: str = "prism_x") -> str:
    return (
        f"backend: {name}\n"
        "description: A test backend.\n"
        f"plugin:\n  module: {module}\n"
        "implements:\n" + "".join(f"  - {i}\n" for i in implements) + "limits:\n  max_value_bytes: 1024\n"
        "instance:\n  embedded: true\n  start_hint: nothing to start\n"
    )


@pytest.fixture
def rule_runner() -> RuleRunner:
    runner = RuleRunner(
        rules=[*register.rules()],
        target_types=[ComplianceCellsTarget, PythonTestTarget, FilesGeneratorTarget, GenericTarget],
    )
    runner.write_files(
        {
            "registry/BUILD": 'files(name="catalog", sources=["interfaces.yaml"])',
            "registry/interfaces.yaml": CATALOG,
            "registry/backends/BUILD": 'files(name="backends", sources=["*.yaml"])',
            "registry/backends/alpha.yaml": backend_yaml("alpha", ["keyvalue_basic", "list_basic"]),
            "registry/backends/beta.yaml": backend_yaml("beta", ["keyvalue_scan"], module="prism_accept.plugins.beta"),
            "plugins/prism_x/__init__.py": "",
            "src/prism_accept/plugins/beta/__init__.py": "",
            "src/prism_accept/suites/keyvalue/basic.py": "",
            "src/prism_accept/models/keyvalue.py": "",
            "src/prism_accept/runtime/conventions.py": "",
            "src/prism_accept/chaos/cell.py": "",
            "src/prism_accept/chaos/replicas.py": "",
            "src/prism_accept/chaos/probes/keyvalue.py": "",
            "tests/compliance/BUILD": "# cells are synthesized",
            "tests/compliance/test_cell.py": "",
            **{
                f"tests/compliance/cells/test_{c}.py": ""
                for c in ("keyvalue_basic", "keyvalue_scan", "undeclared", "conventions", "model_keyvalue", "chaos_keyvalue", "replicas")
            },
        }
    )
    return runner


def cell(rule_runner: RuleRunner, backend: str, name: str):
    return rule_runner.get_target(Address("tests/compliance", target_name=backend, generated_name=name))


def test_one_compliance_cells_per_registry_file(rule_runner: RuleRunner) -> None:
    for backend in ("alpha", "beta"):
        generator = rule_runner.get_target(Address("tests/compliance", target_name=backend))
        assert isinstance(generator, ComplianceCellsTarget)
    rule_runner.write_files({"registry/backends/gamma.yaml": backend_yaml("gamma", ["set_basic"])})
    assert isinstance(rule_runner.get_target(Address("tests/compliance", target_name="gamma")), ComplianceCellsTarget)


def test_every_suite_names_the_suite_package_and_protos_of_every_model_of_the_catalog(rule_runner: RuleRunner) -> None:
    every = rule_runner.get_target(Address("src/prism_accept/suites", target_name="every-suite"))
    want = ["src/prism_accept/suites", *(f"src/prism_accept/suites/{m}" for m in ("keyvalue", "list", "set"))]
    want += [f"proto/prism/{m}/v1" for m in ("keyvalue", "list", "set")]
    assert list(every[Dependencies].value or ()) == want
    rule_runner.write_files({"registry/interfaces.yaml": CATALOG + "graph:\n  graph_basic: GraphBasic\n"})
    every = rule_runner.get_target(Address("src/prism_accept/suites", target_name="every-suite"))
    assert "src/prism_accept/suites/graph" in (every[Dependencies].value or ()), "a model added to the catalog"


def test_interface_cells(rule_runner: RuleRunner) -> None:
    tgt = cell(rule_runner, "alpha", "keyvalue_basic")
    assert tgt.get(Tags).value == ("compliance", "backend:alpha", "cell:interface", "interface:keyvalue_basic")
    # its own file names the cell: the environment is the column's alone
    assert tgt[PythonTestSourceField].value == "cells/test_keyvalue_basic.py"
    assert tgt[PythonTestsExtraEnvVarsField].value[0] == "PRISM_BACKEND=alpha"
    assert tgt[PythonTestsExtraEnvVarsField].value[1].startswith("PRISM_REGISTRY_VALIDATED=")
    assert not any(e.startswith("PRISM_CELL=") for e in tgt[PythonTestsExtraEnvVarsField].value)
    assert tgt[PythonTestsBatchCompatibilityTagField].value == "prism-cells:alpha"  # [prism-cells] batch, on by default
    assert tgt[PythonTestsTimeoutField].value == 180
    assert set(tgt[Dependencies].value or ()) == {
        "registry/backends/alpha.yaml:backends",
        "registry/interfaces.yaml:catalog",
        "plugins/prism_x",
        "src/prism_accept/suites/keyvalue/basic.py",
    }
    # a declared interface without a suite module yet: no suite dependency
    listed = cell(rule_runner, "alpha", "list_basic")
    assert "src/prism_accept/suites/list/basic.py" not in (listed[Dependencies].value or ())
    # nor a cell file yet: it runs test_cell.py, which the environment tells the cell
    assert listed[PythonTestSourceField].value == "test_cell.py"
    assert "PRISM_CELL=list_basic" in listed[PythonTestsExtraEnvVarsField].value


def test_batching_puts_a_columns_cells_together(rule_runner: RuleRunner) -> None:
    rule_runner.write_files({"registry/backends/alpha.yaml": backend_yaml("alpha", ["keyvalue_basic", "list_basic"]) + VARIANTS})
    tag = PythonTestsBatchCompatibilityTagField
    assert cell(rule_runner, "alpha", "keyvalue_basic")[tag].value == "prism-cells:alpha"
    assert cell(rule_runner, "beta", "keyvalue_scan")[tag].value == "prism-cells:beta"
    assert cell(rule_runner, "alpha.fork-2.1", "keyvalue_basic")[tag].value == "prism-cells:alpha.fork-2.1"
    env = cell(rule_runner, "alpha", "keyvalue_basic")[PythonTestsExtraEnvVarsField].value
    for name in ("undeclared", "conventions", "model-keyvalue", "chaos-keyvalue", "replicas"):
        tgt = cell(rule_runner, "alpha", name)
        assert tgt[tag].value == "prism-cells:alpha", name
        assert tgt[PythonTestSourceField].value == f"cells/test_{name.replace('-', '_')}.py", name
        # one environment for the column's cells, so that Pants batches them together
        assert tgt[PythonTestsExtraEnvVarsField].value == env, name
    # without a file of its own (test_cell.py, told by PRISM_CELL): a process of its own
    tgt = cell(rule_runner, "alpha", "list_basic")
    assert tgt[tag].value is None and tgt[PythonTestSourceField].value == "test_cell.py"
    assert "PRISM_CELL=list_basic" in tgt[PythonTestsExtraEnvVarsField].value
    rule_runner.set_options(["--no-prism-cells-batch"])
    assert cell(rule_runner, "alpha", "keyvalue_basic")[tag].value is None


def test_undeclared_conventions_and_model_cells(rule_runner: RuleRunner) -> None:
    protos = {f"proto/prism/{m}/v1" for m in ("keyvalue", "list", "set")}
    undeclared = cell(rule_runner, "alpha", "undeclared")
    assert protos <= set(undeclared[Dependencies].value or ())
    assert undeclared[PythonTestsExtraEnvVarsField].value[0] == "PRISM_BACKEND=alpha"
    assert undeclared[PythonTestSourceField].value == "cells/test_undeclared.py"

    conventions = cell(rule_runner, "alpha", "conventions")
    assert {"src/prism_accept/runtime/conventions.py", *protos} <= set(conventions[Dependencies].value or ())
    assert "PRISM_HYPOTHESIS_PROFILE" in conventions[PythonTestsExtraEnvVarsField].value
    assert "cell:conventions" in conventions.get(Tags).value

    model = cell(rule_runner, "alpha", "model-keyvalue")
    assert "src/prism_accept/models/keyvalue.py" in model[Dependencies].value
    env = model[PythonTestsExtraEnvVarsField].value
    assert env[0] == "PRISM_BACKEND=alpha" and env[-1] == "PRISM_HYPOTHESIS_PROFILE"
    assert "cell:model" in model.get(Tags).value
    # list is declared but has no models/list.py: no cell
    with pytest.raises(ExecutionError):
        cell(rule_runner, "alpha", "model-list")


def test_chaos_cells_per_model_with_a_probe_and_one_replicas_cell(rule_runner: RuleRunner) -> None:
    chaos = cell(rule_runner, "alpha", "chaos-keyvalue")
    assert {"src/prism_accept/chaos/cell.py", "src/prism_accept/chaos/probes/keyvalue.py"} <= set(chaos[Dependencies].value or ())
    assert "cell:chaos" in chaos.get(Tags).value
    replicas = cell(rule_runner, "alpha", "replicas")
    assert {"src/prism_accept/chaos/replicas.py", "src/prism_accept/chaos/probes/keyvalue.py"} <= set(replicas[Dependencies].value or ())
    assert "cell:replicas" in replicas.get(Tags).value
    # list is declared but has no probe: no chaos cell
    with pytest.raises(ExecutionError):
        cell(rule_runner, "alpha", "chaos-list")


def test_plugin_package_under_src_too(rule_runner: RuleRunner) -> None:
    assert "src/prism_accept/plugins/beta" in cell(rule_runner, "beta", "keyvalue_scan")[Dependencies].value


def test_an_invalid_registry_file_fails_with_the_loaders_message(rule_runner: RuleRunner) -> None:
    rule_runner.write_files({"registry/backends/alpha.yaml": backend_yaml("alpha", ["keyvalue_basik"])})
    with pytest.raises(ExecutionError) as e:
        cell(rule_runner, "alpha", "undeclared")
    assert (
        "registry/backends/alpha.yaml: field 'implements[0]': 'keyvalue_basik' is not a known interface; "
        "fix: did you mean 'keyvalue_basic'?"
    ) in str(e.value)


def test_an_embedded_servers_distribution_is_a_dependency_of_the_cells() -> None:
    """The harness starts the server's binary from the installed distribution, so the cells
    (not the plugin, which never imports it) depend on its requirement."""
    server = EmbeddedServer("noida-db", "noida_db/noida-db", ("--port", "{port}"), "kafka://127.0.0.1:{port}", "{distribution}")
    assert instance_dependencies(InstanceSpec(start_hint="x", server=server)) == ["3rdparty/python:reqs#noida-db"]
    assert instance_dependencies(InstanceSpec(start_hint="x", embedded=True)) == []


VARIANTS = """\
variants:
  fork-2.1:
    description: A fork of the server.
    instance:
      embedded:
        distribution: fork-dist
        binary: fork_dist/bin/server
        args: [--port, "{port}"]
        url: redis://127.0.0.1:{port}/0
        label: "{distribution} {version}"
      start_hint: installed with the lockfile
    deviations:
      - cell: keyvalue_basic
        case: get_missing
        reason: the fork documents another answer
"""


def test_a_variant_is_a_compliance_cells_of_its_own_with_the_backends_cells(rule_runner: RuleRunner) -> None:
    rule_runner.write_files({"registry/backends/alpha.yaml": backend_yaml("alpha", ["keyvalue_basic", "list_basic"]) + VARIANTS})
    generator = rule_runner.get_target(Address("tests/compliance", target_name="alpha.fork-2.1"))
    assert isinstance(generator, ComplianceCellsTarget)
    reference = {t.address.generated_name for t in _generated(rule_runner, "alpha")}
    variant = {t.address.generated_name for t in _generated(rule_runner, "alpha.fork-2.1")}
    # a variant has its backend's cells but the faults (chaos, replicas): those are its backend's
    assert reference - variant == {"chaos-keyvalue", "replicas"}
    assert variant == {"keyvalue_basic", "list_basic", "undeclared", "conventions", "model-keyvalue"}
    tgt = cell(rule_runner, "alpha.fork-2.1", "keyvalue_basic")
    assert tgt.get(Tags).value == ("compliance", "backend:alpha", "cell:interface", "variant:fork-2.1", "interface:keyvalue_basic")
    env = tgt[PythonTestsExtraEnvVarsField].value
    assert env[0] == "PRISM_BACKEND=alpha" and "PRISM_VARIANT=fork-2.1" in env
    assert tgt[ComplianceBackendField].value == "alpha" and tgt[ComplianceVariantField].value == "fork-2.1"
    deps = set(tgt[Dependencies].value or ())
    assert "3rdparty/python:reqs#fork-dist" in deps and "src/prism_accept/suites/keyvalue/basic.py" in deps
    assert "3rdparty/python:reqs#fork-dist" not in (cell(rule_runner, "alpha", "keyvalue_basic")[Dependencies].value or ())
    assert not any(e.startswith("PRISM_VARIANT") for e in cell(rule_runner, "alpha", "keyvalue_basic")[PythonTestsExtraEnvVarsField].value)


def test_the_names_pants_gives_a_variants_cell_are_the_ones_cellname_reads(rule_runner: RuleRunner) -> None:
    """The address and the JUnit report name (Address.path_safe_spec) parse back to the cell."""
    rule_runner.write_files({"registry/backends/alpha.yaml": backend_yaml("alpha", ["keyvalue_basic"]) + VARIANTS})
    for target in (*_generated(rule_runner, "alpha"), *_generated(rule_runner, "alpha.fork-2.1")):
        address = CellAddress.parse(target.address.spec)
        assert address.spec == target.address.spec
        assert address.report_name == f"{target.address.path_safe_spec}.xml"
        assert CellAddress.from_report(address.report_name) == address


def test_a_variants_invalid_deviation_fails_its_cells_with_the_loaders_message(rule_runner: RuleRunner) -> None:
    bad = VARIANTS.replace("cell: keyvalue_basic", "cell: keyvalue_basik")
    rule_runner.write_files({"registry/backends/alpha.yaml": backend_yaml("alpha", ["keyvalue_basic"]) + bad})
    with pytest.raises(ExecutionError) as e:
        cell(rule_runner, "alpha.fork-2.1", "keyvalue_basic")
    assert "field 'variants.fork-2.1.deviations[0].cell': the backend has no cell 'keyvalue_basik'" in str(e.value)


def test_synthesized_columns_read_variants_leniently() -> None:
    registry = {"registry/backends/b.yaml": "backend: b\nvariants:\n  v-1: {}\n", "registry/backends/a.yaml": "not: [valid"}
    assert [str(c) for c in columns(registry)] == ["a", "b", "b.v-1"]


def _generated(rule_runner: RuleRunner, target_name: str):
    """The cells of one compliance_cells (those of the names a test backend can have)."""
    generator = rule_runner.get_target(Address("tests/compliance", target_name=target_name))
    names = (
        "keyvalue_basic",
        "list_basic",
        "undeclared",
        "conventions",
        "model-keyvalue",
        "model-list",
        "chaos-keyvalue",
        "chaos-list",
        "replicas",
    )
    found = []
    for name in names:
        try:
            found.append(cell(rule_runner, generator.address.target_name, name))
        except ExecutionError:
            pass
    return found
