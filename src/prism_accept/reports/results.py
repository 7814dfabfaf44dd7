"""The results of a compliance run, read from the JUnit reports Pants writes.

Pants writes one report per test process (`[test] report = true`), cached cells included, so
these results cover every cell whether it ran now or came from a cache. A process runs one cell,
or a batch of a column's cells (`[prism-cells] batch`): a cell names its properties
`<column>#<cell> <name>` and its JUnit class (`<column>#<cell> class`), so `cell_reports` splits
a report into its cells. Every string read from a report is redacted (no password in a URL survives).

A cell's status is one of:
- pass: every case passed (a skipped case inside a passing cell is counted as skipped, never passed);
- deviation: every case passed except known deviations (strict xfails declared in the backend's
  YAML); never a plain pass;
- fail: a case failed (an unexpected pass of a known deviation is a failure);
- error: a case errored, the report is missing or unreadable, or no case ran;
- skip: every case was skipped (e.g. no instance), with the reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from junitparser import Error, Failure, JUnitXml, JUnitXmlError, Skipped, TestSuite

from prism_accept.cellname import CellAddress, CellName, Column, kind_of
from prism_accept.redact import redact

XFAIL_TYPE = "pytest.xfail"
STATUSES = ("pass", "deviation", "fail", "error", "skip")

_GOT_WANT = re.compile(r"^(?:[A-Za-z_.]*Error: )?(?P<operation>.+?): got (?P<got>.*), want (?P<want>.*)$")


def report_path(reports: Path, column: str, cell: str) -> Path:
    """Where Pants writes the report of tests/compliance:<column>#<cell> (column: a backend, or
    <backend>.<variant>; prism_accept.cellname.CellAddress spells it)."""
    return reports / CellAddress(Column.parse(column), CellName.parse(cell)).report_name


def parse_report_name(path: Path) -> tuple[str, str] | None:
    """(column, cell) of a cell's report file (`redis.valkey-8.1`, `keyvalue_basic`), or None."""
    address = CellAddress.from_report(path.name)
    return (str(address.column), str(address.cell)) if address else None


@dataclass
class CaseResult:
    name: str
    status: str  # pass | fail | error | skip | deviation
    message: str = ""  # the reason of a skip or deviation, the first line of a failure
    detail: str = ""  # the failure's full text (traceback), redacted
    operation: str = ""  # for a `check(operation, got, want)` failure
    got: str = ""
    want: str = ""
    time_s: float = 0.0
    properties: dict[str, str] = field(default_factory=dict)  # the case's record_property values, redacted


@dataclass
class CellResult:
    backend: str
    cell: str
    status: str
    variant: str = ""  # the server variant the cell ran on ("" for the backend's own instance)
    engine: str = ""  # the engine the cell exercised (registry `engine:`; "<x> emulation" on an emulating server)
    passed: int = 0
    failed: int = 0  # failures and errors
    skipped: int = 0
    deviations: int = 0
    reason: str = ""
    instance: str = ""
    backend_version: str = ""
    plugin: str = ""
    timestamp: str = ""  # when the cell ran (a cached cell keeps the time of its run)
    cases: list[CaseResult] = field(default_factory=list)

    @property
    def column(self) -> str:
        """The matrix column: `redis`, or `redis.valkey-8.1` for a variant's cell."""
        return str(Column(self.backend, self.variant))

    @property
    def kind(self) -> str:
        """interface | model | conventions | undeclared (prism_accept.cellname)."""
        return kind_of(self.cell)

    @property
    def known_deviations(self) -> list[CaseResult]:
        return [c for c in self.cases if c.status == "deviation"]


def _first_line(text: str | None, limit: int = 600) -> str:
    line = next((row.strip() for row in (text or "").splitlines() if row.strip()), "")
    return line[:limit]


def _case_properties(case) -> dict[str, str]:
    """<testcase><properties><property name= value=/>: what a case recorded (record_property)."""
    found = case._elem.find("properties")
    return {} if found is None else {p.get("name", ""): redact(p.get("value", "")) for p in found.iter("property")}


