"""How each status and check is named in every report, so that the formats agree."""

from __future__ import annotations

from prism_accept.cellname import CellName, Column

SYMBOL = {"pass": "✓", "deviation": "✓*", "fail": "✗", "error": "!", "skip": "-"}
LABEL = {"pass": "PASS", "deviation": "PASS*", "fail": "FAIL", "error": "ERROR", "skip": "SKIP"}
EMOJI = {"pass": "✅", "deviation": "⚠️", "fail": "❌", "error": "💥", "skip": "⏭️"}


def check_title(cell: str) -> str:
    """`model-keyvalue` -> "keyvalue data model", `chaos-queue` -> "queue under faults"."""
    return CellName.parse(cell).title


def cell_text(r) -> str:
    """What a grid cell says: "PASS", "PASS (2 skipped)", "PASS* (1 known)", "FAIL 2/19" (cases
    failed of all), "ERROR 19/19" (cases in error of all; an ERROR counts errors, not failures)."""
    total = len(r.cases)
    if r.status in ("pass", "deviation"):
        notes = ([f"{r.deviations} known"] if r.deviations else []) + ([f"{r.skipped} skipped"] if r.skipped else [])
        return LABEL[r.status] + (f" ({', '.join(notes)})" if notes else "")
    if r.status in ("fail", "error") and total:
        return f"{LABEL[r.status]} {sum(c.status == r.status for c in r.cases)}/{total}"
    return LABEL[r.status]


def partial_line(matrix) -> str:
    return f"Partial matrix: only the cells of {matrix.partial}, not every cell of every backend"


def summary(r) -> str:
    """ "20 cases", "19 cases, 1 known deviation", "SKIP: reason"."""
    if r.status in ("pass", "deviation"):
        parts = [f"{r.passed} cases"]
        if r.deviations:
            parts.append(f"{r.deviations} known deviation{'s' if r.deviations != 1 else ''}")
        if r.skipped:
            parts.append(f"{r.skipped} skipped")
        return ", ".join(parts)
    return f"{LABEL[r.status]}: {r.reason}"


def totals_line(matrix) -> str:
    """Interface cells by status: a SKIP or a known deviation is never counted as a pass."""
    counts = matrix.status_counts("interface")
    total = sum(counts.values())
    extra = "".join(f", {n} {LABEL[s]}" for s, n in counts.items() if n and s != "pass")
    backends = len({Column.parse(c).backend for c in matrix.cells})
    variants = sum(bool(Column.parse(c).variant) for c in matrix.cells)
    on = f" across {backends} backends" + (f" and {variants} server variant{'s' if variants != 1 else ''}" if variants else "")
    return f"{counts['pass']}/{total} interfaces PASS{extra}{on}"
