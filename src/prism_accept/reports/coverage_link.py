"""The matrix page's link to the coverage report of plugin code (dist/coverage/index.html,
written by `make coverage`), beside the page in the standard layout (dist/compliance/). Imports
nothing of coverage.py: the matrix is built without it."""

from __future__ import annotations

import datetime
from pathlib import Path

COVERAGE_INDEX = Path("dist/coverage/index.html")  # from the build root, where the reports are built
HREF = "../coverage/index.html"  # from dist/compliance/matrix.html


def coverage_link(matrix) -> str:
    """A paragraph linking the coverage report when one exists; "" on a partial matrix's page
    (written elsewhere) or when there is none."""
    if matrix.partial or not COVERAGE_INDEX.is_file():
        return ""
    written = datetime.datetime.fromtimestamp(COVERAGE_INDEX.stat().st_mtime, datetime.timezone.utc).replace(microsecond=0)
    return (
        f'<p class="coverage"><a href="{HREF}">Coverage of plugin code by the suites</a> '
        f"(lines and branches per module and backend; written {written.isoformat()} by <code>make coverage</code>)</p>"
    )
