"""Start a plugin as a real subprocess, connect to it, and make sure it is gone afterwards.

Start-up: the plugin prints the handshake line (prism_accept.harness.handshake), the harness
waits until the health service answers, calls PluginLifecycle.Initialize with the instance's
settings, and checks health is SERVING. Stop: close stdin (the plugin exits on EOF), then
SIGTERM and SIGKILL to its process group, so nothing is left behind even if a case hung.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from prism.plugin.v1 import lifecycle_pb2, lifecycle_pb2_grpc
from prism_accept.harness import handshake
from prism_accept.harness.channel import DEFAULT_DEADLINE_S, open_channel
from prism_accept.harness.handle import PluginHandle
from prism_accept.harness.zygote import ZYGOTES, ZygoteChild
from prism_accept.redact import redact
from prism_accept.registry import PluginLaunch


class PluginStartError(Exception):
    """The plugin did not come up; the message says what happened and ends with its stderr."""


COVERAGE_ENV = "PRISM_PLUGIN_COVERAGE"  # a coverage.py config file: measure `plugin.module` plugins under it
SDK_PACKAGE = "prism_plugin"  # the Python plugin SDK, measured with every Python plugin


def plugin_command(launch: PluginLaunch) -> list[str]:
    """The plugin's command line. With PRISM_PLUGIN_COVERAGE set (build-support/bin/coverage sets
    it), a `plugin.module` plugin runs under `coverage run` with that config file (its data file,
    branch, relative_files, context, and `patch = _exit` so the SDK's os._exit on stdin EOF saves
    the data), measuring the plugin's package and the SDK; unset, the command is unchanged."""
    if launch.module:
        rcfile = os.environ.get(COVERAGE_ENV)
        if rcfile:
            source = f"--source={launch.module.partition('.')[0]},{SDK_PACKAGE}"
            return [sys.executable, "-m", "coverage", "run", f"--rcfile={rcfile}", "--parallel-mode", source, "-m", launch.module]
        return [sys.executable, "-m", launch.module]
    return list(launch.command)


def plugin_env(shares_harness: bool = True) -> dict[str, str]:
    """The environment of a plugin process. A `plugin.module` plugin runs on the harness's own
    Python and sees the same modules (in a Pants sandbox too); a `plugin.command` plugin runs in
    the environment its author gave it, without the harness's Python (a PEX's venv on PATH, its
    VIRTUAL_ENV or PYTHONPATH would load the harness's protobuf into the author's plugin)."""
    env = dict(os.environ)
    if shares_harness:
        env["PYTHONPATH"] = os.pathsep.join(os.path.abspath(p) for p in sys.path if p)
    else:
        env = {k: v for k, v in env.items() if not k.startswith("PEX") and k != "PYTHONPATH"}
        if sys.prefix != sys.base_prefix:  # the harness runs in a venv (a PEX's, Pants'): keep it to ourselves
            venv = os.path.realpath(sys.prefix)
            if env.get("VIRTUAL_ENV") and os.path.realpath(env["VIRTUAL_ENV"]) == venv:
                del env["VIRTUAL_ENV"]
            paths = env.get("PATH", "").split(os.pathsep)
            env["PATH"] = os.pathsep.join(p for p in paths if p and not os.path.realpath(p).startswith(venv + os.sep))
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


