"""The text matrix in RFC-015's shape, with what it certifies and each known deviation."""

from __future__ import annotations

from prism_accept.cellname import INTERFACE, UNDECLARED
from prism_accept.reports.engines import engine_coverage
from prism_accept.reports.labels import LABEL, SYMBOL, check_title, partial_line, summary, totals_line


def _certifies(matrix, backend: str) -> list[str]:
    c = matrix.certifies(backend)
    lines = []
    if c["variant"]:
        about = f": {c['variant_description']}" if c["variant_description"] else ""
        lines.append(f"  server variant {c['variant']} of {c['backend']}{about}")
    if c["plugin"]:
        lines.append(f"  plugin: {', '.join(c['plugin'])}")
    if c["backend_version"]:
        lines.append(f"  server: {', '.join(c['backend_version'])}")
    if c["instance"]:
        lines.append(f"  instance: {', '.join(c['instance'])}")
    if c["first_run"]:
        ran = c["first_run"] if c["first_run"] == c["last_run"] else f"{c['first_run']} .. {c['last_run']}"
        lines.append(f"  ran: {ran}")
    return lines


def render_text(matrix) -> str:
    lines = ["Interface Compliance Matrix", "===========================", f"Suite: {matrix.commit}; report written {matrix.generated_at}"]
    if matrix.partial:
        lines.append(partial_line(matrix))
    for backend, row in matrix.cells.items():
        interfaces = matrix.interfaces(backend)
        counts = {s: sum(r.status == s for r in interfaces.values()) for s in LABEL}
        extra = "".join(f", {n} {LABEL[s]}" for s, n in counts.items() if n and s != "pass")
        lines.append(f"Backend: {backend} ({counts['pass']}/{len(interfaces)} interfaces PASS{extra})")
        lines.extend(_certifies(matrix, backend))
        skip_reasons = {r.reason for r in row.values() if r.status == "skip"}
        shared_skip = len(skip_reasons) == 1 and all(r.status == "skip" for r in row.values())
        if shared_skip:
            lines.append(f"  every cell SKIP: {skip_reasons.pop()}")
        for cell, r in row.items():
            title = cell if r.kind == INTERFACE.name else f"{check_title(cell)}:"
            if r.status == "skip" and shared_skip:
                detail = "SKIP"
            elif r.kind == UNDECLARED.name and r.status == "pass":
                detail = f"other interfaces answer UNIMPLEMENTED ({max(r.passed - 1, 0)} checked), plugin interfaces match the registry"
            elif r.status in ("pass", "deviation"):
                detail = f"({summary(r)})" if r.kind == INTERFACE.name else summary(r)
            else:
                detail = summary(r)
            lines.append(
                f"  {SYMBOL[r.status]} {title}  {detail}" if r.kind == INTERFACE.name else f"  {SYMBOL[r.status]} {title} {detail}"
            )
            for case in r.known_deviations:
                lines.append(f"      known deviation {case.name}: {case.message}")
    lines.append(f"Total: {totals_line(matrix)}")
    if not matrix.partial:
        lines.append(f"Engines: {engine_coverage(matrix).line()}")
    cases = matrix.case_counts()
    lines.append(f"Known deviations: {cases['deviations']} cases (strict expected failures, not passes)")
    # Last, alone on its line, in the shape CI systems read as the run's count.
    lines.append(f"Cases: {cases['passed']} passed, {cases['failed']} failed, {cases['skipped']} skipped")
    return "\n".join(lines)
