"""The compliance reports: one module per format, all from one `Matrix`."""

from __future__ import annotations

import json
from pathlib import Path

from prism_accept.reports import perf as perf_section
from prism_accept.reports.faults import render_faults
from prism_accept.reports.html import render_html
from prism_accept.reports.json_report import to_json
from prism_accept.reports.junit import merge_reports
from prism_accept.reports.markdown import render_markdown


def write_all(matrix, reports: Path, out: Path) -> list[Path]:
    """Write matrix.json, matrix.md, matrix.html, faults.md and junit.xml into `out`; return their paths."""
    out.mkdir(parents=True, exist_ok=True)
    paths = {name: out / name for name in ("matrix.json", "matrix.md", "matrix.html", "faults.md", "junit.xml")}
    perf = out.parent / "perf"  # dist/perf/ beside dist/compliance/: the perf section (reports/perf.py)
    paths["matrix.json"].write_text(json.dumps(perf_section.matrix_json(to_json(matrix), perf), indent=2) + "\n")
    paths["matrix.md"].write_text(perf_section.matrix_markdown(render_markdown(matrix), perf))
    paths["matrix.html"].write_text(perf_section.matrix_html(render_html(matrix), perf))
    paths["faults.md"].write_text(render_faults(matrix))
    merge_reports(matrix, reports, paths["junit.xml"])
    return list(paths.values())