@dataclass
class PluginProcess(PluginHandle):
    command: list[str]
    startup_timeout_s: float = 20.0
    shares_harness: bool = True  # runs on the harness's Python (plugin.module): plugin_env
    call_deadline_s: float = DEFAULT_DEADLINE_S
    proc: subprocess.Popen | ZygoteChild | None = None
    forked: bool = False  # forked from a zygote that had imported the plugin (harness/zygote.py)
    _stderr: tempfile._TemporaryFileWrapper | None = field(default=None, repr=False)
    _raw: grpc.Channel | None = field(default=None, repr=False)

    def stderr_tail(self, limit: int = 4000) -> str:
        if self._stderr is None:
            return ""
        self._stderr.flush()
        with open(self._stderr.name, "rb") as f:
            data = f.read()
        return data[-limit:].decode(errors="replace")

    def _fail(self, what: str) -> PluginStartError:
        """The error of a start that failed: its first line (what a report's cell shows) ends
        with the last lines of the plugin's stderr and where its whole log was kept."""
        tail = redact(self.stderr_tail())
        kept = self._keep_log()
        self.stop()
        last = " | ".join(line.strip() for line in tail.strip().splitlines()[-3:])
        first = what + (f"; its stderr ends: {last}" if last else "; it wrote nothing to stderr") + (f" (full log: {kept})" if kept else "")
        return PluginStartError(f"{first} (command: {' '.join(self.command)})" + (f"\n--- plugin stderr ---\n{tail}" if tail else ""))

    def _keep_log(self) -> str:
        """A copy of the plugin's stderr (redacted) under ~/.cache/prism-accept/plugin-logs/,
        which outlives the cell's sandbox; "" when there is nothing to keep."""
        if self._stderr is None:
            return ""
        self._stderr.flush()
        with open(self._stderr.name, "rb") as f:
            data = f.read()
        if not data:
            return ""
        logs = Path.home() / ".cache" / "prism-accept" / "plugin-logs"
        try:
            logs.mkdir(parents=True, exist_ok=True)
            kept = logs / f"{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}-{Path(self._stderr.name).stem}.stderr"
            kept.write_text(redact(data.decode(errors="replace")))
        except OSError:
            return self._stderr.name
        return str(kept)

    def _read_handshake(self) -> str:
        """The first stdout line; stdout is then drained into the log, so a chatty plugin
        never blocks on a full pipe."""
        assert self.proc is not None and self.proc.stdout is not None
        stdout, log = self.proc.stdout, self._stderr
        first: list[str] = []
        got_first = threading.Event()

        def pump() -> None:
            first.append(stdout.readline().decode(errors="replace"))
            got_first.set()
            assert log is not None
            try:
                for line in stdout:
                    log.write(b"[stdout] " + line)
                    log.flush()
            except (ValueError, OSError):  # the log was closed by stop()
                pass

        threading.Thread(target=pump, name="plugin-stdout", daemon=True).start()
        if not got_first.wait(self.startup_timeout_s):
            raise self._fail(f"no handshake line within {self.startup_timeout_s:.0f} s")
        if not first[0]:
            raise self._fail(f"plugin exited with status {self.proc.wait(timeout=5)} before its handshake")
        try:
            return handshake.parse_line(first[0])
        except ValueError as e:
            raise self._fail(str(e)) from e

    def _forked(self, env: dict[str, str]) -> ZygoteChild | None:
        """The plugin forked from its zygote, where one serves its command; None: start it afresh
        (another command, the zygote is off, gone or refused)."""
        zygote = ZYGOTES.for_command(self.command, env) if self.shares_harness else None
        if zygote is None or self._stderr is None:
            return None
        try:
            return zygote.spawn(env, self._stderr)
        except OSError:
            return None

    def start(self, settings: dict[str, str]) -> "PluginProcess":
        self._stderr = tempfile.NamedTemporaryFile(prefix="prism-plugin-", suffix=".stderr", delete=False)
        env = plugin_env(self.shares_harness)
        forked = self._forked(env)
        self.forked = forked is not None
        try:
            self.proc = forked or subprocess.Popen(
                self.command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr, env=env, start_new_session=True
            )
        except OSError as e:
            raise self._fail(f"cannot start the plugin: {e}") from e
        self.address = self._read_handshake()
        try:
            self._raw, self.channel, self.info, self.backend_version = connect(
                self.address, settings, self.call_deadline_s, self.startup_timeout_s, self.proc
            )
        except PluginStartError as e:
            raise self._fail(str(e)) from e
        return self

    def stop(self, grace_s: float = 3.0) -> None:
        if self._raw is not None:
            self._raw.close()
            self._raw = self.channel = None
        proc, self.proc = self.proc, None
        if proc is None:
            return
        if proc.stdin:
            try:
                proc.stdin.close()
            except OSError:
                pass
        try:
            proc.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            for sig in (signal.SIGTERM, signal.SIGKILL):
                try:
                    os.killpg(proc.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    proc.wait(timeout=grace_s)
                    break
                except subprocess.TimeoutExpired:
                    continue
        # Children the plugin may have started share its process group.
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        if self._stderr is not None:
            self._stderr.close()
            os.unlink(self._stderr.name)
            self._stderr = None


def connect(
    address: str,
    settings: dict[str, str],
    call_deadline_s: float,
    startup_timeout_s: float = 20.0,
    proc: subprocess.Popen | ZygoteChild | None = None,
):
    """Wait for the plugin's health service, GetInfo, Initialize, and check health is SERVING.
    Returns (raw channel, channel with deadlines, info, backend version)."""
    raw, channel = open_channel(address, call_deadline_s)
    try:
        health = health_pb2_grpc.HealthStub(channel)
        deadline = time.monotonic() + startup_timeout_s
        last = ""
        while True:
            if proc is not None and proc.poll() is not None:
                raise PluginStartError(f"plugin exited with status {proc.returncode}")
            if time.monotonic() >= deadline:
                raise PluginStartError(f"health service did not answer within {startup_timeout_s:.0f} s ({last})")
            try:
                health.Check(health_pb2.HealthCheckRequest(), timeout=1.0, wait_for_ready=True)
                break
            except grpc.RpcError as e:
                last = f"{e.code().name}: {e.details()}"
        lifecycle = lifecycle_pb2_grpc.PluginLifecycleStub(channel)
        try:
            info = lifecycle.GetInfo(lifecycle_pb2.GetInfoRequest())
            version = lifecycle.Initialize(lifecycle_pb2.InitializeRequest(settings=settings)).backend_version
        except grpc.RpcError as e:
            raise PluginStartError(f"lifecycle call failed: {e.code().name}: {e.details()}") from e
        status = health.Check(health_pb2.HealthCheckRequest()).status
        if status != health_pb2.HealthCheckResponse.SERVING:
            raise PluginStartError(f"health is {health_pb2.HealthCheckResponse.ServingStatus.Name(status)} after Initialize, want SERVING")
    except BaseException:
        raw.close()
        raise
    return raw, channel, info, version
