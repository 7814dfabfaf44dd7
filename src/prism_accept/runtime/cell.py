"""Fixtures of one compliance cell (pytest plugin, loaded by tests/compliance/test_cell.py).

The cell's backend and cell name (an interface, `undeclared`, `conventions` or `model-<model>`)
come from PRISM_BACKEND and PRISM_CELL, which the generated Pants targets set, and the server
variant's name, if the cell is one of a variant's, from PRISM_VARIANT (the cell then runs with
the variant's instance and deviations). The instance is
resolved once per cell; none available is a SKIP with the reason; a plugin that will not start
is an ERROR."""

from __future__ import annotations

import functools
import os

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from prism_accept.cellname import CellAddress, CellName
from prism_accept.harness.channel import calls_started
from prism_accept.harness.endpoint import ENDPOINT_ENV, EndpointPlugin
from prism_accept.harness.inprocess import InProcessPlugin, in_process_wanted
from prism_accept.harness.instances import InstanceUnavailable, cell_environ, resolve
from prism_accept.harness.journal import NamespaceJournal
from prism_accept.harness.process import PluginProcess, plugin_command
from prism_accept.models.profiles import case_timeout_s
from prism_accept.registry import BackendDeclaration, load_backend
from prism_accept.runtime.kinds import case_names
from prism_accept.suites.base import Capabilities
from prism_accept.suites.requirements import MARK, unmet
from prism_accept.suites.rows import expect_rows, unchecked_rows

__all__ = ["cell_address", "cell_from_environment"]
VARIANT_ENV = "PRISM_VARIANT"


@functools.lru_cache(maxsize=None)
def cell_declaration() -> BackendDeclaration:
    """The running cell's backend (or variant) declaration, parsed once for the hooks, fixtures
    and runner."""
    address = cell_address()
    return load_backend(address.backend, variant=address.variant)


def cell_address() -> CellAddress:
    """The running cell, from PRISM_BACKEND, PRISM_VARIANT (unset or empty: the backend's own
    instance) and PRISM_CELL."""
    backend, cell = cell_from_environment()
    return CellAddress.of(backend, cell, os.environ.get(VARIANT_ENV, ""))


def cell_from_environment() -> tuple[str, str]:
    """(backend, cell name) of the running cell, from PRISM_BACKEND and PRISM_CELL."""
    backend, cell = os.environ.get("PRISM_BACKEND"), os.environ.get("PRISM_CELL")
    if not backend or not cell:
        raise RuntimeError(
            "PRISM_BACKEND and PRISM_CELL are unset: run a cell through Pants, e.g. "
            "./pants test tests/compliance:memstore#keyvalue_basic"
        )
    return backend, cell


@pytest.fixture(scope="session")
def declaration() -> BackendDeclaration:
    return cell_declaration()


@pytest.fixture(scope="session")
def instance(declaration, record_testsuite_property):
    try:
        found = resolve(declaration, cell_environ())
    except InstanceUnavailable as e:
        pytest.skip(str(e))
    record_testsuite_property("instance", found.described)
    if declaration.variant_name:
        record_testsuite_property("variant", declaration.variant_name)
    if found.identity:
        record_testsuite_property("server_identity", found.identity)
    server = declaration.instance.server
    emulated = found.label is not None and server is not None and server.emulates
    record_testsuite_property("engine", f"{server.emulates} emulation" if emulated and server else declaration.engine)
    try:
        yield found
    finally:
        found.stop()
        if found.ephemeral:  # its namespaces went with it: nothing for a later cell to sweep
            NamespaceJournal.for_instance(declaration.backend, found.url).remove()


@pytest.fixture(scope="session")
def plugin(declaration, instance, record_testsuite_property):
    """A started plugin connected to the instance: `channel`, `info`, `drop_namespace(ns)`."""
    if os.environ.get(ENDPOINT_ENV):  # already running (prism_accept.verify --endpoint): never stopped by us
        process = EndpointPlugin(os.environ[ENDPOINT_ENV], startup_timeout_s=declaration.plugin.startup_timeout_s)
    elif in_process_wanted(declaration.plugin.module):
        process = InProcessPlugin(declaration.plugin.module)
    else:
        process = PluginProcess(
            plugin_command(declaration.plugin),
            startup_timeout_s=declaration.plugin.startup_timeout_s,
            shares_harness=declaration.plugin.module is not None,
        )
    process.journal = NamespaceJournal.for_instance(declaration.backend, instance.url)
    process.start(instance.settings)
    swept = process.sweep()
    if swept:
        record_testsuite_property("swept_namespaces", str(len(swept)))
    record_testsuite_property("plugin_mode", PLUGIN_MODES.get(type(process), "subprocess"))
    record_testsuite_property("backend_version", process.backend_version)
    record_testsuite_property("plugin", f"{process.info.name} {process.info.version}")
    yield process
    process.stop()


HEALTH_DEADLINE_S = 2.0
PLUGIN_MODES = {InProcessPlugin: "in-process", EndpointPlugin: "endpoint"}


# Whether the case that ran last passed (every call it made was answered): the health check
# before a case is skipped then. A plugin that hangs after a passing case fails the next case at
# its calls' deadlines, and the check before the one after marks the cell broken.
_previous_case = {"passed": False}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    report = (yield).get_result()
    if report.when == "call":
        _previous_case["passed"] = report.passed
    elif report.failed:
        _previous_case["passed"] = False