def _case_result(case) -> CaseResult:
    result = _case_outcome(case)
    result.properties = _case_properties(case)
    return result


def _case_outcome(case) -> CaseResult:
    outcomes = list(case.result)
    time_s = float(case.time or 0.0)
    name = redact(case.name or "")  # a parametrized case's id may quote a URL
    for kind, status in ((Error, "error"), (Failure, "fail")):
        found = next((o for o in outcomes if isinstance(o, kind)), None)
        if found is not None:
            message = redact(_first_line(found.message) or _first_line(found.text))
            result = CaseResult(name, status, message, redact(found.text or ""), time_s=time_s)
            m = _GOT_WANT.match(message)
            if m:
                result.operation, result.got, result.want = m["operation"], m["got"], m["want"]
            return result
    skipped = next((o for o in outcomes if isinstance(o, Skipped)), None)
    if skipped is not None:
        status = "deviation" if skipped.type == XFAIL_TYPE else "skip"
        return CaseResult(name, status, redact(_first_line(skipped.message) or _first_line(skipped.text)), time_s=time_s)
    return CaseResult(name, "pass", time_s=time_s)


def suites_of(path: Path) -> list[TestSuite]:
    """The test suites of a JUnit file, whether its root is <testsuite> or <testsuites>."""
    xml = JUnitXml.fromfile(str(path))
    return [xml] if isinstance(xml, TestSuite) else list(xml)  # type: ignore[list-item]


READ_ERRORS = (JUnitXmlError, OSError, SyntaxError, ValueError)


@dataclass
class CellReport:
    """One cell's part of a JUnit report: its properties (named as the cell recorded them), its
    cases (junitparser TestCase) and when it ran."""

    address: CellAddress
    path: Path
    properties: dict[str, str] = field(default_factory=dict)
    cases: list = field(default_factory=list)
    timestamp: str = ""


def cells_of_file(path: Path) -> list[CellReport]:
    """The cells of one report file (raises READ_ERRORS). A report whose properties name no cell
    is the cell its file name says (a report from before cells named their properties)."""
    cells: dict[CellAddress, CellReport] = {}
    unnamed: list[tuple[dict[str, str], list, str]] = []
    for suite in suites_of(path):
        plain: dict[str, str] = {}
        classes: dict[str, CellAddress] = {}
        timestamp = suite.timestamp or ""
        for prop in suite.properties():
            named = CellAddress.from_property(prop.name or "")
            if named is None:
                plain[prop.name or ""] = prop.value or ""
                continue
            address, name = named
            report = cells.setdefault(address, CellReport(address, path, timestamp=timestamp))
            report.properties[name] = prop.value or ""
            if name == "class":
                classes[prop.value or ""] = address
        cases = list(suite)
        if not classes:
            unnamed.append((plain, cases, timestamp))
            continue
        only = next(iter(classes.values())) if len(set(classes.values())) == 1 else None
        for case in cases:
            owner = classes.get(case.classname or "")
            if owner is None:  # e.g. a cell file that failed to import, in a batch: its own cell
                owner = _cell_of_module(case.classname or case.name or "", classes.values()) or only
            if owner is not None:
                cells.setdefault(owner, CellReport(owner, path, timestamp=timestamp)).cases.append(case)
    if unnamed and not cells:
        named_by_file = CellAddress.from_report(path.name)
        if named_by_file is not None:
            report = CellReport(named_by_file, path)
            for plain, cases, timestamp in unnamed:
                report.properties.update(plain)
                report.cases.extend(cases)
                report.timestamp = report.timestamp or timestamp
            cells[named_by_file] = report
    return list(cells.values())


_CELL_FILE_MODULE = re.compile(r"(?:^|\.)cells\.test_(?P<stem>[A-Za-z0-9_]+)(?:\.|$)")


def _cell_of_module(text: str, known) -> CellAddress | None:
    """The cell whose file `text` (a JUnit class or case name) names, in the column of the other
    cells of the same process."""
    m = _CELL_FILE_MODULE.search(text)
    columns = {a.column for a in known}
    if not m or len(columns) != 1:
        return None
    return CellAddress(columns.pop(), CellName.from_file_stem(m["stem"]))


