"""Coverage of plugin code by the suites: per backend with a Python plugin, an HTML report and a
summary table (line and branch coverage per module) of its plugin package and the SDK, from the
merged data of a coverage run (build-support/bin/coverage). Each cell labels its data with the
coverage context `<backend>#<cell>` (build-support/coveragerc), so one backend's report counts
only what its own cells ran; a module no cell reached shows 0 % and is listed first."""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
from dataclasses import dataclass
from html import escape
from pathlib import Path

import coverage

from prism_accept.registry import load_all

SDK_PACKAGE = "prism_plugin"
# Where a first-party plugin package lives (as build-support/pants-plugins/prism_cells/layout.py).
PLUGIN_SOURCE_ROOTS = ("plugins", "src")
RCFILE = "build-support/coveragerc"
NOT_IMPORTED = "SDK, not imported"  # SDK modules no cell of the backend imported (other interfaces' contracts)
PARTS = ("plugin", "SDK", NOT_IMPORTED)
LEAST_COVERED = 5  # modules named per backend in the summary


@dataclass(frozen=True)
class ModuleCoverage:
    path: str
    part: str  # "plugin", "SDK" or NOT_IMPORTED
    statements: int
    covered_lines: int
    branches: int
    covered_branches: int

    @property
    def line_pct(self) -> float:
        return 100.0 * self.covered_lines / self.statements if self.statements else 100.0

    @property
    def branch_pct(self) -> float:
        return 100.0 * self.covered_branches / self.branches if self.branches else 100.0

    @property
    def reached(self) -> bool:
        return self.covered_lines > 0


@dataclass(frozen=True)
class BackendCoverage:
    backend: str
    package: str
    cells: tuple[str, ...]  # the cells that recorded data
    modules: tuple[ModuleCoverage, ...]

    def total(self, part: str) -> ModuleCoverage:
        """The totals of the plugin's or the SDK's modules (the SDK's imported ones only)."""
        mods = [m for m in self.modules if m.part == part]
        return ModuleCoverage(
            f"{part} total",
            part,
            sum(m.statements for m in mods),
            sum(m.covered_lines for m in mods),
            sum(m.branches for m in mods),
            sum(m.covered_branches for m in mods),
        )

    def least_covered(self, part: str, n: int = LEAST_COVERED) -> list[ModuleCoverage]:
        """The n modules of `part` with the lowest line (then branch) coverage, below 100 %."""
        below = [m for m in self.modules if m.part == part and m.statements and (m.line_pct < 100 or m.branch_pct < 100)]
        return sorted(below, key=lambda m: (m.line_pct, m.branch_pct, m.path))[:n]


def python_plugins(registry: Path | None = None) -> dict[str, str]:
    """backend -> its plugin's top-level package, for the backends whose plugin is a Python module."""
    return {name: d.plugin.module.partition(".")[0] for name, d in load_all(registry).items() if d.plugin.module}


def package_dir(root: Path, package: str) -> str:
    """The package's directory relative to the build root (where coverage's relative paths start)."""
    for source_root in PLUGIN_SOURCE_ROOTS:
        if (root / source_root / package).is_dir():
            return f"{source_root}/{package}"
    raise FileNotFoundError(f"no package {package} under {', '.join(PLUGIN_SOURCE_ROOTS)} of {root}")


def cells_in(data: coverage.CoverageData, backend: str) -> tuple[str, ...]:
    prefix = f"{backend}#"
    return tuple(sorted(c.removeprefix(prefix) for c in data.measured_contexts() if c.startswith(prefix)))


def backend_report(cov: coverage.Coverage, root: Path, backend: str, package: str, out: Path, html: bool = True) -> BackendCoverage:
    """Write out/<backend>/ (coverage.py's HTML unless not `html`, coverage.json, summary.md) and
    return its figures."""
    parts = {package_dir(root, package): "plugin", package_dir(root, SDK_PACKAGE): "SDK"}
    include = [f"{d}/*" for d in parts]
    contexts = [f"^{re.escape(backend)}#"]
    target = out / backend
    target.mkdir(parents=True, exist_ok=True)
    cells = cells_in(cov.get_data(), backend)
    title = f"{backend}: coverage of {package} and {SDK_PACKAGE} by {len(cells)} cells"
    if html:
        cov.html_report(directory=str(target), include=include, contexts=contexts, title=title, skip_empty=False)
    cov.json_report(outfile=str(target / "coverage.json"), include=include, contexts=contexts, pretty_print=True)
    files = json.loads((target / "coverage.json").read_text())["files"]
    modules = []
    for path, f in sorted(files.items()):
        rel = Path(path).resolve().relative_to(root.resolve()).as_posix() if Path(path).is_absolute() else path
        s = f["summary"]
        part = next(p for d, p in parts.items() if rel.startswith(d + "/"))
        if part == "SDK" and not s["covered_lines"]:
            part = NOT_IMPORTED  # the SDK's code for other interfaces: out of this backend's totals
        modules.append(
            ModuleCoverage(rel, part, s["num_statements"], s["covered_lines"], s.get("num_branches", 0), s.get("covered_branches", 0))
        )
    result = BackendCoverage(backend, package, cells, tuple(modules))
    (target / "summary.md").write_text(render_backend_markdown(result))
    return result


