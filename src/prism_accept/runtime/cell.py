"""Fixtures of compliance cells (pytest plugin, loaded by the cell files: tests/compliance/test_cell.py
and tests/compliance/cells/test_<cell>.py).

A pytest process runs one cell or several (Pants runs several cells of a column in one process when
`[prism-cells] batch` is on): each cell is one test class, and every fixture below is the class's
own. A class's cell is its `cell_address` (a cell file sets it), else PRISM_BACKEND, PRISM_VARIANT
(unset or empty: the backend's own instance) and PRISM_CELL. The instance is resolved once per
cell; none available is a SKIP with the reason; a plugin that will not start is an ERROR. An
instance the harness started (a server, a container) serves the column's later cells in the
same process too (runtime/instance_pool.py); every cell gets a plugin of its own.

What a cell records about itself (instance, plugin, CPU time, RPCs...) goes into the JUnit report
as testsuite properties named `<column>#<cell> <name>` (CellAddress.property_name), so one report can
hold several cells (prism_accept.reports.results splits it)."""

from __future__ import annotations

import functools
import os
import resource
from typing import Callable

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from prism_accept.cellname import CellAddress, Column
from prism_accept.harness.channel import calls_started
from prism_accept.harness.endpoint import ENDPOINT_ENV, EndpointPlugin
from prism_accept.harness.inprocess import InProcessPlugin, in_process_wanted
from prism_accept.harness.instances import Instance, InstanceUnavailable, cell_environ, resolve
from prism_accept.harness.journal import NamespaceJournal
from prism_accept.harness.process import PluginProcess, plugin_command
from prism_accept.harness.zygote import ZYGOTES
from prism_accept.models.profiles import case_timeout_s
from prism_accept.registry import BackendDeclaration, load_backend
from prism_accept.runtime.instance_pool import InstancePool
from prism_accept.runtime.kinds import case_names
from prism_accept.suites.base import Capabilities
from prism_accept.suites.requirements import MARK, unmet
from prism_accept.suites.rows import expect_rows, unchecked_rows

__all__ = ["cell_address", "cell_from_environment", "class_cell", "declaration_of"]
VARIANT_ENV = "PRISM_VARIANT"
CELL_ENV = "PRISM_CELL"


@functools.lru_cache(maxsize=None)
def declaration_of(column: Column) -> BackendDeclaration:
    """A column's declaration (the backend's, or its variant's), parsed once per process."""
    return load_backend(column.backend, variant=column.variant)


def cell_address() -> CellAddress:
    """The environment's cell, from PRISM_BACKEND, PRISM_VARIANT and PRISM_CELL."""
    backend, cell = cell_from_environment()
    return CellAddress.of(backend, cell, os.environ.get(VARIANT_ENV, ""))


def column_from_environment() -> Column:
    """The environment's backend and variant (a cell file names the cell itself)."""
    backend = os.environ.get("PRISM_BACKEND")
    if not backend:
        raise RuntimeError("PRISM_BACKEND is unset: run a cell through Pants, e.g. ./pants test tests/compliance:memstore#keyvalue_basic")
    return Column(backend, os.environ.get(VARIANT_ENV, ""))


def cell_from_environment() -> tuple[str, str]:
    """(backend, cell name) of the running cell, from PRISM_BACKEND and PRISM_CELL."""
    backend, cell = os.environ.get("PRISM_BACKEND"), os.environ.get("PRISM_CELL")
    if not backend or not cell:
        raise RuntimeError(
            "PRISM_BACKEND and PRISM_CELL are unset: run a cell through Pants, e.g. "
            "./pants test tests/compliance:memstore#keyvalue_basic"
        )
    return backend, cell


def class_cell(cls: type | None) -> CellAddress:
    """The cell a test class runs: its `cell_address`, else the environment's."""
    address = getattr(cls, "cell_address", None)
    return address if isinstance(address, CellAddress) else cell_address()


# The servers, containers and directories this process started for its cells, kept for the
# column's next cell (runtime/instance_pool.py) and stopped when the session ends.
INSTANCES = InstancePool()


def _cpu_s() -> float:
    """This process's CPU time, that of the children it has reaped (plugin subprocesses, servers)
    and that of the kept servers and of the zygotes (with the plugin processes they reaped) still running."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime + INSTANCES.live_cpu_s() + ZYGOTES.live_cpu_s()


class CellRecord:
    """Where a cell writes what it reports about itself, and what it has cost so far."""

    # The first cell of a process counts from the process's start: its imports and pytest's
    # start are part of what running it cost; a later cell of the same process counts from its own start.
    _first = True

    def __init__(self, address: CellAddress, record: Callable[[str, str], None]) -> None:
        self.address = address
        self._record = record
        self._cpu_start = 0.0 if CellRecord._first else _cpu_s()
        self._calls_start = 0 if CellRecord._first else calls_started()
        CellRecord._first = False

    def __call__(self, name: str, value: str) -> None:
        self._record(self.address.property_name(name), value)

    def calls(self) -> int:
        """The calls this cell's channels have started so far."""
        return calls_started() - self._calls_start

    def finish(self) -> None:
        """Its CPU time and RPCs, for build-support/bin/bench-cells."""
        self("cpu_s", f"{_cpu_s() - self._cpu_start:.3f}")
        self("rpcs", str(self.calls()))


