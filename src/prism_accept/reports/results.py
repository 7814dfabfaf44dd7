"""The results of a compliance run, read from the per-cell JUnit reports Pants writes.

Pants writes one report per test target (`[test] report = true`), cached cells included, so
these results cover every cell whether it ran now or came from a cache. Every string read from a
report is redacted (no password in a URL survives).

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


def read_report(path: Path, column: str = "", cell: str = "") -> CellResult:
    """The result of one cell's report; `column` is the backend or <backend>.<variant>."""
    if not (column and cell):
        column, cell = parse_report_name(path) or ("?", path.stem)
    try:
        parsed = Column.parse(column)
    except ValueError:  # a report file of no cell's name, read as itself
        parsed = Column(column)
    backend, variant = parsed.backend, parsed.variant
    if not path.is_file():
        return CellResult(backend, cell, "error", variant, reason="no result: the cell did not run (see the Pants output)")
    try:
        suites = suites_of(path)
    except (JUnitXmlError, OSError, SyntaxError, ValueError) as e:
        return CellResult(backend, cell, "error", variant, reason=redact(f"unreadable report {path.name}: {e}"))
    result = CellResult(backend, cell, "error", variant)
    for suite in suites:
        props = {p.name: redact(p.value or "") for p in suite.properties()}
        result.instance = result.instance or props.get("instance", "")
        result.backend_version = result.backend_version or props.get("backend_version", "")
        result.plugin = result.plugin or props.get("plugin", "")
        result.engine = result.engine or props.get("engine", "")
        result.timestamp = result.timestamp or (suite.timestamp or "")
        result.cases.extend(_case_result(case) for case in suite)
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
