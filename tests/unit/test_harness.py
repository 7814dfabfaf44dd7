"""The harness against real subprocesses: start, stop, hung and dying plugins."""

from __future__ import annotations

import os
import sys
import time

import grpc
import pytest

from prism.keyvalue.v1 import keyvalue_pb2 as pb
from prism.keyvalue.v1 import keyvalue_pb2_grpc as pb_grpc
from prism_accept.harness.process import PluginProcess, PluginStartError

HUNG_GET = """
import asyncio
from prism_memstore import build_plugin
from prism_plugin.runtime import main
from prism_plugin.contracts.keyvalue import basic

async def hang(self, request, context):
    await asyncio.Event().wait()

basic.Servicer.Get = hang
main(build_plugin)
"""


def gone(pid: int, within_s: float = 5.0) -> bool:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.02)
    return False


def test_memstore_plugin_starts_answers_and_leaves_nothing_behind():
    plugin = PluginProcess([sys.executable, "-m", "prism_memstore"]).start({"url": "embedded:"})
    pid = plugin.proc.pid
    assert plugin.info.name == "memstore" and "keyvalue_basic" in plugin.info.interfaces
    kv = pb_grpc.KeyValueBasicStub(plugin.channel)
    kv.Set(pb.SetRequest(namespace="n", key="k", value=b"v"))
    assert kv.Get(pb.GetRequest(namespace="n", key="k")).value == b"v"
    plugin.stop()
    assert gone(pid), "plugin process still alive after stop()"


def test_a_hung_plugin_fails_the_call_within_its_deadline():
    plugin = PluginProcess([sys.executable, "-c", HUNG_GET], call_deadline_s=1.0).start({"url": "embedded:"})
    pid = plugin.proc.pid
    try:
        kv = pb_grpc.KeyValueBasicStub(plugin.channel)
        t0 = time.monotonic()
        with pytest.raises(grpc.RpcError) as e:
            kv.Get(pb.GetRequest(namespace="n", key="k"))
        assert e.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
        assert time.monotonic() - t0 < 3
    finally:
        plugin.stop()
    assert gone(pid)


def test_a_plugin_exits_when_the_harness_goes_away():
    plugin = PluginProcess([sys.executable, "-m", "prism_memstore"]).start({"url": "embedded:"})
    proc = plugin.proc
    proc.stdin.close()  # what the kernel does when the harness dies
    assert proc.wait(timeout=5) == 0
    plugin.stop()


def test_a_plugin_that_dies_before_its_handshake_says_how_its_stderr_ends_and_keeps_it():
    """The first line is what a report's cell shows: it must hold the reason the plugin gave."""
    dies = "import sys; print('starting', file=sys.stderr); print('no module named prism.v9 redis://:pw@h:1', file=sys.stderr); sys.exit(3)"
    with pytest.raises(PluginStartError) as e:
        PluginProcess([sys.executable, "-c", dies]).start({"url": "x"})
    first = str(e.value).splitlines()[0]
    assert "exited with status 3 before its handshake; its stderr ends: starting | no module named prism.v9 redis://***@h:1" in first, first
    kept = first.split("(full log: ")[1].split(")")[0]
    assert "no module named prism.v9" in open(kept).read() and ":pw@" not in open(kept).read()
    os.unlink(kept)


def test_a_plugin_that_prints_something_else():
    with pytest.raises(PluginStartError, match="not a handshake line"):
        PluginProcess([sys.executable, "-c", "print('hello'); import threading; threading.Event().wait()"]).start({"url": "x"})


def test_a_plugin_that_never_answers():
    t0 = time.monotonic()
    with pytest.raises(PluginStartError, match="no handshake line within 1 s"):
        PluginProcess([sys.executable, "-c", "import threading; threading.Event().wait()"], startup_timeout_s=1).start({"url": "x"})
    assert time.monotonic() - t0 < 6


