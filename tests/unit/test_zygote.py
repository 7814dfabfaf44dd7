"""Plugin processes forked from a zygote behave as fresh `python -m` processes: their own
session, the stdio and environment of their start, a real exit status; a crash is a real one."""

from __future__ import annotations

import os
import signal
import sys
import tempfile

import pytest

from prism_accept.harness.process import PluginProcess, plugin_env
from prism_accept.harness.zygote import SWITCH_ENV, ZYGOTES, Zygote, Zygotes

PROBE = "zygote_probe"  # tests/unit/zygote_probe.py


@pytest.fixture
def zygote():
    started = Zygote(PROBE, plugin_env()).start()
    yield started
    started.stop()


def run(zygote: Zygote, cell: str, stdin: bytes) -> tuple[int, str, str]:
    with tempfile.TemporaryFile() as stderr:
        child = zygote.spawn({**plugin_env(), "PRISM_CELL": cell}, stderr)
        child.stdin.write(stdin)
        child.stdin.close()
        out = child.stdout.read().decode()
        code = child.wait(timeout=10)
        stderr.seek(0)
        return code, out, stderr.read().decode()


def test_a_child_gets_its_own_stdio_environment_session_and_exit_status(zygote):
    assert run(zygote, "a#one", b"0") == (0, "cell=a#one argv0=zygote_probe.py pgid_is_pid=True\n", "stdin=0\n")
    code, out, err = run(zygote, "b#two", b"3")  # the same zygote, another cell's environment
    assert (code, out.split()[0], err) == (3, "cell=b#two", "stdin=3\n")


def test_a_killed_child_reports_the_signal_and_the_zygote_serves_on(zygote):
    with tempfile.TemporaryFile() as stderr:
        child = zygote.spawn(plugin_env(), stderr)
        assert child.stdout.readline().startswith(b"cell=")
        assert child.poll() is None  # waiting on its stdin
        os.killpg(child.pid, signal.SIGKILL)
        assert child.wait(timeout=10) == -signal.SIGKILL
        child.stdin.close()
    assert run(zygote, "c", b"0")[0] == 0


def test_a_memstore_plugin_forked_from_a_zygote_answers_and_exits_on_stdin_eof():
    plugin = PluginProcess([sys.executable, "-m", "prism_memstore"]).start({"url": "embedded:"})
    try:
        assert plugin.forked and plugin.info.name == "memstore"
        assert os.getpgid(plugin.proc.pid) == plugin.proc.pid
        plugin.proc.stdin.close()
        assert plugin.proc.wait(timeout=10) == 0
    finally:
        plugin.stop()


def test_only_python_m_commands_are_forked_and_the_switch_turns_it_off(monkeypatch):
    zygotes = Zygotes()
    assert zygotes.for_command([sys.executable, "-c", "pass"], plugin_env()) is None
    assert zygotes.for_command(["/usr/bin/env", "-m", PROBE], plugin_env()) is None
    monkeypatch.setenv(SWITCH_ENV, "off")
    assert zygotes.for_command([sys.executable, "-m", PROBE], plugin_env()) is None
    monkeypatch.delenv(SWITCH_ENV)
    try:
        first = zygotes.for_command([sys.executable, "-m", PROBE], {**plugin_env(), "PRISM_CELL": "x"})
        # PRISM_CELL is read at run time only: another cell's start is served by the same zygote
        assert first is not None and zygotes.for_command([sys.executable, "-m", PROBE], {**plugin_env(), "PRISM_CELL": "y"}) is first
        assert zygotes.live_cpu_s() > 0
    finally:
        zygotes.stop_all()


def test_a_module_that_does_not_import_starts_as_a_fresh_process_which_says_why():
    assert ZYGOTES.for_command([sys.executable, "-m", "no_such_plugin_module"], plugin_env()) is None
    with pytest.raises(Exception) as e:
        PluginProcess([sys.executable, "-m", "no_such_plugin_module"], startup_timeout_s=10).start({"url": "x"})
    assert "No module named no_such_plugin_module" in str(e.value)