def _pct(m: ModuleCoverage) -> tuple[str, str]:
    return f"{m.line_pct:.1f} %", (f"{m.branch_pct:.1f} %" if m.branches else "—")


def render_backend_markdown(b: BackendCoverage) -> str:
    lines = [
        f"# Coverage of {b.package} and {SDK_PACKAGE} by the {b.backend} cells",
        "",
        f"Cells with data: {len(b.cells)} ({', '.join(b.cells) or 'none'}).",
        "",
        "| module | part | lines | line coverage | branches | branch coverage |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for m in [*sorted(b.modules, key=lambda m: (PARTS.index(m.part), m.path)), b.total("plugin"), b.total("SDK")]:
        line, branch = _pct(m)
        note = " (no cell reaches it)" if m.part == "plugin" and m.statements and not m.reached else ""
        lines.append(
            f"| {m.path}{note} | {m.part} | {m.covered_lines}/{m.statements} | {line} | {m.covered_branches}/{m.branches} | {branch} |"
        )
    return "\n".join(lines) + "\n"


def _least(m: ModuleCoverage, package: str) -> str:
    name = m.path.split(f"/{package}/", 1)[-1].split(f"/{SDK_PACKAGE}/", 1)[-1]
    return f"{name} {m.line_pct:.0f}/{m.branch_pct:.0f} %"


def render_summary_markdown(results: list[BackendCoverage], missing: dict[str, str]) -> str:
    lines = [
        "# Coverage of plugin code by the suites",
        "",
        "| backend | cells | plugin lines | plugin branches | SDK lines | SDK branches "
        "| least covered plugin modules | least covered SDK modules |",
        "|---|---:|---:|---:|---:|---:|---|---|",
    ]
    for b in results:
        p, s = b.total("plugin"), b.total("SDK")
        least = [", ".join(_least(m, b.package) for m in b.least_covered(part)) or "none below 100 %" for part in ("plugin", "SDK")]
        lines.append(f"| {b.backend} | {len(b.cells)} | {' | '.join((*_pct(p), *_pct(s)))} | {least[0]} | {least[1]} |")
    for backend, why in sorted(missing.items()):
        lines.append(f"| {backend} | 0 | — | — | — | — | {why} | |")
    lines += ["", "Least covered: module, line %/branch % (a module without branches shows 100 %)."]
    return "\n".join(lines) + "\n"


INDEX_STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #1b1b1b; }
table { border-collapse: collapse; margin-bottom: 1.5em; }
th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: left; }
td.n { text-align: right; }
tr.unreached td { background: #f7c0c0; } tr.total td { font-weight: bold; }
"""


def render_index_html(results: list[BackendCoverage], missing: dict[str, str]) -> str:
    """dist/coverage/index.html: per backend its totals, then every module (unreached ones red),
    each linked to coverage.py's page of it."""
    overview, sections = [], []
    for b in results:
        p, s = b.total("plugin"), b.total("SDK")
        overview.append(
            f'<tr><td><a href="{escape(b.backend)}/index.html">{escape(b.backend)}</a></td><td class="n">{len(b.cells)}</td>'
            + "".join(f'<td class="n">{v}</td>' for v in (*_pct(p), *_pct(s)))
            + "</tr>"
        )
        rows = []
        for m in sorted(b.modules, key=lambda m: (PARTS.index(m.part), m.line_pct, m.path)):
            cls = ' class="unreached"' if m.part == "plugin" and m.statements and not m.reached else ""
            rows.append(
                f'<tr{cls}><td>{escape(m.path)}</td><td>{m.part}</td><td class="n">{m.covered_lines}/{m.statements}</td>'
                f'<td class="n">{_pct(m)[0]}</td><td class="n">{m.covered_branches}/{m.branches}</td><td class="n">{_pct(m)[1]}</td></tr>'
            )
        for t in (p, s):
            rows.append(
                f'<tr class="total"><td>{escape(t.path)}</td><td></td><td class="n">{t.covered_lines}/{t.statements}</td>'
                f'<td class="n">{_pct(t)[0]}</td><td class="n">{t.covered_branches}/{t.branches}</td><td class="n">{_pct(t)[1]}</td></tr>'
            )
        sections.append(
            f'<h2 id="{escape(b.backend)}">{escape(b.backend)} ({escape(b.package)} + {SDK_PACKAGE}, {len(b.cells)} cells)</h2>'
            f'<p><a href="{escape(b.backend)}/index.html">line-by-line report</a> (each line lists the cells that ran it)</p>'
            "<table><tr><th>module</th><th>part</th><th>lines</th><th>line coverage</th><th>branches</th><th>branch coverage</th></tr>"
            + "".join(rows)
            + "</table>"
        )
    for backend, why in sorted(missing.items()):
        overview.append(f'<tr><td>{escape(backend)}</td><td class="n">0</td><td colspan="4">{escape(why)}</td></tr>')
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Coverage of plugin code by the suites</title><style>{INDEX_STYLE}</style></head>
<body>
<h1>Coverage of plugin code by the suites</h1>
<p>What the compliance cells of each backend ran of its plugin package and of the SDK ({SDK_PACKAGE}); lines and
branches (coverage.py). A red row is a plugin module no cell of the backend reaches; the SDK's totals
count the SDK modules the backend's cells imported ("SDK, not imported": the code of interfaces it does not declare).</p>
<table><tr><th>backend</th><th>cells</th><th>plugin lines</th><th>plugin branches</th><th>SDK lines</th><th>SDK branches</th></tr>
{''.join(overview)}</table>
{''.join(sections)}
</body></html>
"""


def write_reports(
    data_file: Path, out: Path, root: Path, backends: list[str] | None = None, html: bool = True
) -> tuple[list[BackendCoverage], dict[str, str]]:
    """Every selected backend's report from the merged data; returns the figures and, per
    selected backend without data, why. `root` is the build root and the working directory
    (the data's paths are relative to it)."""
    plugins = python_plugins(root / "registry" / "backends")
    selected = backends or sorted(plugins)
    # A copy: files no cell imported are added to it (as measured, nothing run) so they show 0 %.
    merged = out / ".coverage-merged"
    out.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(data_file, merged)
    # The run's own settings: relative paths (from the build root), branches, contexts shown.
    cov = coverage.Coverage(data_file=str(merged), config_file=str(root / RCFILE))
    cov.load()
    missing = {}
    for backend in selected:
        if backend not in plugins:
            missing[backend] = "its plugin is not a Python module (plugin.command): not measured"
        elif not cells_in(cov.get_data(), backend):
            missing[backend] = "no cell recorded data (none ran, or every cell skipped)"
    reported = [b for b in selected if b not in missing]
    known = {Path(f).as_posix() for f in cov.get_data().measured_files()}
    unmeasured = [
        path
        for package in sorted({plugins[b] for b in reported} | {SDK_PACKAGE} if reported else set())
        for path in (p.relative_to(root).as_posix() for p in sorted((root / package_dir(root, package)).rglob("*.py")))
        if path not in known and (root / path).as_posix() not in known
    ]
    cov.get_data().touch_files(unmeasured)
    results = [backend_report(cov, root, b, plugins[b], out, html) for b in reported]
    merged.unlink()
    (out / "index.html").write_text(render_index_html(results, missing))
    (out / "summary.md").write_text(render_summary_markdown(results, missing))
    return results, missing


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("dist/coverage/pants/.coverage"), help="the merged coverage data")
    parser.add_argument("--out", type=Path, default=Path("dist/coverage"), help="where <backend>/ and index.html go")
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="the build root (coverage's relative paths start there)")
    parser.add_argument("--no-html", action="store_true", help="only the summaries and coverage.json (quicker)")
    parser.add_argument("backends", nargs="*", help="backends to report (default: every backend with a Python plugin)")
    args = parser.parse_args(argv)
    if not args.data.is_file():
        print(f"no coverage data at {args.data}: run build-support/bin/coverage (make coverage) first", file=sys.stderr)
        return 2
    results, missing = write_reports(args.data, args.out, args.root, args.backends, html=not args.no_html)
    print(render_summary_markdown(results, missing))
    print(f"reports: {args.out / 'index.html'}, {args.out}/<backend>/index.html and summary.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
