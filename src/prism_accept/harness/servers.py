"""Embedded servers: a server binary shipped inside an installed Python distribution (e.g. the
Kafka-protocol broker of noida-db), started for one cell on a free loopback port and stopped
with it (registry `instance.embedded` given as a mapping).

The binary itself is started, not a console-script wrapper (a wrapper killed may leave its
server running), in a session of its own, and on Linux with a parent-death signal, so that it
dies with the cell's process even when that process is killed. Its version comes from the
distribution's metadata, never from the registry file.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Callable

from prism_accept.harness.net import reachable
from prism_accept.registry import EmbeddedServer

STOP_TIMEOUT_S = 5.0
POLL_S = 0.02  # how often a starting server's port is tried, within its deadline
PR_SET_PDEATHSIG = 1


class ServerUnavailable(Exception):
    """The embedded server's distribution is not installed, or its binary is missing."""


class ServerStartError(Exception):
    """The embedded server did not start (exited, or did not open its port in time)."""


@dataclass
class StartedServer:
    url: str
    label: str
    pid: int
    stop: Callable[[], None]


def installed(spec: EmbeddedServer) -> tuple[Path, str]:
    """(the binary's path, the distribution's version); ServerUnavailable when not installed."""
    try:
        dist = metadata.distribution(spec.distribution)
    except metadata.PackageNotFoundError:
        raise ServerUnavailable(f"the Python distribution {spec.distribution} is not installed") from None
    binary = Path(str(dist.locate_file(spec.binary)))
    if not binary.is_file():
        raise ServerUnavailable(f"{spec.distribution} {dist.version} has no {spec.binary} (looked at {binary})")
    return binary, dist.version


def label(spec: EmbeddedServer, version: str) -> str:
    return spec.label.format(distribution=spec.distribution, version=version)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def command(spec: EmbeddedServer, binary: Path, port: int, data_dir: Path) -> list[str]:
    return [str(binary), *(a.format(port=port, data_dir=data_dir) for a in spec.args)]


def _executable(binary: Path, data_dir: Path) -> Path:
    """The binary, or a copy of it marked executable when the install dropped its mode bit."""
    if os.access(binary, os.X_OK):
        return binary
    copy = data_dir / "bin" / binary.name
    copy.parent.mkdir()
    shutil.copy2(binary, copy)
    copy.chmod(0o755)
    return copy


def _die_with_parent() -> None:  # runs in the child between fork and exec
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def _stopper(proc: subprocess.Popen, data_dir: Path) -> Callable[[], None]:
    def stop() -> None:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(STOP_TIMEOUT_S)
        shutil.rmtree(data_dir, ignore_errors=True)

    return stop


def _data_dir_prefix(spec: EmbeddedServer) -> str:
    return f"prism-{spec.distribution}-"


def sweep_data_dirs(spec: EmbeddedServer, root: Path | None = None) -> list[Path]:
    """Remove the data directories of cells that died without stopping their server (killed:
    the server died with them, its directory did not); each directory is named by its cell's pid."""
    return sweep_dirs(_data_dir_prefix(spec), root)


def sweep_dirs(prefix: str, root: Path | None = None) -> list[Path]:
    """Remove the directories `<prefix><pid>-*` whose cell (process pid) is gone."""
    removed = []
    for path in Path(root or tempfile.gettempdir()).glob(f"{prefix}*-*"):
        owner = path.name[len(prefix) :].split("-", 1)[0]
        if owner.isdigit() and not Path(f"/proc/{owner}").exists():
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def start(spec: EmbeddedServer) -> StartedServer:
    """Start the server on a free loopback port with a fresh data directory; return once its
    port accepts connections (within spec.ready_timeout_s)."""
    binary, version = installed(spec)
    sweep_data_dirs(spec)
    data_dir = Path(tempfile.mkdtemp(prefix=f"{_data_dir_prefix(spec)}{os.getpid()}-"))
    port = free_port()
    url = spec.url.format(port=port)
    argv = command(spec, _executable(binary, data_dir), port, data_dir / "data")
    log = data_dir / "server.log"  # a file, not a pipe: a chatty server never blocks on it
    with log.open("wb") as out:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
    stop = _stopper(proc, data_dir)
    deadline = time.monotonic() + spec.ready_timeout_s
    while not reachable(url, timeout_s=0.2):
        if proc.poll() is not None or time.monotonic() > deadline:
            exited = proc.poll()
            output = log.read_text(errors="replace")[-1000:]
            stop()
            why = f"exited with status {exited}" if exited is not None else f"did not open port {port} within {spec.ready_timeout_s} s"
            raise ServerStartError(f"{label(spec, version)}: {binary.name} {why}. {output}".strip())
        time.sleep(POLL_S)  # polling a port that is coming up, with a deadline
    return StartedServer(url=url, label=label(spec, version), pid=proc.pid, stop=stop)
