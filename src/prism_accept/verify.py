"""`prism-verify`: run the compliance cells against a plugin outside this repository.

A plugin author gives the registry YAML of their backend (its `plugin.command` starts the
plugin) or, with `--endpoint host:port`, the address of a plugin already running. The YAML is
validated with the registry loader; then the cells Pants would generate for it run (every
declared interface, `#model-<model>`, `#conventions`, `#undeclared`), each as one pytest run of
the same cell plugin the Pants cells use (compliance/cell.py) writing its JUnit file under the
name Pants gives it; the matrix and the reports are built from those files by
compliance/matrix.py. Nothing is forked: this module
only lays out a registry directory and runs the cells.

Built into a single-file executable: `./pants package src/prism_accept:verify` ->
dist/src.prism_accept/verify.pex (the catalog and schema ride inside).
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from prism_accept.cellname import CONVENTIONS, UNDECLARED, CellName
from prism_accept.harness.endpoint import ENDPOINT_ENV, not_a_plugin, parse_endpoint
from prism_accept.harness.net import reachable
from prism_accept.paths import REGISTRY_ENV
from prism_accept.registry import BackendDeclaration, RegistryError
from prism_accept.reports.results import report_path

CATALOG = Path("registry") / "interfaces.yaml"  # the catalog, at this path in the PEX and in the repository
CELL_TIMEOUT_S = 180.0  # as the Pants cells (build-support/pants-plugins/prism_cells)
PYTEST_ARGS = ["-p", "no:cacheprovider", "-p", "pytest_timeout", "-rfEsxX", "--timeout=120", "-q"]  # as pants.toml's [pytest] args

# The module each cell's pytest run collects: the same as tests/compliance/test_cell.py, for
# the one backend being verified (every cell run is declared, so no check for undeclared names).
CELL_MODULE = """\
from prism_accept.runtime.cell import cell_from_environment
from prism_accept.runtime.kinds import cell_class

pytest_plugins = ["prism_accept.runtime.cell"]

BACKEND, CELL = cell_from_environment()
_name = f"Test_{BACKEND}_{CELL}".replace("-", "_")
globals()[_name] = type(_name, (cell_class(CELL),), {"__module__": __name__})
"""


class UsageError(Exception):
    """Bad input (a file, a flag); the message says what and how to fix it."""


def bundled_catalog() -> Path:
    """registry/interfaces.yaml: beside the code (inside the PEX), else the repository's."""
    here = Path(__file__).resolve()
    for d in [*(Path(entry) for entry in sys.path if entry), *here.parents]:
        if (d / CATALOG).is_file():
            return d / CATALOG
    raise UsageError(f"the catalog ({CATALOG}) is not bundled with this prism-verify; rebuild it with ./pants package")


def load_declaration(yaml_path: Path, catalog: Path) -> BackendDeclaration:
    """Validate the author's YAML with the registry loader (file, field and fix on error)."""
    from prism_accept.catalog import parse_catalog
    from prism_accept.registry import parse_declaration

    if not yaml_path.is_file():
        raise UsageError(f"{yaml_path}: no such file; fix: give the path of your backend's registry YAML")
    names = [i.name for i in parse_catalog(catalog.read_text())]
    return parse_declaration(yaml_path.read_text(), str(yaml_path), names)


def cells_of(decl: BackendDeclaration, catalog: Path) -> list[str]:
    """The cells Pants generates for a backend: its interfaces, `model-<model>` for each data
    model it declares an interface of (when models/<model>.py exists), conventions, undeclared."""
    from prism_accept.catalog import parse_catalog

    model_of = {i.name: i.model for i in parse_catalog(catalog.read_text())}
    models = dict.fromkeys(model_of[name] for name in decl.implements)
    found = [m for m in models if importlib.util.find_spec(f"prism_accept.models.{m}") is not None]
    return [*decl.implements, *(str(CellName.of_model(m)) for m in found), str(CellName(CONVENTIONS)), str(CellName(UNDECLARED))]


def lay_out_registry(work: Path, yaml_path: Path, decl: BackendDeclaration, catalog: Path) -> Path:
    """A registry directory holding the catalog and this one backend, as the cells read it."""
    registry = work / "registry"
    (registry / "backends").mkdir(parents=True)
    shutil.copyfile(catalog, registry / "interfaces.yaml")
    shutil.copyfile(yaml_path, registry / "backends" / f"{decl.backend}.yaml")
    return registry