def cell_reports(reports: Path) -> dict[CellAddress, CellReport | str]:
    """Every cell that a report in `reports` holds -> its part (the newest, when reports of
    several runs hold it), or why a report could not be read (for the cell its name says)."""
    found: dict[CellAddress, CellReport | str] = {}
    for path in sorted(reports.glob("*.xml")) if reports.is_dir() else ():
        try:
            cells = cells_of_file(path)
        except READ_ERRORS as e:
            address = CellAddress.from_report(path.name)
            if address is not None and address not in found:
                found[address] = redact(f"unreadable report {path.name}: {e}")
            continue
        for report in cells:
            old = found.get(report.address)
            if not isinstance(old, CellReport) or report.timestamp >= old.timestamp:
                found[report.address] = report
    return found


def read_report(path: Path, column: str = "", cell: str = "") -> CellResult:
    """The result of one cell in the report file `path`; `column` is the backend or
    <backend>.<variant> (default: what the file's name says)."""
    if not (column and cell):
        column, cell = parse_report_name(path) or ("?", path.stem)
    try:
        parsed = Column.parse(column)
    except ValueError:  # a report file of no cell's name, read as itself
        parsed = Column(column)
    if not path.is_file():
        return CellResult(parsed.backend, cell, "error", parsed.variant, reason="no result: the cell did not run (see the Pants output)")
    try:
        cells = {str(r.address): r for r in cells_of_file(path)}
    except READ_ERRORS as e:
        return CellResult(parsed.backend, cell, "error", parsed.variant, reason=redact(f"unreadable report {path.name}: {e}"))
    address = f"{parsed}#{cell}"
    if address not in cells and len(cells) == 1 and not CellAddress.from_report(path.name):
        address = next(iter(cells))  # a report file of no cell's name holding one cell
    report = cells.get(address)
    if report is None:
        return CellResult(parsed.backend, cell, "error", parsed.variant, reason=f"no result: {path.name} holds no case of the cell")
    return cell_result(report, parsed, cell)


def result_of(found: CellReport | str | None, column: Column, cell: str) -> CellResult:
    """The result of one cell from cell_reports' entry for it."""
    if found is None:
        return CellResult(column.backend, cell, "error", column.variant, reason="no result: the cell did not run (see the Pants output)")
    if isinstance(found, str):
        return CellResult(column.backend, cell, "error", column.variant, reason=found)
    return cell_result(found, column, cell)


def cell_result(report: CellReport, column: Column, cell: str) -> CellResult:
    backend, variant = column.backend, column.variant
    result = CellResult(backend, cell, "error", variant)
    props = {k: redact(v) for k, v in report.properties.items()}
    result.instance = props.get("instance", "")
    result.backend_version = props.get("backend_version", "")
    result.plugin = props.get("plugin", "")
    result.engine = props.get("engine", "")
    result.timestamp = report.timestamp
    result.cases.extend(_case_result(case) for case in report.cases)
    counts = {s: sum(c.status == s for c in result.cases) for s in ("pass", "fail", "error", "skip", "deviation")}
    result.passed, result.skipped, result.deviations = counts["pass"], counts["skip"], counts["deviation"]
    result.failed = counts["fail"] + counts["error"]
    first = {s: next((c for c in result.cases if c.status == s), CaseResult("", s)) for s in counts}
    if counts["error"]:
        result.status, result.reason = "error", f"{first['error'].name}: {first['error'].message}"
    elif counts["fail"]:
        result.status, result.reason = "fail", f"{first['fail'].name}: {first['fail'].message}"
    elif result.passed == 0 and result.deviations == 0 and result.skipped:
        result.status, result.reason = "skip", first["skip"].message
    elif result.passed == 0 and result.deviations == 0:
        result.status, result.reason = "error", "no case ran"
    else:
        result.status = "deviation" if result.deviations else "pass"
        if result.skipped:
            result.reason = f"{result.skipped} case(s) skipped: {first['skip'].message}"
    return result