_known_rows: dict[str, dict[str, str]] = {}  # case node id -> its rows declared as known deviations


@pytest.fixture(autouse=True)
def known_rows(request, declaration):
    """The rows of this case its registry file declares as known deviations (suites/rows.py);
    a declared row the case never checked is an error naming the file and the row."""
    expect_rows(_known_rows.get(request.node.nodeid, {}))
    yield
    missing = unchecked_rows()
    if missing and _previous_case["passed"]:
        pytest.fail(
            f"{declaration.path}: field 'deviations': case {request.node.originalname.removeprefix('test_')} has no row "
            f"{', '.join(map(repr, missing))}; fix: name a row as its failure message starts",
            pytrace=False,
        )


@pytest.fixture(autouse=True)
def plugin_still_answers(request):
    """Before each case, the plugin must answer its health check: once it has hung or died,
    every remaining case fails at once instead of waiting out its own deadlines."""
    if "plugin" not in request.fixturenames:
        return
    plugin = request.getfixturevalue("plugin")
    if plugin.broken:
        pytest.fail(f"plugin stopped answering earlier in this cell: {plugin.broken}", pytrace=False)
    if _previous_case["passed"] and (plugin.proc is None or plugin.proc.poll() is None):
        return  # it answered every call of the case before, a moment ago: one check per failure, not per case
    try:
        health_pb2_grpc.HealthStub(plugin.channel).Check(health_pb2.HealthCheckRequest(), timeout=HEALTH_DEADLINE_S)
    except grpc.RpcError as e:
        plugin.broken = f"health check {e.code().name} ({e.details()}); exit status {plugin.proc.poll() if plugin.proc else 'n/a'}"
        pytest.fail(f"plugin does not answer: {plugin.broken}\n{plugin.stderr_tail(2000)}", pytrace=False)


@pytest.fixture(scope="session")
def capabilities(declaration) -> Capabilities:
    return Capabilities(declaration)


def pytest_configure(config):
    config.addinivalue_line("markers", f"{MARK}(*requirements): what a case needs from the backend's registry file")


def pytest_generate_tests(metafunc):
    """A cell class with `params(declaration)` has cases parametrized by the backend's file
    (the undeclared interfaces, the declared RPCs...)."""
    params = getattr(metafunc.cls, "params", None)
    if params is None:
        return
    for name, values in params(cell_declaration()).items():
        if name in metafunc.fixturenames:
            if not values:  # a fact, not pytest's "got empty parameter set ... at <path>"
                why = getattr(metafunc.cls, "none_reasons", {}).get(name, f"the backend has no {name.replace('_', ' ')} to check")
                values = [pytest.param(None, marks=pytest.mark.skip(reason=why))]
            metafunc.parametrize(name, values, ids=str)


def pytest_collection_modifyitems(session, config, items):
    """Before any case runs: a case whose requirements the registry file does not declare is a
    SKIP naming the file and field; a case the file lists under `deviations:` is a strict
    expected failure (an unexpected pass fails)."""
    _, cell = cell_from_environment()
    decl = cell_declaration()
    deviations = {d.case: d for d in decl.deviations if d.cell == cell and not d.row}
    rows: dict[str, dict[str, str]] = {}
    for d in decl.deviations:
        if d.cell == cell and d.row:
            rows.setdefault(d.case, {})[d.row] = f"declared in {decl.path}: {d.reason}"
    classes = {item.cls for item in items if item.cls is not None}
    known = set().union(*(case_names(c) for c in classes)) if classes else set()
    unknown = sorted((set(deviations) | set(rows)) - known)
    if classes and unknown:
        raise pytest.UsageError(
            f"{decl.path}: field 'deviations': cell {cell} has no case {', '.join(unknown)}; "
            f"fix: name one of {', '.join(sorted(known))}"
        )
    hypothesis_timeout = case_timeout_s() if CellName.parse(cell).kind.hypothesis else None
    for item in items:
        if hypothesis_timeout is not None:
            item.add_marker(pytest.mark.timeout(hypothesis_timeout))
        reasons = unmet(decl, [r for mark in item.iter_markers(MARK) for r in mark.args])
        if reasons:
            item.add_marker(pytest.mark.skip(reason="; ".join(reasons)))
            continue
        case = item.originalname.removeprefix("test_")
        if case in rows:
            _known_rows[item.nodeid] = rows[case]
        deviation = deviations.get(case)
        if deviation is not None:
            item.add_marker(pytest.mark.xfail(strict=True, reason=f"known deviation declared in {decl.path}: {deviation.reason}"))


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session):
    """The cell's CPU time (its own process, and plugin subprocesses it has reaped) and the RPCs it
    made, as report properties, for build-support/bin/bench-cells. Session fixtures are torn down by now."""
    import resource

    from _pytest.junitxml import xml_key

    xml = session.config.stash.get(xml_key, None)
    if xml is not None:
        own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime
        xml.add_global_property("cpu_s", f"{cpu:.3f}")
        xml.add_global_property("rpcs", str(calls_started()))
