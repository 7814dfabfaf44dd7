"""Coverage of plugin code: plugin_command wraps a Python plugin under `coverage run` only when
PRISM_PLUGIN_COVERAGE is set, a plugin subprocess so measured saves data for its own modules on
both ways the harness stops it, and a backend's report counts only its own cells."""

from __future__ import annotations

import ast
import json
import os
import signal
import sys
from pathlib import Path
from types import SimpleNamespace

import coverage
import pytest

from prism.keyvalue.v1 import keyvalue_pb2 as pb
from prism.keyvalue.v1 import keyvalue_pb2_grpc as pb_grpc
from prism_accept.harness.process import COVERAGE_ENV, PluginProcess, plugin_command
from prism_accept.registry import PluginLaunch
from prism_accept.reports.coverage import write_reports
from prism_accept.reports.coverage_link import coverage_link

RCFILE = Path("build-support/coveragerc")


def test_plugin_command_is_unchanged_without_the_setting(monkeypatch):
    monkeypatch.delenv(COVERAGE_ENV, raising=False)
    assert plugin_command(PluginLaunch(module="prism_memstore")) == [sys.executable, "-m", "prism_memstore"]


def test_plugin_command_runs_a_module_plugin_under_coverage_when_asked(monkeypatch):
    monkeypatch.setenv(COVERAGE_ENV, "build-support/coveragerc")
    assert plugin_command(PluginLaunch(module="prism_memstore.server")) == [
        sys.executable,
        "-m",
        "coverage",
        "run",
        "--rcfile=build-support/coveragerc",
        "--parallel-mode",
        "--source=prism_memstore,prism_plugin",
        "-m",
        "prism_memstore.server",
    ]
    # A plugin.command plugin is its author's program, not necessarily Python: never wrapped.
    assert plugin_command(PluginLaunch(command=("/opt/plugin", "--serve"))) == ["/opt/plugin", "--serve"]


def measured_plugin(tmp_path, monkeypatch) -> PluginProcess:
    monkeypatch.setenv(COVERAGE_ENV, str(RCFILE.resolve()))
    monkeypatch.setenv("COVERAGE_FILE", str(tmp_path / ".coverage"))
    monkeypatch.setenv("PRISM_BACKEND", "memstore")
    monkeypatch.setenv("PRISM_CELL", "keyvalue_basic")
    plugin = PluginProcess(plugin_command(PluginLaunch(module="prism_memstore"))).start({"url": "embedded:"})
    kv = pb_grpc.KeyValueBasicStub(plugin.channel)
    kv.Set(pb.SetRequest(namespace="n", key="k", value=b"v"))
    assert kv.Get(pb.GetRequest(namespace="n", key="k")).value == b"v"
    return plugin


def saved_data(tmp_path) -> coverage.CoverageData:
    files = sorted(tmp_path.glob(".coverage.*"))
    assert len(files) == 1, f"want one data file of the plugin process, got {files}"
    data = coverage.CoverageData(basename=str(files[0]))
    data.read()
    assert data.has_arcs(), "branch coverage was not recorded"
    assert data.measured_contexts() == {"memstore#keyvalue_basic"}
    by_name = {Path(f).as_posix(): f for f in data.measured_files()}
    keyvalue = next(f for p, f in by_name.items() if p.endswith("prism_memstore/keyvalue.py"))
    runtime = next(f for p, f in by_name.items() if p.endswith("prism_plugin/runtime.py"))
    assert data.lines(keyvalue) and data.lines(runtime)
    assert not any("prism_accept" in p for p in by_name), "the harness is not part of a plugin's measurement"
    return data


def test_a_plugin_subprocess_under_coverage_saves_its_data_when_stdin_closes(tmp_path, monkeypatch):
    plugin = measured_plugin(tmp_path, monkeypatch)
    plugin.stop()  # stdin EOF: the SDK leaves with os._exit(0), which coverage's `patch = _exit` saves on
    saved_data(tmp_path)


def test_a_plugin_subprocess_under_coverage_saves_its_data_on_sigterm(tmp_path, monkeypatch):
    plugin = measured_plugin(tmp_path, monkeypatch)
    assert plugin.proc is not None
    os.killpg(plugin.proc.pid, signal.SIGTERM)  # the harness's next step when a plugin ignores EOF
    plugin.proc.wait(timeout=10)
    plugin.stop()
    saved_data(tmp_path)


def ran(path: str, statements: int) -> set[tuple[int, int]]:
    """Arcs through the first top-level statements of a module, as if an import ran them."""
    body = ast.parse(Path(path).read_text()).body
    lines = [n.lineno for n in body if not (isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant))][:statements]
    return set(zip([-1, *lines], [*lines, -1]))


def test_a_backends_report_counts_only_its_own_cells(tmp_path):
    sdk = "plugins/prism_plugin/status.py"
    data = coverage.CoverageData(basename=str(tmp_path / ".coverage"))
    data.set_context("memstore#keyvalue_basic")
    data.add_arcs({sdk: ran(sdk, 2), "plugins/prism_memstore/keyvalue.py": ran("plugins/prism_memstore/keyvalue.py", 3)})
    data.set_context("redis#keyvalue_basic")
    data.add_arcs({sdk: ran(sdk, 4)})
    data.write()
    results, missing = write_reports(tmp_path / ".coverage", tmp_path / "out", Path.cwd(), ["memstore", "redis", "nats"], html=False)
    by_backend = {r.backend: r for r in results}
    assert set(by_backend) == {"memstore", "redis"} and "nats" in missing
    status = {r: next(m for m in by_backend[r].modules if m.path == sdk) for r in ("memstore", "redis")}
    assert (status["memstore"].covered_lines, status["redis"].covered_lines) == (2, 4)
    memstore_modules = {m.path: m for m in by_backend["memstore"].modules}
    assert memstore_modules["plugins/prism_memstore/keyvalue.py"].reached
    # a module no cell imported is in the report, at 0 %
    graph = memstore_modules["plugins/prism_memstore/graph.py"]
    assert graph.statements > 0 and graph.covered_lines == 0 and not graph.reached
    assert not any("prism_redis" in p for p in memstore_modules)
    report = json.loads((tmp_path / "out" / "memstore" / "coverage.json").read_text())
    assert report["meta"]["branch_coverage"]
    assert "memstore" in (tmp_path / "out" / "index.html").read_text()
    assert "(no cell reaches it)" in (tmp_path / "out" / "memstore" / "summary.md").read_text()


def test_the_matrix_page_links_the_coverage_report_only_when_there_is_one(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    full, partial = SimpleNamespace(partial=""), SimpleNamespace(partial="tests/compliance:redis")
    assert coverage_link(full) == ""
    (tmp_path / "dist" / "coverage").mkdir(parents=True)
    (tmp_path / "dist" / "coverage" / "index.html").write_text("<html></html>")
    assert 'href="../coverage/index.html"' in coverage_link(full)
    assert coverage_link(partial) == ""  # its page is not in dist/compliance/: the link would be wrong


if __name__ == "__main__":
    sys.exit(pytest.main([__file__]))
