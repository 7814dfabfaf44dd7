"""Each interface suite (and model cell) must fail against a plugin with a plausible bug.

Runs the real suite in a pytest subprocess against tests/mutants/broken_plugin.py, declared
through a scratch registry, and expects failed cases (not errors, not skips)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import textwrap

import pytest
import yaml

from mutants.broken_stores import HUNG, MUTANTS
from prism_accept.compliance.results import read_report
from prism_accept.harness.process import plugin_env
from prism_accept.paths import registry_dir
from prism_accept.suites.base import check

CELL = textwrap.dedent(
    """\
    from prism_accept.compliance.cells import cell_class
    pytest_plugins = ["prism_accept.compliance.cell"]
    class TestMutant(cell_class("{interface}")):
        pass
    """
)


def run_cell(
    mutant: str, interface: str, tmp_path, *pytest_args: str, deadline_s: float = 300, deviations: list[dict] | None = None
) -> subprocess.CompletedProcess:
    registry = tmp_path / "registry"
    (registry / "backends").mkdir(parents=True)
    shutil.copy(registry_dir() / "interfaces.yaml", registry / "interfaces.yaml")
    decl = yaml.safe_load((registry_dir() / "backends" / "memstore.yaml").read_text())
    # a module plugin in a subprocess of its own: the harness's Python and modules, and the mutant's
    # patch applied in that process only
    decl["plugin"] = {"module": "mutants.broken_plugin"}
    if deviations:
        decl["deviations"] = deviations
    (registry / "backends" / "memstore.yaml").write_text(yaml.safe_dump(decl))
    (tmp_path / "test_mutant_cell.py").write_text(CELL.format(interface=interface))
    env = {
        **plugin_env(),
        "PRISM_MUTANT": mutant,
        "PRISM_REGISTRY_DIR": str(registry),
        "PRISM_BACKEND": "memstore",
        "PRISM_CELL": interface,
        "PRISM_PLUGIN_MODE": "subprocess",
    }
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--timeout=60",
            *pytest_args,
            str(tmp_path / "test_mutant_cell.py"),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=deadline_s,
    )


def summary_of(run: subprocess.CompletedProcess) -> str:
    return run.stdout.strip().splitlines()[-1] if run.stdout.strip() else run.stderr[-500:]


@pytest.mark.parametrize("mutant", sorted(MUTANTS))
def test_suite_fails_on_a_broken_plugin(mutant, tmp_path):
    interface = MUTANTS[mutant][0]
    run = run_cell(mutant, interface, tmp_path, "-x")
    summary = summary_of(run)
    assert (
        re.search(r"\b1 failed\b", summary) and "error" not in summary
    ), f"{interface} suite against the '{mutant}' plugin: got {summary!r}, want a failed case\n{run.stdout[-3000:]}"


@pytest.mark.parametrize("mutant", sorted(HUNG))
def test_a_hung_plugin_ends_its_cell_in_seconds(mutant, tmp_path):
    """Without the per-case health check the cell would wait out 20 deadlines; the run's own
    deadline (60 s, about 4x what it takes) turns a regression into TimeoutExpired."""
    interface = HUNG[mutant][0]
    summary = summary_of(run_cell(mutant, interface, tmp_path, deadline_s=60))
    assert "passed" not in summary and re.search(
        r"\b1 failed\b.*\berrors?\b", summary
    ), f"cell against the '{mutant}' plugin: got {summary!r}, want every case failed or errored"


NOT_FOUND_DEVIATION = {"cell": "keyvalue_basic", "case": "delete_non_existent", "reason": "this test plugin reports every Delete as found"}


def test_a_declared_deviation_is_a_strict_expected_failure_and_the_matrix_shows_it(tmp_path):
    report = tmp_path / "tests.compliance.memstore@keyvalue_basic.xml"
    run = run_cell(
        "delete-always-found",
        "keyvalue_basic",
        tmp_path,
        "-k",
        "delete_non_existent",
        f"--junitxml={report}",
        deviations=[NOT_FOUND_DEVIATION],
    )
    summary = summary_of(run).split(" in ")[0]
    assert re.fullmatch(r"\d+ deselected, 1 xfailed", summary), f"cell with the failing case declared as a deviation: got {summary!r}"
    result = read_report(report, "memstore", "keyvalue_basic")
    check("matrix status of the cell", result.status, "deviation")


def test_a_declared_deviation_that_passes_fails_the_cell(tmp_path):
    run = run_cell(
        "delete-always-found",
        "keyvalue_basic",
        tmp_path,
        "-k",
        "test_get_non_existent",
        deviations=[{**NOT_FOUND_DEVIATION, "case": "get_non_existent"}],
    )
    summary = summary_of(run).split(" in ")[0]
    assert re.fullmatch(r"1 failed, \d+ deselected", summary), f"cell whose declared deviation passes: got {summary!r}"
    assert "XPASS(strict)" in run.stdout, run.stdout[-2000:]


def test_a_deviation_naming_no_case_is_an_error_naming_the_field(tmp_path):
    run = run_cell("delete-always-found", "keyvalue_basic", tmp_path, deviations=[{**NOT_FOUND_DEVIATION, "case": "delete_nonexistent"}])
    assert "field 'deviations': cell keyvalue_basic has no case delete_nonexistent" in run.stdout + run.stderr, (run.stdout + run.stderr)[
        -2000:
    ]
