"""The compliance reports: one module per format, all from one `Matrix`."""

from __future__ import annotations

import json
from pathlib import Path

from prism_accept.reports.html import render_html
from prism_accept.reports.json_report import to_json
from prism_accept.reports.junit import merge_reports
from prism_accept.reports.markdown import render_markdown


def write_all(matrix, reports: Path, out: Path) -> list[Path]:
    """Write matrix.json, matrix.md, matrix.html and junit.xml into `out`; return their paths."""
    out.mkdir(parents=True, exist_ok=True)
    paths = {name: out / name for name in ("matrix.json", "matrix.md", "matrix.html", "junit.xml")}
    paths["matrix.json"].write_text(json.dumps(to_json(matrix), indent=2) + "\n")
    paths["matrix.md"].write_text(render_markdown(matrix))
    paths["matrix.html"].write_text(render_html(matrix))
    merge_reports(matrix, reports, paths["junit.xml"])
    return list(paths.values())