@pytest.fixture(scope="class", autouse=True)
def cell_record(request, record_testsuite_property):
    """The cell's own record (set up before and torn down after its other fixtures, so its cost
    includes its plugin's and instance's start and stop)."""
    record = CellRecord(class_cell(request.cls), record_testsuite_property)
    _previous_case["passed"] = False
    # The plugin processes it starts see which cell they serve (build-support/coveragerc's context).
    outer = os.environ.get(CELL_ENV)
    os.environ[CELL_ENV] = str(record.address.cell)
    try:
        yield record
    finally:
        if outer is None:
            os.environ.pop(CELL_ENV, None)
        else:
            os.environ[CELL_ENV] = outer
        record.finish()


@pytest.fixture(scope="class")
def declaration(request) -> BackendDeclaration:
    return declaration_of(class_cell(request.cls).column)


@pytest.fixture(scope="session")
def kept_instances():
    """Stops what the cells of this process kept running, after the last of them."""
    yield INSTANCES
    try:
        INSTANCES.stop_all()
    finally:
        ZYGOTES.stop_all()


def _forget_namespaces(declaration: BackendDeclaration) -> Callable[[Instance], None]:
    """After an instance the harness started is stopped: its namespaces went with it, nothing
    for a later cell to sweep."""
    return lambda found: NamespaceJournal.for_instance(declaration.backend, found.url).remove()


@pytest.fixture(scope="class")
def instance(declaration, cell_record, kept_instances):
    try:
        found, kept = kept_instances.get(declaration.column, lambda: resolve(declaration, cell_environ()), _forget_namespaces(declaration))
    except InstanceUnavailable as e:
        pytest.skip(str(e))
    cell_record("instance", found.described)
    if kept:
        cell_record("instance_kept", "started by an earlier cell of this process")
    if declaration.variant_name:
        cell_record("variant", declaration.variant_name)
    if found.identity:
        cell_record("server_identity", found.identity)
    server = declaration.instance.server
    emulated = found.label is not None and server is not None and server.emulates
    cell_record("engine", f"{server.emulates} emulation" if emulated and server else declaration.engine)
    try:
        yield found
    finally:
        if not kept_instances.keeps(found):
            found.stop()


@pytest.fixture(scope="class")
def plugin(declaration, instance, cell_record):
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
        cell_record("swept_namespaces", str(len(swept)))
    cell_record("plugin_mode", PLUGIN_MODES.get(type(process), "subprocess"))
    cell_record("backend_version", process.backend_version)
    cell_record("plugin", f"{process.info.name} {process.info.version}")
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


_invalid: dict[type, str] = {}  # cell class -> why its registry file does not fit it


@pytest.fixture(autouse=True)
def cell_is_valid(request):
    """A cell whose registry file names cases it does not have runs none of its cases."""
    why = _invalid.get(request.cls)
    if why:
        pytest.fail(why, pytrace=False)


@pytest.fixture(autouse=True)
def known_rows(request, declaration, cell_is_valid):
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


@pytest.fixture(scope="class")
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
    for name, values in params(declaration_of(class_cell(metafunc.cls).column)).items():
        if name in metafunc.fixturenames:
            if not values:  # a fact, not pytest's "got empty parameter set ... at <path>"
                why = getattr(metafunc.cls, "none_reasons", {}).get(name, f"the backend has no {name.replace('_', ' ')} to check")
                values = [pytest.param(None, marks=pytest.mark.skip(reason=why))]
            metafunc.parametrize(name, values, ids=str)


def pytest_collection_modifyitems(session, config, items):
    """Before any case runs, for each cell (test class): a case whose requirements the registry
    file does not declare is a SKIP naming the file and field; a case the file lists under
    `deviations:` is a strict expected failure (an unexpected pass fails). The report learns
    which JUnit class is which cell (`<cell> class`)."""
    from _pytest.junitxml import mangle_test_address, xml_key

    xml = config.stash.get(xml_key, None)
    classes: dict[type, list] = {}
    for item in items:
        classes.setdefault(item.cls, []).append(item)
    for cls, cell_items in classes.items():
        if cls is None:
            continue
        address = class_cell(cls)
        if xml is not None:
            node = cell_items[0].parent
            xml.add_global_property(address.property_name("class"), ".".join(mangle_test_address(node.nodeid)))
        _mark_cell(address, cls, cell_items)


def _mark_cell(address: CellAddress, cls: type, items: list) -> None:
    cell = str(address.cell)
    decl = declaration_of(address.column)
    deviations = {d.case: d for d in decl.deviations if d.cell == cell and not d.row}
    rows: dict[str, dict[str, str]] = {}
    for d in decl.deviations:
        if d.cell == cell and d.row:
            rows.setdefault(d.case, {})[d.row] = f"declared in {decl.path}: {d.reason}"
    known = case_names(cls)
    unknown = sorted((set(deviations) | set(rows)) - known)
    if unknown:  # every case of this cell fails with it; the other cells of the process run
        _invalid[cls] = (
            f"{decl.path}: field 'deviations': cell {cell} has no case {', '.join(unknown)}; "
            f"fix: name one of {', '.join(sorted(known))}"
        )
    hypothesis_timeout = case_timeout_s() if address.cell.kind.hypothesis else None
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
