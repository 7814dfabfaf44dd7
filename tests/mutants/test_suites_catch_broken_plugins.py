"""What the mutant tests rest on: every mutant is in one group's test file, a hung plugin ends
its cell in seconds, and a declared deviation is a strict expected failure.

The mutants themselves (each suite and model cell must fail against a plugin with a plausible
bug) run in test_mutants_<group>.py, a file per group of data models (cell_run.GROUPS)."""

from __future__ import annotations

import re

import pytest

from mutants.broken_stores import HUNG, MUTANTS
from mutants.cell_run import GROUPS, model_of, mutants_of, run_batch, run_cell, summary_of
from prism_accept.reports.results import read_report
from prism_accept.suites.base import check


def test_every_mutant_is_run_by_one_group():
    grouped = [name for group in GROUPS for name in mutants_of(group)]
    orphans = sorted({model_of(cell) for name, (cell, _) in MUTANTS.items() if name not in grouped})
    assert not orphans, f"mutants of these models are in no group of cell_run.GROUPS: {orphans}"
    assert len(grouped) == len(set(grouped)) == len(MUTANTS)


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


# One row of a table case: the mutant wraps a start below -size, so of test_negative_ranges'
# rows only GetRange(-100, 1) is wrong.
WRAPPED_ROW = {
    "cell": "list_range",
    "case": "negative_ranges",
    "row": "GetRange(-100, 1)",
    "reason": "this test plugin wraps a start below -size",
}


def _negative_ranges(tmp_path, row: dict, *args: str) -> tuple[str, str]:
    run = run_cell("range-start-below-minus-size-wraps", "list_range", tmp_path, "-k", "test_negative_ranges", *args, deviations=[row])
    return summary_of(run).split(" in ")[0], run.stdout + run.stderr


def test_a_deviation_naming_one_row_is_a_strict_expected_failure_of_that_row(tmp_path):
    report = tmp_path / "tests.compliance.memstore@list_range.xml"
    summary, _ = _negative_ranges(tmp_path, WRAPPED_ROW, f"--junitxml={report}")
    assert re.fullmatch(r"\d+ deselected, 1 xfailed", summary), f"cell with the failing row declared as a deviation: got {summary!r}"
    check("matrix status of the cell", read_report(report, "memstore", "list_range").status, "deviation")


def test_a_deviation_row_that_passes_fails_the_case(tmp_path):
    summary, out = _negative_ranges(tmp_path, {**WRAPPED_ROW, "row": "GetRange(-3, -1)"})
    assert re.fullmatch(r"1 failed, \d+ deselected", summary), f"cell whose declared row passes: got {summary!r}"
    assert "GetRange(-3, -1): passed, but the registry file declares it a known deviation" in out, out[-2000:]
    assert "GetRange(-100, 1): got" in out, f"the undeclared failing row is listed too\n{out[-2000:]}"


def test_a_deviation_naming_no_row_is_an_error_naming_the_row(tmp_path):
    summary, out = _negative_ranges(tmp_path, {**WRAPPED_ROW, "case": "empty_ranges", "row": "GetRange(-1000, 1)"}, "-k", "empty_ranges")
    assert "case empty_ranges has no row 'GetRange(-1000, 1)'" in out, out[-2000:]


def test_cells_batched_in_one_process_fail_alone(tmp_path):
    """A batch (a column's interface cells in one pytest process) against a plugin whose Delete
    is broken: keyvalue_basic fails, list_basic and undeclared, each with a plugin process of its
    own, pass, and the report tells each cell's result and cost apart. The instance the harness
    made for the first cell (memstore's embedded engine directory) serves the later ones."""
    from prism_accept.reports.results import cell_reports, result_of

    report = tmp_path / "reports" / "batch.xml"
    run = run_batch("delete-always-found", ["keyvalue_basic", "list_basic", "undeclared"], tmp_path, f"--junitxml={report}")
    assert run.returncode == 1, run.stdout[-2000:]
    found = {str(a): (a, r) for a, r in cell_reports(report.parent).items()}
    assert set(found) == {"memstore#keyvalue_basic", "memstore#list_basic", "memstore#undeclared"}, run.stdout[-2000:]
    status = {name: result_of(r, a.column, str(a.cell)) for name, (a, r) in found.items()}
    check("batched keyvalue_basic against delete-always-found", status["memstore#keyvalue_basic"].status, "fail")
    check("batched list_basic against delete-always-found", status["memstore#list_basic"].status, "pass")
    check("batched undeclared against delete-always-found", status["memstore#undeclared"].status, "pass")
    for name, (_, r) in found.items():
        assert float(r.properties["cpu_s"]) > 0 and int(r.properties["rpcs"]) > 0, (name, r.properties)
        assert r.properties["plugin_mode"] == "subprocess" and r.properties["plugin"].startswith("memstore"), r.properties
    kept = {name for name, (_, r) in found.items() if "instance_kept" in r.properties}
    check("cells of the batch on the instance its first cell started", kept, {"memstore#list_basic", "memstore#undeclared"})
