"""Runs one cell against a broken plugin (tests/mutants/broken_plugin.py): the real suite in a
pytest subprocess, the plugin declared through a scratch registry. The mutants' tests are split
by data model over several files (GROUPS), so that Pants runs them side by side."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import textwrap

import yaml

from mutants.broken_stores import MUTANTS
from prism_accept.catalog import get_interface
from prism_accept.cellname import INTERFACE, MODEL, CellName
from prism_accept.harness.process import plugin_env
from prism_accept.paths import registry_dir

# test file -> the data models (or "conventions") of the cells its mutants break
GROUPS = {
    "keyvalue_and_list": ("keyvalue", "list"),
    "messaging": ("pubsub", "stream", "queue"),
    "sets": ("set", "sortedset"),
    "timeseries_and_graph": ("timeseries", "graph"),
    "documents": ("document",),
    "conventions": ("conventions",),
}


def model_of(cell: str) -> str:
    """The data model a cell checks: `model-<model>`, an interface's model, or the cell itself."""
    name = CellName.parse(cell)
    if name.kind is MODEL:
        return name.subject
    if name.kind is INTERFACE:
        return get_interface(cell).model
    return cell


def mutants_of(group: str) -> list[str]:
    return sorted(name for name, (cell, _) in MUTANTS.items() if model_of(cell) in GROUPS[group])


CELL = textwrap.dedent(
    """\
    from prism_accept.runtime.kinds import cell_class
    pytest_plugins = ["prism_accept.runtime.cell"]
    class TestMutant(cell_class("{interface}")):
        pass
    """
)


def run_cell(
    mutant: str,
    interface: str,
    tmp_path,
    *pytest_args: str,
    deadline_s: float = 300,
    deviations: list[dict] | None = None,
    backend: str = "memstore",
    module: str = "mutants.broken_plugin",
) -> subprocess.CompletedProcess:
    env = {**mutant_env(mutant, tmp_path, backend, module, deviations), "PRISM_CELL": interface}
    (tmp_path / "test_mutant_cell.py").write_text(CELL.format(interface=interface))
    return run_pytest(env, tmp_path, [*pytest_args, str(tmp_path / "test_mutant_cell.py")], deadline_s)


def mutant_env(mutant: str, tmp_path, backend: str, module: str, deviations: list[dict] | None = None) -> dict[str, str]:
    """The environment of a cell run against the mutant: a scratch registry declaring the broken
    plugin as `backend`'s."""
    registry = tmp_path / "registry"
    (registry / "backends").mkdir(parents=True)
    shutil.copy(registry_dir() / "interfaces.yaml", registry / "interfaces.yaml")
    decl = yaml.safe_load((registry_dir() / "backends" / f"{backend}.yaml").read_text())
    # a module plugin in a subprocess of its own: the harness's Python and modules, and the mutant's
    # patch applied in that process only
    decl["plugin"] = {"module": module}
    if deviations:
        decl["deviations"] = deviations
    decl.pop("variants", None)
    (registry / "backends" / f"{backend}.yaml").write_text(yaml.safe_dump(decl))
    return {
        **plugin_env(),
        "PRISM_MUTANT": mutant,
        "PRISM_REGISTRY_DIR": str(registry),
        "PRISM_BACKEND": backend,
        "PRISM_PLUGIN_MODE": "subprocess",
    }


def run_batch(mutant: str, interfaces: list[str], tmp_path, *pytest_args: str, deadline_s: float = 300) -> subprocess.CompletedProcess:
    """Several cells of memstore (`keyvalue_basic`, `model-keyvalue`...) in one pytest process,
    from their cell files, as a Pants batch runs them."""
    from prism_accept.runtime import cellfile

    cells = tmp_path / "cells"
    cells.mkdir()
    names = [CellName.parse(i) for i in interfaces]
    for name, text in cellfile.expected_files(names).items():
        (cells / name).write_text(text)
    env = mutant_env(mutant, tmp_path, "memstore", "mutants.broken_plugin")
    return run_pytest(env, tmp_path, [*pytest_args, *(str(cells / cellfile.file_name(n)) for n in names)], deadline_s)


def run_pytest(env: dict[str, str], cwd, args: list[str], deadline_s: float) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "pytest_timeout",  # loaded by name: Pants' [test] env turns plugin autoloading off
            "--timeout=60",
            *args,
        ],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=deadline_s,
    )


def summary_of(run: subprocess.CompletedProcess) -> str:
    return run.stdout.strip().splitlines()[-1] if run.stdout.strip() else run.stderr[-500:]


def assert_caught(mutant: str, tmp_path) -> None:
    """The cell the mutant breaks fails against it: a failed case, no error, no skip."""
    cell = MUTANTS[mutant][0]
    run = run_cell(mutant, cell, tmp_path, "-x")
    summary = summary_of(run)
    assert (
        re.search(r"\b1 failed\b", summary) and "error" not in summary
    ), f"{cell} against the '{mutant}' plugin: got {summary!r}, want a failed case\n{run.stdout[-3000:]}"
