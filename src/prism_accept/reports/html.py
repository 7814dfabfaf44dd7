"""matrix.html: one self-contained page (no external file, no network), a backend x interface
grid grouped by data model; a click on a cell opens its cases and, for a failure, the
operation, what it got and what it wanted."""

from __future__ import annotations

import re
from html import escape

from prism_accept.reports.coverage_link import coverage_link
from prism_accept.reports.engines import engine_coverage
from prism_accept.reports.labels import LABEL, cell_text, check_title, partial_line, totals_line
from prism_accept.reports.layout import groups

STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #1b1b1b; }
h1 { font-size: 1.4em; margin: 0 0 .3em; }
.certifies { color: #444; margin: 0 0 1em; }
table { border-collapse: collapse; }
th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: left; vertical-align: top; }
tr.group th { background: #eef1f5; font-size: .95em; }
td.missing { color: #999; text-align: center; }
button.cell { border: 0; border-radius: 3px; padding: 2px 8px; cursor: pointer; font: inherit; min-width: 7em; }
.s-pass { background: #c8ecc9; } .s-deviation { background: #ffe8a3; } .s-fail { background: #f7c0c0; }
.s-error { background: #f3a3c9; } .s-skip { background: #dedede; }
button.with-skips { background: repeating-linear-gradient(135deg, #c8ecc9 0 6px, #e4e4e4 6px 12px); }
p.partial { background: #fff3cd; border: 1px solid #e0c060; padding: .3em .6em; }
section.detail { border: 1px solid #999; padding: .5em 1em; margin: 1em 0; }
section.detail h2 { font-size: 1.1em; margin: .2em 0; }
pre { white-space: pre-wrap; max-height: 20em; overflow: auto; background: #f6f6f6; padding: .4em; }
.legend span { padding: 1px 6px; margin-right: .4em; border-radius: 3px; }
"""

SCRIPT = """
document.querySelectorAll('button.cell').forEach(function (b) {
  b.addEventListener('click', function () {
    var target = document.getElementById(b.dataset.detail);
    var open = !target.hidden;
    document.querySelectorAll('section.detail').forEach(function (s) { s.hidden = true; });
    document.querySelectorAll('button.cell').forEach(function (o) { o.setAttribute('aria-expanded', 'false'); });
    if (!open) { target.hidden = false; b.setAttribute('aria-expanded', 'true'); target.scrollIntoView({block: 'nearest'}); }
  });
});
"""


def _id(backend: str, cell: str) -> str:
    return "detail-" + re.sub(r"[^A-Za-z0-9_-]", "-", f"{backend}-{cell}")


def _button(backend: str, cell: str, r) -> str:
    text = cell_text(r)
    skips = " with-skips" if r.status in ("pass", "deviation") and r.skipped else ""
    return (
        f'<button class="cell s-{r.status}{skips}" data-detail="{_id(backend, cell)}" aria-expanded="false" '
        f'title="{escape(backend)} / {escape(cell)}: {escape(r.reason or LABEL[r.status])}">{escape(text)}</button>'
    )


def _case_row(case, shared_error: str = "") -> str:
    label = "known deviation" if case.status == "deviation" else case.status.upper()
    if shared_error and case.status == "error":
        return f'<tr class="case c-error"><td>{escape(case.name)}</td><td class="s-error">ERROR</td><td>the error above</td></tr>'
    if case.operation:
        what = (
            f'<div class="operation"><b>operation</b> {escape(case.operation)}</div>'
            f'<div class="got"><b>got</b> {escape(case.got)}</div><div class="want"><b>want</b> {escape(case.want)}</div>'
        )
    else:
        what = escape(case.message)
    if case.status in ("fail", "error") and case.detail:
        what += f"<details><summary>full output</summary><pre>{escape(case.detail)}</pre></details>"
    return f'<tr class="case c-{case.status}"><td>{escape(case.name)}</td>' f'<td class="s-{case.status}">{label}</td><td>{what}</td></tr>'


def _detail(backend: str, cell: str, r) -> str:
    failed, errors = (sum(c.status == s for c in r.cases) for s in ("fail", "error"))
    counts = f"{r.passed} passed, {failed} failed, {errors} in error, {r.skipped} skipped, {r.deviations} known deviations"
    facts = [f"status: {LABEL[r.status]}", counts]
    facts += [
        f"{k}: {escape(v)}"
        for k, v in (("instance", r.instance), ("server", r.backend_version), ("plugin", r.plugin), ("ran", r.timestamp))
        if v
    ]
    errors = {c.message for c in r.cases if c.status == "error"}
    shared = errors.pop() if len(errors) == 1 and sum(c.status == "error" for c in r.cases) > 1 else ""
    rows = "".join(_case_row(c, shared) for c in r.cases) or f'<tr><td colspan="3">{escape(r.reason)}</td></tr>'
    said = (
        f'<p class="error-once">Every case in error: {escape(shared)}</p>' if shared else (f"<p>{escape(r.reason)}</p>" if r.reason else "")
    )
    return (
        f'<section class="detail" id="{_id(backend, cell)}" hidden><h2>{escape(backend)} / {escape(cell)}</h2>'
        f'<p>{"; ".join(facts)}</p>' + said + f"<table><tr><th>case</th><th>result</th><th>details</th></tr>{rows}</table></section>"
    )


def render_html(matrix) -> str:
    backends = list(matrix.cells)
    head = "".join(f"<th>{escape(b)}</th>" for b in backends)
    body = []
    for group, rows in groups(matrix):
        body.append(f'<tr class="group"><th colspan="{len(backends) + 1}">{escape(group)}</th></tr>')
        for key in rows:
            title = check_title(key)
            tds = []
            for b in backends:
                r = matrix.cells[b].get(key)
                tds.append('<td class="missing">—</td>' if r is None else f"<td>{_button(b, key, r)}</td>")
            body.append(f"<tr><th>{escape(title)}</th>{''.join(tds)}</tr>")
    certifies = []
    for b in backends:
        c = matrix.certifies(b)
        ran = c["first_run"] if c["first_run"] == c["last_run"] else f"{c['first_run']} .. {c['last_run']}"
        certifies.append(
            f"<tr><td>{escape(b)}</td><td>{escape(', '.join(c['plugin']))}</td><td>{escape(', '.join(c['backend_version']))}</td>"
            f"<td>{escape(', '.join(c['instance']))}</td><td>{escape(ran)}</td></tr>"
        )
    details = "".join(_detail(b, cell, r) for b, row in matrix.cells.items() for cell, r in row.items())
    legend = "".join(f'<span class="s-{s}">{LABEL[s]}</span>' for s in LABEL)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Interface Compliance Matrix</title><style>{STYLE}</style></head>
<body>
<h1>Interface Compliance Matrix</h1>
<p class="totals"><b>{escape(totals_line(matrix))}</b></p>
{"" if matrix.partial else f'<p class="engines">Engines: {escape(engine_coverage(matrix).line())}</p>'}
{f'<p class="partial">{escape(partial_line(matrix))}</p>' if matrix.partial else ""}
<p class="certifies">Suite commit <code class="commit">{escape(matrix.commit)}</code>; report written {escape(matrix.generated_at)}.</p>
<p class="legend">{legend} PASS* = passed except known deviations declared in the backend's registry file. Click a cell for its cases.</p>
{coverage_link(matrix)}
<table class="grid"><thead><tr><th></th>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>
{details}
<h2>What this certifies</h2>
<table class="certify"><tr><th>backend</th><th>plugin</th><th>server</th><th>instance</th><th>ran</th></tr>{''.join(certifies)}</table>
<script>{SCRIPT}</script>
</body></html>
"""
