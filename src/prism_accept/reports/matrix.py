"""The compliance matrix of a Pants run, and the command that writes its reports.

Built from the cells' JUnit reports in dist/test/reports (cached cells count: Pants writes
their reports too). Prints RFC-015's text and writes dist/compliance/: matrix.json, matrix.md
(the GitHub job summary), matrix.html (one self-contained page) and junit.xml (every cell merged).
Every report says what it certifies: the suite's commit, each plugin's name and version, each
instance's server version and when the cells ran.

A column is a backend, or a server variant of it (`redis.valkey-8.1`, prism_accept.cellname.Column):
each variant a registry file declares is a column of its own, beside its backend's.
"""

from __future__ import annotations

import argparse
import datetime
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from prism_accept.catalog import load_catalog
from prism_accept.cellname import INTERFACE, KINDS, UNDECLARED, CellAddress, CellName, Column
from prism_accept.registry import BackendDeclaration, RegistryError, load_all
from prism_accept.reports.results import (
    CellResult,
    cell_reports,
    read_report,
    report_path,
    result_of,
)

__all__ = ["Matrix", "build_matrix", "main", "read_report", "report_path"]


@dataclass
class Matrix:
    """column (a backend or <backend>.<variant>) -> cell -> result, with what the run certifies."""

    cells: dict[str, dict[str, CellResult]]
    models: dict[str, str] = field(default_factory=dict)  # interface -> data model, catalog order
    commit: str = ""
    generated_at: str = ""
    partial: str = ""  # the selection of a run of some cells only (empty: the whole matrix)
    variants: dict[str, str] = field(default_factory=dict)  # column of a server variant -> its description

    def interfaces(self, backend: str) -> dict[str, CellResult]:
        return {c: r for c, r in self.cells[backend].items() if r.kind == INTERFACE.name}

    def checks(self, backend: str) -> dict[str, CellResult]:
        return {c: r for c, r in self.cells[backend].items() if r.kind != INTERFACE.name}

    def certifies(self, backend: str) -> dict[str, list[str] | str | None]:
        """What this column's results certify: its backend and server variant, plugin, server
        version (as the server states it), instance, run times."""
        row = self.cells[backend].values()

        def distinct(attr: str) -> list[str]:
            return sorted({getattr(r, attr) for r in row if getattr(r, attr)})

        times = distinct("timestamp")
        column = Column.parse(backend)
        return {
            "backend": column.backend,
            "variant": column.variant or None,
            "variant_description": self.variants.get(backend, "") or None,
            "plugin": distinct("plugin"),
            "backend_version": distinct("backend_version"),
            "instance": distinct("instance"),
            "first_run": times[0] if times else "",
            "last_run": times[-1] if times else "",
        }

    def status_counts(self, kind: str = "interface") -> dict[str, int]:
        counts = dict.fromkeys(("pass", "deviation", "fail", "error", "skip"), 0)
        for row in self.cells.values():
            for r in row.values():
                if (r.kind == INTERFACE.name) == (kind == INTERFACE.name):
                    counts[r.status] += 1
        return counts

    def case_counts(self) -> dict[str, int]:
        counts = dict.fromkeys(("passed", "failed", "skipped", "deviations"), 0)
        for row in self.cells.values():
            for r in row.values():
                counts["passed"] += r.passed
                counts["failed"] += r.failed or (r.status == "error")
                counts["skipped"] += r.skipped
                counts["deviations"] += r.deviations
        return counts

    @property
    def ok(self) -> bool:
        return not any(r.status in ("fail", "error") for row in self.cells.values() for r in row.values())


def _cell_order(declaration: BackendDeclaration, found: set[str]) -> list[str]:
    """The declared interfaces, then the per-backend checks by kind (prism_accept.cellname.KINDS);
    every backend has an #undeclared cell, so its missing report is an error."""
    names = [CellName.parse(c) for c in found]
    checks: list[str] = []
    for kind in KINDS:
        if kind is not INTERFACE:
            checks += sorted(str(n) for n in names if n.kind is kind) or ([str(CellName(kind))] if kind is UNDECLARED else [])
    return [*dict.fromkeys(declaration.implements), *checks]