def run_cell(work: Path, registry: Path, reports: Path, plugin_dir: Path, backend: str, cell: str, endpoint: str | None) -> float:
    """One cell as one pytest run, in the YAML's directory (where a relative plugin.command
    starts); its JUnit file is named as Pants names the cell's report, its output goes to
    <cell>.log beside it. Returns the wall time. A cell past its timeout is killed and has no report (ERROR)."""
    env = dict(os.environ, PRISM_BACKEND=backend, PRISM_CELL=cell)
    env[REGISTRY_ENV] = str(registry)
    env["HYPOTHESIS_STORAGE_DIRECTORY"] = str(work / ".hypothesis")
    env.pop(ENDPOINT_ENV, None)
    if endpoint:
        env[ENDPOINT_ENV] = endpoint
    env.update(PYTEST_DISABLE_PLUGIN_AUTOLOAD="1", HYPOTHESIS_NO_PLUGINS="1")  # as pants.toml's [test] env
    command = [
        sys.executable,
        "-m",
        "pytest",
        str(work / "test_cell.py"),
        "--rootdir",
        str(work),
        "-c",
        str(work / "pytest.ini"),
        f"--junitxml={report_path(reports, backend, cell)}",
        *PYTEST_ARGS,
    ]
    started = time.monotonic()
    with open(reports / f"{cell}.log", "wb") as log:  # pytest's own output, for a closer look
        try:
            subprocess.run(
                command,
                cwd=plugin_dir,
                env=env,
                timeout=CELL_TIMEOUT_S,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                check=False,
            )
        except subprocess.TimeoutExpired:
            print(f"  {cell}: killed after {CELL_TIMEOUT_S:.0f} s", file=sys.stderr)
    return time.monotonic() - started


def suites_fingerprint(catalog: Path) -> str:
    """What this prism-verify certifies against, when it has no git checkout to name: a digest
    of the framework's code (suites, cell runner, harness) and the catalog."""
    package = Path(__file__).resolve().parent
    digest = hashlib.sha256(catalog.read_bytes())
    for source in sorted(package.rglob("*.py")):
        digest.update(str(source.relative_to(package)).encode() + b"\0" + source.read_bytes())
    return f"sha256:{digest.hexdigest()[:16]}"


def verify(yaml_path: Path, out: Path, endpoint: str | None) -> int:
    from prism_accept.reports import write_all
    from prism_accept.reports.matrix import load_matrix, suite_commit
    from prism_accept.reports.text import render_text

    catalog = bundled_catalog()
    decl = load_declaration(yaml_path, catalog)
    if endpoint and not reachable(f"tcp://{endpoint}", timeout_s=2.0):
        raise UsageError(f"--endpoint {endpoint}: nothing accepts connections there; fix: start the plugin, or drop --endpoint")
    if endpoint and (why := not_a_plugin(endpoint)):
        raise UsageError(f"--endpoint {endpoint}: answers, but not as a Prism plugin: {why}; fix: give the plugin's gRPC address")
    reports = out.resolve() / "reports"
    if reports.exists():
        shutil.rmtree(reports)  # only this run's cells make the matrix
    reports.mkdir(parents=True)
    with tempfile.TemporaryDirectory(prefix="prism-verify-") as tmp:
        work = Path(tmp)
        registry = lay_out_registry(work, yaml_path, decl, catalog)
        (work / "test_cell.py").write_text(CELL_MODULE)
        (work / "pytest.ini").write_text("[pytest]\n")
        target = f"the plugin at {endpoint}" if endpoint else " ".join(decl.plugin.command) or decl.plugin.module
        print(f"prism-verify: {decl.backend} ({yaml_path}) against {target}")
        for cell in cells_of(decl, catalog):
            took = run_cell(work, registry, reports, yaml_path.resolve().parent, decl.backend, cell, endpoint)
            print(f"  ran #{cell} in {took:.1f} s")
        os.environ[REGISTRY_ENV] = str(registry)  # the registry loader of the matrix reads this one too
        commit = suite_commit(Path(__file__).resolve().parent)
        if commit.startswith("unknown"):
            commit = f"prism-verify {suites_fingerprint(catalog)}"
        matrix = load_matrix(reports, registry / "backends", commit=commit)
    print(render_text(matrix))
    written = write_all(matrix, reports, out)
    print("reports: " + ", ".join(str(p) for p in [*written, reports]))
    statuses = [r.status for row in matrix.cells.values() for r in row.values()]
    return 0 if statuses and all(s in ("pass", "deviation") for s in statuses) else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="prism-verify", description=__doc__.splitlines()[0])
    parser.add_argument("backend_yaml", type=Path, help="your backend's registry file, named <backend>.yaml")
    parser.add_argument("--endpoint", help="host:port of a plugin already running (not started or stopped by prism-verify)")
    parser.add_argument("--out", type=Path, default=Path("prism-verify-reports"), help="where the reports go (default: %(default)s)")
    args = parser.parse_args(argv)
    try:
        endpoint = parse_endpoint(args.endpoint) if args.endpoint else None
    except ValueError as e:
        parser.error(str(e))
    try:
        return verify(args.backend_yaml, args.out, endpoint)
    except (UsageError, RegistryError) as e:
        print(f"prism-verify: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
