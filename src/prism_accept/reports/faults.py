"""faults.md: what every chaos cell's faults did, per backend, data model and fault: the
answers during the fault, when health said NOT_SERVING, the recovery time, and the delivery
accounting (acknowledged, lost, duplicated, never written). Read from the `fault` property each
chaos case records (prism_accept.chaos.cell)."""

from __future__ import annotations

import json

from prism_accept.cellname import CHAOS, CellName
from prism_accept.reports.labels import LABEL

COLUMNS = ("column", "model", "fault", "result", "answers during the fault", "health", "NOT_SERVING after", "recovered in")
HEADER = "| " + " | ".join((*COLUMNS, "acked", "lost", "dup", "never written")) + " |"


def fault_rows(matrix) -> list[str]:
    rows = []
    for column in sorted(matrix.cells):
        for cell, r in sorted(matrix.cells[column].items()):
            name = CellName.parse(cell)
            if name.kind is not CHAOS:
                continue
            for case in r.cases:
                fault = case.name.partition("[")[2].rstrip("]") or case.name
                seen = case.properties.get("fault")
                if case.status == "skip" or not seen:
                    rows.append(f"| {column} | {name.subject} | {fault} | {LABEL[case.status]} | {case.message[:120]} | | | | | | | |")
                    continue
                f = json.loads(seen)

                def counts(d: dict) -> str:
                    return ", ".join(f"{k} {v}" for k, v in sorted(d.items())) or "-"

                def seconds(v) -> str:
                    return "-" if v is None else f"{v:.2f} s"

                rows.append(
                    f"| {column} | {name.subject} | {fault} | {LABEL[case.status]} | {counts(f['during'])} | {counts(f['health'])} | "
                    f"{seconds(f['detected_s'])} | {seconds(f['recovery_s'])} | "
                    f"{f['acked']} | {f['lost']} | {f['duplicated']} | {f['unexpected']} |"
                )
    return rows


def render_faults(matrix) -> str:
    rows = fault_rows(matrix)
    if not rows:
        return "# Faults\n\nNo chaos cell in this run.\n"
    return "\n".join(["# Faults (chaos cells)", "", HEADER, "|" + "---|" * 12, *rows, ""])
