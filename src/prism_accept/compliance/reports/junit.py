"""One merged JUnit XML of every cell (for CI test-report viewers), secrets redacted."""

from __future__ import annotations

from pathlib import Path

from junitparser import JUnitXml, TestSuite

from prism_accept.compliance.redact import redact
from prism_accept.compliance.results import report_path, suites_of


def _redact_suite(suite: TestSuite, name: str) -> None:
    suite.name = name
    for prop in suite.properties():
        prop.value = redact(prop.value or "")
    for case in suite:
        for outcome in case.result:
            if outcome.message:
                outcome.message = redact(outcome.message)
            if outcome.text:
                outcome.text = redact(outcome.text)
        case.system_out = redact(case.system_out) if case.system_out else case.system_out
        case.system_err = redact(case.system_err) if case.system_err else case.system_err


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
