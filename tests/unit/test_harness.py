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
from prism_accept.plugins.memstore.plugin import build_plugin
from prism_accept.plugins.runtime import main
from prism_accept.plugins.servicers.keyvalue import KeyValueBasic

async def hang(self, request, context):
    await asyncio.Event().wait()

KeyValueBasic.Get = hang
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
    plugin = PluginProcess([sys.executable, "-m", "prism_accept.plugins.memstore"]).start({"url": "embedded:"})
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
    plugin = PluginProcess([sys.executable, "-m", "prism_accept.plugins.memstore"]).start({"url": "embedded:"})
    proc = plugin.proc
    proc.stdin.close()  # what the kernel does when the harness dies
    assert proc.wait(timeout=5) == 0
    plugin.stop()


def test_a_plugin_that_dies_before_its_handshake():
    with pytest.raises(PluginStartError, match=r"exited with status 3 before its handshake(.|\n)*boom"):
        PluginProcess([sys.executable, "-c", "import sys; print('boom', file=sys.stderr); sys.exit(3)"]).start({"url": "x"})


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
        PluginProcess([sys.executable, "-m", "prism_accept.plugins.redis"]).start({"url": "redis://127.0.0.1:1/0"})


CHATTY = """
import sys
from prism_accept.plugins.memstore.plugin import build_plugin
from prism_accept.plugins import runtime

def announce_then_chatter(address):
    sys.stdout.write(runtime.handshake.format_line(address) + "\\n")
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