def columns(backends: dict[str, BackendDeclaration]) -> list[tuple[Column, BackendDeclaration]]:
    """Each backend, followed by its server variants (in the order its file declares them)."""
    return [
        (Column(name, variant), backends[name].variant(variant))
        for name in sorted(backends)
        for variant in ("", *backends[name].variant_names)
    ]


def build_matrix(backends: dict[str, BackendDeclaration], reports: Path, partial: bool = False) -> dict[str, dict[str, CellResult]]:
    """Every declared cell of every backend and variant (a missing report is an error, unless
    `partial`), plus the per-backend checks (model-*, conventions) that have a report."""
    index = cell_reports(reports)
    found: dict[str, set[str]] = {}
    for address in index:
        found.setdefault(str(address.column), set()).add(str(address.cell))
    matrix: dict[str, dict[str, CellResult]] = {}
    for column, declaration in columns(backends):
        name = str(column)
        row = {}
        for cell in _cell_order(declaration, found.get(name, set())):
            entry = index.get(CellAddress(column, CellName.parse(cell)))
            if partial and entry is None:
                continue
            row[cell] = result_of(entry, column, cell)
        if row:
            matrix[name] = row
    return matrix


def suite_commit(root: Path) -> str:
    """The commit of the suite, marked when the work tree differs from it."""
    try:
        head = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown (not a git checkout)"
    return f"{head} (with uncommitted changes)" if dirty else head


def load_matrix(reports: Path, registry: Path | None = None, partial: str = "", commit: str = "") -> Matrix:
    """The matrix of the reports; `partial` names the selection of a run of some cells only."""
    backends = load_all(registry)
    catalog = load_catalog(registry.parent / "interfaces.yaml" if registry else None)
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat()
    return Matrix(
        cells=build_matrix(backends, reports, bool(partial)),
        variants={str(c): d.variant_description for c, d in columns(backends) if c.variant},
        models={i.name: i.model for i in catalog},
        commit=commit or suite_commit(Path.cwd()),
        generated_at=now,
        partial=partial,
    )


def main(argv: list[str] | None = None) -> int:
    from prism_accept.reports import write_all
    from prism_accept.reports.text import render_text

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=Path, default=Path("dist/test/reports"), help="the per-cell JUnit reports")
    parser.add_argument("--registry", type=Path, default=None, help="registry/backends directory")
    parser.add_argument("--out", type=Path, default=Path("dist/compliance"), help="directory for matrix.{json,md,html} and junit.xml")
    parser.add_argument(
        "--partial",
        nargs="?",
        const="a selection",
        default="",
        metavar="SELECTION",
        help="a run of some cells only (named SELECTION in the reports): cells without a report are left out",
    )
    parser.add_argument("--commit", default="", help="the suite's commit (default: git rev-parse HEAD)")
    parser.add_argument(
        "--require",
        action="append",
        default=[],
        metavar="COLUMN",
        help="a backend whose instance this machine runs, or a server variant (<backend>.<variant>) "
        "the harness starts: a SKIP cell of it fails the run (CI)",
    )
    args = parser.parse_args(argv)
    if args.out.suffix == ".json":  # the old --out dist/compliance/matrix.json
        args.out = args.out.parent
    try:
        matrix = load_matrix(args.reports, args.registry, args.partial, args.commit)
    except RegistryError as e:
        print(f"{e}\n(the registry is invalid: fix the file, then `make validate-registry`)", file=sys.stderr)
        return 2
    print(render_text(matrix))
    written = write_all(matrix, args.reports, args.out)
    print("reports: " + ", ".join(str(p) for p in written))
    skipped = [f"{b}#{c}: {r.reason}" for b in args.require for c, r in matrix.cells.get(b, {}).items() if r.status == "skip"]
    missing = [b for b in args.require if b not in matrix.cells]
    for line in skipped + [f"{b}: no cells in this run" for b in missing]:
        print(f"required backend skipped: {line}")
    return 0 if matrix.ok and not skipped and not missing else 1


if __name__ == "__main__":
    sys.exit(main())
