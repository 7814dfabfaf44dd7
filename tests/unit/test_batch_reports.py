"""A report of a batch (several cells of one column in one pytest process) is split into its
cells by the properties each cell names (`<column>#<cell> <name>`): the matrix, the merged JUnit
file and the benchmark see each cell as if it had run alone."""

from __future__ import annotations

from junitparser import JUnitXml

from prism_accept.cellname import CellAddress
from prism_accept.reports import bench, junit, matrix, results

MODULE = "tests.compliance.cells.test_{}"


def props(cell: str, **values: str) -> str:
    return "".join(f'<property name="redis#{cell} {k}" value="{v}"/>' for k, v in values.items())


def batch(timestamp: str = "2026-12-07T18:00:00+00:00", scan_fails: bool = False) -> str:
    basic, scan = (MODULE.format(c) + f".Test_redis_{c}" for c in ("keyvalue_basic", "keyvalue_scan"))
    failure = '<failure message="Scan: got [], want [a]">Traceback</failure>' if scan_fails else ""
    return (
        f'<testsuites><testsuite name="pytest" timestamp="{timestamp}"><properties>'
        + props(
            "keyvalue_basic",
            **{"class": basic, "instance": "redis://:pw@h:6379/0", "plugin": "redis 0.1.0", "cpu_s": "1.200", "rpcs": "400"},
        )
        + props("keyvalue_scan", **{"class": scan, "instance": "redis://h:6379/0", "plugin": "redis 0.1.0", "cpu_s": "0.300", "rpcs": "90"})
        + "</properties>"
        + f'<testcase classname="{basic}" name="test_get"/><testcase classname="{basic}" name="test_set"/>'
        + f'<testcase classname="{scan}" name="test_scan">{failure}</testcase>'
        # a cell file of the same batch that failed to import: its own cell's error
        + '<testcase classname="" name="tests.compliance.cells.test_keyvalue_ttl"><error message="collection failure"/></testcase>'
        + "</testsuite></testsuites>"
    )


def test_a_batch_report_is_split_into_its_cells(tmp_path):
    (tmp_path / "batch-of-tests.compliance.redis@keyvalue_basic+2-files.xml").write_text(batch(scan_fails=True))
    found = results.cell_reports(tmp_path)
    assert set(map(str, found)) == {"redis#keyvalue_basic", "redis#keyvalue_scan", "redis#keyvalue_ttl"}
    basic = results.result_of(found[CellAddress.parse("redis#keyvalue_basic")], CellAddress.parse("redis#x").column, "keyvalue_basic")
    assert (basic.status, basic.passed, basic.plugin, basic.instance) == ("pass", 2, "redis 0.1.0", "redis://***@h:6379/0")
    scan = results.result_of(found[CellAddress.parse("redis#keyvalue_scan")], basic_column(), "keyvalue_scan")
    assert (scan.status, scan.reason) == ("fail", "test_scan: Scan: got [], want [a]")
    ttl = results.result_of(found[CellAddress.parse("redis#keyvalue_ttl")], basic_column(), "keyvalue_ttl")
    assert ttl.status == "error"
    missing = results.result_of(None, basic_column(), "keyvalue_cas")
    assert (missing.status, missing.reason) == ("error", "no result: the cell did not run (see the Pants output)")
    # read as a file, as verify and older callers do
    assert (
        results.read_report(tmp_path / "batch-of-tests.compliance.redis@keyvalue_basic+2-files.xml", "redis", "keyvalue_scan").status
        == "fail"
    )


def basic_column():
    return CellAddress.parse("redis#keyvalue_basic").column


def test_the_newest_report_of_a_cell_wins(tmp_path):
    (tmp_path / "batch-of-old.xml").write_text(batch("2026-12-07T17:00:00+00:00", scan_fails=True))
    (tmp_path / "tests.compliance.redis@keyvalue_scan.xml").write_text(
        batch("2026-12-07T19:00:00+00:00").replace("keyvalue_basic", "keyvalue_gone")
    )
    found = results.cell_reports(tmp_path)
    assert results.result_of(found[CellAddress.parse("redis#keyvalue_scan")], basic_column(), "keyvalue_scan").status == "pass"
    assert results.result_of(found[CellAddress.parse("redis#keyvalue_basic")], basic_column(), "keyvalue_basic").status == "pass"


def test_bench_and_merged_junit_see_each_cell(tmp_path):
    reports = tmp_path / "reports"
    reports.mkdir()
    (reports / "batch-of-x.xml").write_text(batch())
    assert bench.costs_by_cell(reports) == {
        "redis#keyvalue_basic": bench.CellCost(1.2, 400),
        "redis#keyvalue_scan": bench.CellCost(0.3, 90),
    }
    m = matrix.Matrix(cells={"redis": {"keyvalue_basic": None, "keyvalue_scan": None}})  # type: ignore[dict-item]
    out = tmp_path / "junit.xml"
    junit.merge_reports(m, reports, out)
    suites = {s.name: s for s in JUnitXml.fromfile(str(out))}
    assert set(suites) == {"redis#keyvalue_basic", "redis#keyvalue_scan"}
    assert [c.name for c in suites["redis#keyvalue_basic"]] == ["test_get", "test_set"]
    assert {p.name: p.value for p in suites["redis#keyvalue_basic"].properties()}["instance"] == "redis://***@h:6379/0"
    assert "pw" not in out.read_text()
