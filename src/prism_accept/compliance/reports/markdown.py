"""matrix.md: the table a GitHub job summary shows, with what it certifies, every known
deviation and every failure."""

from __future__ import annotations

from prism_accept.compliance.reports.labels import EMOJI, LABEL, check_title, totals_line
from prism_accept.compliance.reports.layout import groups


def _escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _cell(r) -> str:
    if r is None:
        return "—"
    if r.status == "deviation":
        return f"{EMOJI[r.status]} {LABEL[r.status]} ({r.deviations} known)"
    return f"{EMOJI[r.status]} {LABEL[r.status]}"


def render_markdown(matrix) -> str:
    backends = list(matrix.cells)
    lines = ["## Interface Compliance Matrix", "", f"**{totals_line(matrix)}**", ""]
    lines.append(
        f"Suite commit `{matrix.commit}`; report written {matrix.generated_at}. "
        "PASS* is a pass with known deviations (declared in the backend's registry file); a SKIP never counts as a pass."
    )
    lines += ["", "| model | interface | " + " | ".join(backends) + " |", "|---|---|" + "---|" * len(backends)]
    for group, rows in groups(matrix):
        for key in rows:
            title = check_title(key) if key.startswith("model-") or group == "checks" else key
            cells = [_cell(matrix.cells[b].get(key)) for b in backends]
            lines.append(f"| {group} | {title} | " + " | ".join(cells) + " |")
    lines += ["", "### What this certifies", "", "| backend | plugin | server | instance | ran |", "|---|---|---|---|---|"]
    for b in backends:
        c = matrix.certifies(b)
        ran = c["first_run"] if c["first_run"] == c["last_run"] else f"{c['first_run']} .. {c['last_run']}"
        lines.append(
            f"| {b} | {_escape(', '.join(c['plugin']))} | {_escape(', '.join(c['backend_version']))}"
            f" | {_escape(', '.join(c['instance']))} | {ran} |"
        )
    deviations = [(b, cell, case) for b, row in matrix.cells.items() for cell, r in row.items() for case in r.known_deviations]
    if deviations:
        lines += ["", "### Known deviations", "", "| backend | cell | case | reason |", "|---|---|---|---|"]
        lines += [f"| {b} | {cell} | {case.name} | {_escape(case.message)} |" for b, cell, case in deviations]
    problems = [(b, cell, r) for b, row in matrix.cells.items() for cell, r in row.items() if r.status in ("fail", "error", "skip")]
    if problems:
        lines += ["", "### Failures, errors and skips", "", "| backend | cell | status | reason |", "|---|---|---|---|"]
        lines += [f"| {b} | {cell} | {LABEL[r.status]} | {_escape(r.reason)} |" for b, cell, r in problems]
    cases = matrix.case_counts()
    lines += [
        "",
        f"Cases: {cases['passed']} passed, {cases['failed']} failed, {cases['skipped']} skipped, {cases['deviations']} known deviations.",
        "",
    ]
    return "\n".join(lines)
