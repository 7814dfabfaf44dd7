"""Fixtures of one compliance cell (pytest plugin, loaded by tests/compliance/test_cell.py).

The cell's backend and interface come from PRISM_BACKEND and PRISM_INTERFACE, which the
generated Pants targets set. The instance is resolved once per cell; none available is a
SKIP with the reason; a plugin that will not start is an ERROR."""

from __future__ import annotations

import os

import pytest

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


@pytest.fixture(scope="session")
def capabilities(declaration) -> Capabilities:
    return Capabilities(declaration)
