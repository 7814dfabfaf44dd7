"""The perf section of the reports, from a recorded dist/perf/ (no timing): the one line
without results, the table with ratio, verdicts and regressions, the inlined plots."""

from __future__ import annotations

import json
from typing import Any

from prism_accept.perf.stats import estimate
from prism_accept.reports import perf


def entry(workload: str, path: str, p99: list[float], **extra) -> dict:
    runs: list[dict[str, Any]] = [
        {
            "p50_ms": v / 4,
            "p99_ms": v,
            "max_ms": v * 2,
            "throughput": 1000 / v,
            "cpu_us_per_op": None,
            "spectrum": [[50.0, v / 4], [99.0, v], [100.0, v * 2]],
        }
        for v in p99
    ]
    figures = {k: estimate([r[k] for r in runs]).as_dict() for k in ("p50_ms", "p99_ms", "max_ms", "throughput")}
    return {
        "run_id": "r2",
        "time": "2026-12-07T00:31:00Z",
        "machine": {"id": "m", "description": "d"},
        "backend": "redis",
        "workload": workload,
        "path": path,
        "repeats": len(runs),
        "figures": figures,
        "runs": runs,
        "notes": [],
        **extra,
    }


def recorded(tmp_path):
    plugin = entry(
        "ycsb-a",
        "plugin",
        [2.0, 2.2, 2.1],
        ratio={"p50_ms": 3.5},
        baseline_run="r1",
        slo={"p99_ms": {"target": 5.0, "verdict": "meets"}},
        rfc_015={"p99_ms": {"target": 5.0, "verdict": "meets"}},
        regressions=[{"figure": "p99_ms", "now": 2.1, "before": 1.0, "change": 1.1, "baseline_run": "r1"}],
    )
    direct = entry("ycsb-a", "direct", [0.5, 0.6, 0.55])
    before = {**entry("ycsb-a", "plugin", [1.0, 1.0, 1.1]), "run_id": "r1", "time": "2026-12-07T00:30:00Z"}
    latest = {
        "run_id": "r2",
        "time": plugin["time"],
        "commit": "abc",
        "machine": plugin["machine"],
        "skipped": {"mqtt": "no instance"},
        "entries": [plugin, direct],
    }
    (tmp_path / "latest.json").write_text(json.dumps(latest))
    (tmp_path / "history.jsonl").write_text("\n".join(json.dumps(e) for e in (before, plugin, direct)) + "\n")
    return tmp_path


def test_without_results_each_report_says_so_in_one_line(tmp_path):
    assert perf.markdown_section(tmp_path) == perf.NO_RESULTS + "\n"
    assert perf.json_section(tmp_path) == {"results": None, "note": perf.NO_RESULTS}
    assert perf.NO_RESULTS in perf.html_section(tmp_path)
    assert perf.matrix_html("<html><body>grid</body></html>", tmp_path).endswith("</section></body></html>")


def test_the_markdown_table_has_figures_ratio_verdicts_and_the_regression(tmp_path):
    text = perf.markdown_section(recorded(tmp_path))
    row = next(line for line in text.splitlines() if line.startswith("| redis | ycsb-a"))
    assert "2.100 ±" in row and "| 0.550 ±" in row and "| 3.50 |" in row
    assert "p99_ms meets (5)" in row and "REGRESSION p99_ms +110%" in row
    assert "mqtt: not measured: no instance" in text
    assert "- **redis ycsb-a**: p99_ms 1.000 -> 2.100 (+110%)" in text


def test_the_json_section_drops_the_per_repeat_runs(tmp_path):
    got = perf.json_section(recorded(tmp_path))
    assert [e["path"] for e in got["entries"]] == ["plugin", "direct"] and all("runs" not in e for e in got["entries"])


def test_the_html_section_inlines_both_plots_as_svg(tmp_path):
    page = perf.html_section(recorded(tmp_path))
    assert page.count("<svg") == 2 and "http" not in page.split("<svg")[0]
    assert "class='bad'" in page  # the regressed row is marked
