"""One merged JUnit XML of every cell (for CI test-report viewers), secrets redacted."""

from __future__ import annotations

from pathlib import Path

from junitparser import JUnitXml, TestSuite

from prism_accept.redact import redact
from prism_accept.reports.results import report_path, suites_of


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


def merge_reports(matrix, reports: Path, out: Path) -> None:
    merged = JUnitXml(name="prism-accept compliance")
    for backend, row in matrix.cells.items():
        for cell in row:
            path = report_path(reports, backend, cell)
            if not path.is_file():
                continue
            try:
                suites = suites_of(path)
            except Exception:  # unreadable: the matrix already reports the cell as an error
                continue
            for suite in suites:
                _redact_suite(suite, f"{backend}#{cell}")
                suite._elem.attrib.pop("hostname", None)  # the runner's name certifies nothing
                merged.add_testsuite(suite)
    merged.update_statistics()
    merged.write(str(out), pretty=True)
