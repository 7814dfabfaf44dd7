"""matrix.md: the table a GitHub job summary shows, with what it certifies, every known
deviation and every failure."""

from __future__ import annotations

from prism_accept.reports.engines import engine_coverage
from prism_accept.reports.labels import EMOJI, LABEL, cell_text, check_title, partial_line, totals_line
from prism_accept.reports.layout import groups

_MARKUP = str.maketrans({c: "\\" + c for c in "\\`*_[]<>|~#!"} | {"\n": " "})


def _escape(text: str) -> str:
    """Text as it reads, whatever it holds: GFM's markup characters backslash-escaped (a PASS*
    stays PASS*, not emphasis), on one line (a table cell)."""
    return text.translate(_MARKUP)


def _cell(r) -> str:
    if r is None:
        return "—"
    return f"{EMOJI[r.status]} {_escape(cell_text(r))}"


def render_markdown(matrix) -> str:
    backends = list(matrix.cells)
    lines = ["## Interface Compliance Matrix", "", f"**{_escape(totals_line(matrix))}**", ""]
    if not matrix.partial:
        lines += [_escape(f"Engines: {engine_coverage(matrix).line()}"), ""]
    if matrix.partial:
        lines += [f"> **{_escape(partial_line(matrix))}**", ""]
    lines.append(
        f"Suite commit `{matrix.commit}`; report written {_escape(matrix.generated_at)}. "
        + _escape("PASS* is a pass with known deviations (declared in the backend's registry file); a SKIP never counts as a pass.")
    )
    lines += ["", "| model | interface | " + " | ".join(backends) + " |", "|---|---|" + "---|" * len(backends)]
    for group, rows in groups(matrix):
        for key in rows:
            title = check_title(key)
            cells = [_cell(matrix.cells[b].get(key)) for b in backends]
            lines.append(f"| {_escape(group)} | {_escape(title)} | " + " | ".join(cells) + " |")
    lines += ["", "### What this certifies", "", "| backend | plugin | server | instance | ran |", "|---|---|---|---|---|"]
    for b in backends:
        c = matrix.certifies(b)
        ran = c["first_run"] if c["first_run"] == c["last_run"] else f"{c['first_run']} .. {c['last_run']}"
        lines.append(
            f"| {_escape(b)} | {_escape(', '.join(c['plugin']))} | {_escape(', '.join(c['backend_version']))}"
            f" | {_escape(', '.join(c['instance']))} | {_escape(ran)} |"
        )
    deviations = [(b, cell, case) for b, row in matrix.cells.items() for cell, r in row.items() for case in r.known_deviations]
    if deviations:
        lines += ["", "### Known deviations", "", "| backend | cell | case | reason |", "|---|---|---|---|"]
        lines += [f"| {_escape(b)} | {_escape(cell)} | {_escape(case.name)} | {_escape(case.message)} |" for b, cell, case in deviations]
    problems = [(b, cell, r) for b, row in matrix.cells.items() for cell, r in row.items() if r.status in ("fail", "error", "skip")]
    skips = [
        (b, cell, case)
        for b, row in matrix.cells.items()
        for cell, r in row.items()
        if r.status in ("pass", "deviation")
        for case in r.cases
        if case.status == "skip"
    ]
    if problems:
        lines += ["", "### Failures, errors and skips", "", "| backend | cell | status | reason |", "|---|---|---|---|"]
        lines += [f"| {_escape(b)} | {_escape(cell)} | {_escape(LABEL[r.status])} | {_escape(r.reason)} |" for b, cell, r in problems]
    if skips:
        lines += [
            "",
            "<details><summary>Skipped cases of passing cells</summary>",
            "",
            "| backend | cell | case | reason |",
            "|---|---|---|---|",
        ]
        lines += [f"| {_escape(b)} | {_escape(cell)} | {_escape(case.name)} | {_escape(case.message)} |" for b, cell, case in skips]
        lines += ["", "</details>"]
    cases = matrix.case_counts()
    lines += [
        "",
        f"Cases: {cases['passed']} passed, {cases['failed']} failed, {cases['skipped']} skipped, {cases['deviations']} known deviations.",
        "",
    ]
    return "\n".join(lines)