def test_initialize_failure_is_reported():
    with pytest.raises(PluginStartError, match=r"lifecycle call failed: UNAVAILABLE: cannot reach Redis"):
        PluginProcess([sys.executable, "-m", "prism_redis"]).start({"url": "redis://127.0.0.1:1/0"})


CHATTY = """
import sys
from prism_memstore import build_plugin
from prism_plugin import handshake, runtime

def announce_then_chatter(address):
    sys.stdout.write(handshake.format_line(address) + "\\n")
    sys.stdout.write("x" * 1_000_000 + "\\n")  # far more than a pipe holds
    sys.stdout.flush()

import asyncio
runtime._exit_when_stdin_closes()
asyncio.run(runtime.serve(build_plugin(), on_ready=announce_then_chatter))
"""


def test_a_plugin_that_writes_to_stdout_after_its_handshake_is_not_blocked():
    plugin = PluginProcess([sys.executable, "-c", CHATTY]).start({"url": "embedded:"})
    try:
        kv = pb_grpc.KeyValueBasicStub(plugin.channel)
        kv.Set(pb.SetRequest(namespace="n", key="k", value=b"v"))
        assert kv.Exists(pb.ExistsRequest(namespace="n", key="k")).exists
    finally:
        log = plugin._stderr.name
        plugin.stop()
    assert not os.path.exists(log), "plugin log left behind after stop()"


def test_a_failed_second_initialize_leaves_the_plugin_not_serving():
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    from prism.plugin.v1 import lifecycle_pb2, lifecycle_pb2_grpc

    plugin = PluginProcess([sys.executable, "-m", "prism_redis"]).start({"url": "redis://127.0.0.1:6379/0"})
    try:
        lifecycle = lifecycle_pb2_grpc.PluginLifecycleStub(plugin.channel)
        with pytest.raises(grpc.RpcError) as e:
            lifecycle.Initialize(lifecycle_pb2.InitializeRequest(settings={"url": "redis://127.0.0.1:6379/99999"}))
        assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT, e.value.details()
        status = health_pb2_grpc.HealthStub(plugin.channel).Check(health_pb2.HealthCheckRequest()).status
        assert status == health_pb2.HealthCheckResponse.NOT_SERVING
    finally:
        plugin.stop()


def test_initialize_against_a_server_that_is_not_redis_is_unavailable_not_internal():
    import socket
    import threading

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()

    def speak_http() -> None:
        conn, _ = server.accept()
        conn.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n")
        conn.close()

    threading.Thread(target=speak_http, daemon=True).start()
    port = server.getsockname()[1]
    with pytest.raises(PluginStartError, match=r"lifecycle call failed: (UNAVAILABLE|INVALID_ARGUMENT)"):
        PluginProcess([sys.executable, "-m", "prism_redis"]).start({"url": f"redis://127.0.0.1:{port}/0"})
    server.close()


def test_a_command_plugin_runs_in_its_authors_environment(monkeypatch):
    """Not on the harness's Python: no PYTHONPATH of ours, no PEX_* variables, our venv neither
    on PATH nor as VIRTUAL_ENV (a plugin in its own venv would load our protobuf)."""
    from prism_accept.harness.process import plugin_env

    ours = os.path.dirname(sys.executable)
    monkeypatch.setenv("PATH", os.pathsep.join([ours, "/usr/local/bin", "/usr/bin"]))
    monkeypatch.setenv("VIRTUAL_ENV", sys.prefix)
    monkeypatch.setenv("PEX_ROOT", "/tmp/pex")
    monkeypatch.setenv("PYTHONPATH", "/somewhere")
    env = plugin_env(shares_harness=False)
    assert (env["PATH"], "VIRTUAL_ENV" in env, "PEX_ROOT" in env, "PYTHONPATH" in env) == ("/usr/local/bin:/usr/bin", False, False, False)
    shared = plugin_env(shares_harness=True)
    assert shared["PYTHONPATH"] != "/somewhere" and ours in shared["PATH"]
