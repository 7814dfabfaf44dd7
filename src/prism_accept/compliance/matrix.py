"""The compliance matrix, built from the per-cell JUnit reports of a Pants run.

Pants writes one report per test target (`[test] report = true`), cached cells included, so the
matrix reflects every cell whether it ran now or was reused from the cache. Printed in
RFC-015's shape; written as JSON to dist/compliance/matrix.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass
from pathlib import Path

from prism_accept.compliance.cell import UNDECLARED
from prism_accept.registry import BackendDeclaration, load_all

CELL_PACKAGE = "tests.compliance"  # the address path of the generated cells, as Pants names reports
SYMBOLS = {"pass": "✓", "fail": "✗", "error": "!", "skip": "-"}


@dataclass
class CellResult:
    status: str  # pass | fail | skip | error
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    reason: str = ""
    instance: str = ""


def report_path(reports: Path, backend: str, cell: str) -> Path:
    """Pants names the report of tests/compliance:<backend>#<cell> like this."""
    return reports / f"{CELL_PACKAGE}.{backend}@{cell}.xml"


def _first_line(text: str | None, limit: int = 600) -> str:
    line = next((l.strip() for l in (text or "").splitlines() if l.strip()), "")
    return line[:limit]


def read_report(path: Path) -> CellResult:
    if not path.is_file():
        return CellResult("error", reason="no result: the cell did not run (see the Pants output)")
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as e:
        return CellResult("error", reason=f"unreadable report {path}: {e}")
    suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
    passed = failed = skipped = errors = 0
    fail_reason = error_reason = skip_reason = ""
    instance = ""
    for suite in suites:
        for prop in suite.iter("property"):
            if prop.get("name") == "instance":
                instance = prop.get("value", "")
        for case in suite.iter("testcase"):
            name = case.get("name", "?")
            failure, error, skip = case.find("failure"), case.find("error"), case.find("skipped")
            if failure is not None:
                failed += 1
                fail_reason = fail_reason or f"{name}: {_first_line(failure.get('message'))}"
            elif error is not None:
                errors += 1
                error_reason = error_reason or f"{name}: {_first_line(error.get('message'))}"
            elif skip is not None:
                skipped += 1
                skip_reason = skip_reason or _first_line(skip.get("message"))
            else:
                passed += 1
    if errors:
        return CellResult("error", passed, failed + errors, skipped, error_reason, instance)
    if failed:
        return CellResult("fail", passed, failed, skipped, fail_reason, instance)
    if passed == 0 and skipped:
        return CellResult("skip", 0, 0, skipped, skip_reason, instance)
    if passed == 0:
        return CellResult("error", reason="no case ran", instance=instance)
    reason = f"{skipped} case(s) skipped: {skip_reason}" if skipped else ""
    return CellResult("pass", passed, 0, skipped, reason, instance)


def build_matrix(backends: dict[str, BackendDeclaration], reports: Path, partial: bool = False) -> dict[str, dict[str, CellResult]]:
    matrix: dict[str, dict[str, CellResult]] = {}
    for name in sorted(backends):
        row = {}
        for cell in (*backends[name].implements, UNDECLARED):
            if partial and not report_path(reports, name, cell).is_file():
                continue
            row[cell] = read_report(report_path(reports, name, cell))
        if row:
            matrix[name] = row
    return matrix


def render(matrix: dict[str, dict[str, CellResult]]) -> str:
    lines = ["Interface Compliance Matrix", "==========================="]
    total_pass = total_cells = 0
    for backend, row in matrix.items():
        cells = {k: v for k, v in row.items() if k != UNDECLARED}
        passing = sum(r.status == "pass" for r in cells.values())
        others = {s: sum(r.status == s for r in cells.values()) for s in ("fail", "error", "skip")}
        extra = "".join(f", {n} {s.upper()}" for s, n in others.items() if n)
        lines.append(f"Backend: {backend} ({passing}/{len(cells)} interfaces PASS{extra})")
        instance = next((r.instance for r in row.values() if r.instance), "")
        if instance:
            lines.append(f"  instance: {instance}")
        skip_reasons = {r.reason for r in row.values() if r.status == "skip"}
        shared_skip = len(skip_reasons) == 1 and all(r.status == "skip" for r in row.values())
        if shared_skip:
            lines.append(f"  every cell SKIP: {skip_reasons.pop()}")
        for interface, r in cells.items():
            if r.status == "pass":
                detail = f"  ({r.passed} cases{', ' + str(r.skipped) + ' skipped' if r.skipped else ''})"
            else:
                detail = f"  {r.status.upper()}" + ("" if shared_skip else f": {r.reason}")
            lines.append(f"  {SYMBOLS[r.status]} {interface}{detail}")
        if UNDECLARED in row:
            r = row[UNDECLARED]
            if r.status == "pass":
                text = f"other interfaces answer UNIMPLEMENTED ({max(r.passed - 1, 0)} checked), plugin interfaces match the registry"
            else:
                text = r.status.upper() + ("" if shared_skip else f": {r.reason}")
            lines.append(f"  {SYMBOLS[r.status]} undeclared: {text}")
        total_pass += passing
        total_cells += len(cells)
    lines.append(f"Total: {total_pass}/{total_cells} interfaces PASS across {len(matrix)} backends")
    return "\n".join(lines)


def case_totals(reports: Path) -> tuple[int, int, int]:
    """Passed, failed (failures and errors), skipped cases over every report of the run."""
    passed = failed = skipped = 0
    for path in sorted(reports.glob("*.xml")):
        r = read_report(path)
        passed, failed, skipped = passed + r.passed, failed + r.failed, skipped + r.skipped
        if r.status == "error" and not r.failed:
            failed += 1
    return passed, failed, skipped


def to_json(matrix: dict[str, dict[str, CellResult]]) -> dict:
    return {b: {c: {k: v for k, v in asdict(r).items() if k != "instance" or v} for c, r in row.items()} for b, row in matrix.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=Path, default=Path("dist/test/reports"))
    parser.add_argument("--registry", type=Path, default=None, help="registry/backends directory")
    parser.add_argument("--out", type=Path, default=Path("dist/compliance/matrix.json"))
    parser.add_argument("--partial", action="store_true", help="leave out cells that have no report (a run of some cells only)")
    args = parser.parse_args(argv)
    matrix = build_matrix(load_all(args.registry), args.reports, args.partial)
    print(render(matrix))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(to_json(matrix), indent=2, sort_keys=True) + "\n")
    passed, failed, skipped = case_totals(args.reports)
    print(f"matrix: {args.out}")
    print(f"cases: {passed} passed, {failed} failed, {skipped} skipped")
    bad = [f"{b}/{c}" for b, row in matrix.items() for c, r in row.items() if r.status in ("fail", "error")]
    return 1 if bad or failed else 0


if __name__ == "__main__":
    sys.exit(main())
