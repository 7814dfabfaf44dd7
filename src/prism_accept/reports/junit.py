"""One merged JUnit XML of every cell (for CI test-report viewers), secrets redacted."""

from __future__ import annotations

import copy
from pathlib import Path

from junitparser import JUnitXml, TestSuite

from prism_accept.cellname import CellAddress, CellName, Column
from prism_accept.redact import redact
from prism_accept.reports.results import CellReport, cell_reports


def _redact_suite(suite: TestSuite, name: str) -> None:
    """Every attribute and every text of the suite redacted (messages, tracebacks, properties,
    system-out/err, case names and class names alike), then named after its cell."""
    for elem in suite._elem.iter():
        for key, value in elem.attrib.items():
            elem.attrib[key] = redact(value)
        if elem.text:
            elem.text = redact(elem.text)
        if elem.tail:
            elem.tail = redact(elem.tail)
    suite.name = name


def cell_suite(report: CellReport) -> TestSuite:
    """A test suite of one cell alone: its cases and its properties (by their own names), even
    when its report is a batch's."""
    suite = TestSuite(str(report.address))
    if report.timestamp:
        suite.timestamp = report.timestamp
    for name, value in report.properties.items():
        suite.add_property(name, value)
    for case in report.cases:
        suite.add_testcase(copy.deepcopy(case))
    return suite


def merge_reports(matrix, reports: Path, out: Path) -> None:
    index = cell_reports(reports)
    merged = JUnitXml(name="prism-accept compliance")
    for column, row in matrix.cells.items():
        for cell in row:
            report = index.get(CellAddress(Column.parse(column), CellName.parse(cell)))
            if not isinstance(report, CellReport):  # none, or unreadable: the matrix reports the cell as an error
                continue
            suite = cell_suite(report)
            _redact_suite(suite, f"{column}#{cell}")
            suite.update_statistics()
            merged.add_testsuite(suite)
    merged.update_statistics()
    merged.write(str(out), pretty=True)
