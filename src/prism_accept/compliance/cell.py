"""Fixtures of one compliance cell (pytest plugin, loaded by tests/compliance/test_cell.py).

The cell's backend and interface come from PRISM_BACKEND and PRISM_INTERFACE, which the
generated Pants targets set. The instance is resolved once per cell; none available is a
SKIP with the reason; a plugin that will not start is an ERROR."""

from __future__ import annotations

import os

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from prism_accept.harness.instances import InstanceUnavailable, resolve
from prism_accept.harness.process import PluginProcess, plugin_command
from prism_accept.registry import BackendDeclaration, load_backend
from prism_accept.suites.base import Capabilities

UNDECLARED = "undeclared"


def cell_from_environment() -> tuple[str, str]:
    backend, interface = os.environ.get("PRISM_BACKEND"), os.environ.get("PRISM_INTERFACE")
    if not backend or not interface:
        raise RuntimeError(
            "PRISM_BACKEND and PRISM_INTERFACE are unset: run a cell through Pants, e.g. "
            "./pants test tests/compliance:memstore#keyvalue_basic"
        )
    return backend, interface


@pytest.fixture(scope="session")
def declaration() -> BackendDeclaration:
    return load_backend(cell_from_environment()[0])


@pytest.fixture(scope="session")
def instance(declaration, record_testsuite_property):
    try:
        found = resolve(declaration)
    except InstanceUnavailable as e:
        pytest.skip(str(e))
    record_testsuite_property("instance", found.source if found.source == "embedded" else f"{found.url} ({found.source})")
    yield found
    found.stop()


@pytest.fixture(scope="session")
def plugin(declaration, instance, record_testsuite_property):
    """A started plugin connected to the instance: `channel`, `info`, `drop_namespace(ns)`."""
    process = PluginProcess(plugin_command(declaration.plugin), startup_timeout_s=declaration.plugin.startup_timeout_s)
    process.start(instance.settings)
    record_testsuite_property("backend_version", process.backend_version)
    record_testsuite_property("plugin", f"{process.info.name} {process.info.version}")
    yield process
    process.stop()


HEALTH_DEADLINE_S = 2.0


@pytest.fixture(autouse=True)
def plugin_still_answers(request):
    """Before each case, the plugin must answer its health check: once it has hung or died,
    every remaining case fails at once instead of waiting out its own deadlines."""
    if "plugin" not in request.fixturenames:
        return
    plugin = request.getfixturevalue("plugin")
    if plugin.broken:
        pytest.fail(f"plugin stopped answering earlier in this cell: {plugin.broken}", pytrace=False)
    try:
        health_pb2_grpc.HealthStub(plugin.channel).Check(health_pb2.HealthCheckRequest(), timeout=HEALTH_DEADLINE_S)
    except grpc.RpcError as e:
        plugin.broken = f"health check {e.code().name} ({e.details()}); exit status {plugin.proc.poll() if plugin.proc else None}"
        pytest.fail(f"plugin does not answer: {plugin.broken}\n{plugin.stderr_tail(2000)}", pytrace=False)


@pytest.fixture(scope="session")
def capabilities(declaration) -> Capabilities:
    return Capabilities(declaration)
