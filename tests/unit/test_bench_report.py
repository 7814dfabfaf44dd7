"""bench-cells' report: each cell's CPU-s and RPCs from its JUnit properties, the means per kind
and per column, CPU-ms per RPC, and Pants' share of the run."""

from __future__ import annotations

from prism_accept.reports import bench, matrix


def report(cpu_s: str, rpcs: str | None) -> str:
    props = f'<property name="cpu_s" value="{cpu_s}"/>' + (f'<property name="rpcs" value="{rpcs}"/>' if rpcs is not None else "")
    return f'<testsuites><testsuite name="pytest"><properties>{props}</properties><testcase name="test_a"/></testsuite></testsuites>'


def write(reports, column, cell, text):
    reports.mkdir(parents=True, exist_ok=True)
    matrix.report_path(reports, column, cell).write_text(text)


def test_costs_and_summary(tmp_path):
    write(tmp_path, "redis", "keyvalue_basic", report("1.500", "1000"))
    write(tmp_path, "redis", "model-keyvalue", report("3.000", "2000"))
    write(tmp_path, "memstore", "keyvalue_basic", report("0.500", "250"))
    write(tmp_path, "memstore", "conventions", report("2.000", None))  # a report from before RPCs were counted
    (tmp_path / "unrelated.xml").write_text(report("9.0", "9"))  # not a cell's report name: ignored

    costs = bench.costs_by_cell(tmp_path)
    assert costs == {
        "redis#keyvalue_basic": bench.CellCost(1.5, 1000),
        "redis#model-keyvalue": bench.CellCost(3.0, 2000),
        "memstore#keyvalue_basic": bench.CellCost(0.5, 250),
        "memstore#conventions": bench.CellCost(2.0, None),
    }
    lines = bench.summary(costs, run_cpu=11.0)
    assert lines[0] == "   3.00 CPU-s    2000 RPCs  redis#model-keyvalue"
    assert "   2.00 CPU-s  memstore#conventions" in lines  # no RPC count: none shown
    assert "interface: 2 cells, mean 1.00 CPU-s, 625 RPCs a cell, 1.60 CPU-ms per RPC" in lines
    assert "conventions: 1 cells, mean 2.00 CPU-s" in lines
    assert "redis: 2 cells, mean 2.25 CPU-s, max 3.00, 1500 RPCs a cell, 1.50 CPU-ms per RPC" in lines
    # The per-RPC figure counts only the cells that counted their RPCs (5.0 CPU-s over 3250 RPCs).
    assert "all: 4 cells, mean 1.75 CPU-s, total 7.0 CPU-s, 1083 RPCs a cell, 1.54 CPU-ms per RPC" in lines
    assert lines[-1] == "with Pants: 11.0 CPU-s for the run, 2.75 CPU-s per cell (Pants' share 1.00 per cell, one Pants start-up included)"
