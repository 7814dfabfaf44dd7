"""Embedded servers: a server binary shipped inside an installed Python distribution (e.g. the
Kafka-protocol broker of noida-db), started for one cell on a free loopback port and stopped
with it (registry `instance.embedded` given as a mapping).

The binary itself is started, not a console-script wrapper (a wrapper killed may leave its
server running), in a session of its own, and on Linux with a parent-death signal, so that it
dies with the cell's process even when that process is killed. Its version comes from the
distribution's metadata, never from the registry file.

A server whose data directory takes seconds to make (PostgreSQL's initdb) declares a `template`:
it is made once per machine and distribution version under ~/.cache/prism-accept/templates/,
under a lock, and each cell's {data_dir} is a copy of it, removed with the cell. A server that
refuses to run as root (PostgreSQL) names a `user`: when the harness is root, the template, a
copy of the distribution's files it needs (root's home is private) and the server run as that
user, from that user's ~/.cache/prism-accept. Readiness is the server's own answer where the
protocol has one (net.server_identity: PostgreSQL accepts connections before it is ready), else
an open port.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Callable, Iterator

from prism_accept.harness.net import IDENTITY_SCHEMES, reachable, server_identity
from prism_accept.registry import EmbeddedServer

STOP_TIMEOUT_S = 5.0
POLL_S = 0.02  # how often a starting server's port is tried, within its deadline
PR_SET_PDEATHSIG = 1
TEMPLATE_TIMEOUT_S = 120.0  # making a template (initdb: seconds), waiting for another cell's too
CACHE = Path(".cache/prism-accept")  # under the home of whoever runs the server
SHARED_MEMORY = Path("/dev/shm")


def data_root() -> Path:
    """Where a cell's server keeps its data: in memory where the machine has a tmpfs (copying
    PostgreSQL's template cluster there takes 0.3 s, not 4-7 s on a busy disk), else the temp dir."""
    if SHARED_MEMORY.is_dir() and os.access(SHARED_MEMORY, os.W_OK | os.X_OK):
        return SHARED_MEMORY
    return Path(tempfile.gettempdir())


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
    identity: str = ""  # what the server says it is (net.server_identity), where its protocol tells


@dataclass(frozen=True)
class RunAs:
    """Who runs the server: this process, or (root, and the server refuses root) `user`."""

    uid: int | None = None  # None: this process's user
    gid: int | None = None
    home: Path = field(default_factory=Path.home)

    @classmethod
    def for_server(cls, spec: EmbeddedServer) -> RunAs:
        if not spec.user or os.geteuid() != 0:
            return cls()
        try:
            entry = pwd.getpwnam(spec.user)
        except KeyError:
            raise ServerUnavailable(f"{spec.distribution} refuses to run as root and there is no user {spec.user!r} to run it as") from None
        return cls(entry.pw_uid, entry.pw_gid, Path(entry.pw_dir))

    @property
    def cache(self) -> Path:
        return self.home / CACHE

    def own(self, path: Path) -> None:
        """Hand a directory tree the harness made to the server's user."""
        if self.uid is None:
            return
        for p in (path, *path.rglob("*")):
            os.lchown(p, self.uid, self.gid or -1)

    def popen_args(self) -> dict:
        return {} if self.uid is None else {"user": self.uid, "group": self.gid, "extra_groups": []}


def installed(spec: EmbeddedServer, path: str | None = None) -> tuple[Path, str]:
    """(the binary's path, the distribution's version); ServerUnavailable when not installed.
    `path`: another file of the distribution (the template's binary)."""
    try:
        dist = metadata.distribution(spec.distribution)
    except metadata.PackageNotFoundError:
        raise ServerUnavailable(f"the Python distribution {spec.distribution} is not installed") from None
    wanted = path or spec.binary
    binary = Path(os.path.normpath(str(dist.locate_file(wanted))))  # a script's `../../../bin/x`
    if not binary.is_file():
        raise ServerUnavailable(f"{spec.distribution} {dist.version} has no {wanted} (looked at {binary})")
    return binary, dist.version


def label(spec: EmbeddedServer, version: str) -> str:
    return spec.label.format(distribution=spec.distribution, version=version)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def command(spec: EmbeddedServer, binary: Path, port: int, data_dir: Path) -> list[str]:
    return [str(binary), *(a.format(port=port, data_dir=data_dir) for a in spec.args)]


@contextlib.contextmanager
def _locked(path: Path, timeout_s: float) -> Iterator[None]:
    """An exclusive lock on `path` between processes (cells starting side by side), with a deadline."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as f:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise ServerStartError(f"{path} stayed locked for {timeout_s} s (another cell making the template?)") from None
                time.sleep(POLL_S)  # polling a lock another process holds, with a deadline
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _installed_copy(spec: EmbeddedServer, binary: Path, version: str, run_as: RunAs) -> Path:
    """The binary as the server's user can run it: a copy of the distribution's directories it
    needs (install_dirs, keeping their layout: a bundled library is found by a relative rpath)
    under that user's cache, made once per version (root's home, where Pants keeps the
    distribution, is closed to other users)."""
    if run_as.uid is None:
        return binary
    dist = metadata.distribution(spec.distribution)
    dirs = spec.install_dirs or (str(Path(spec.binary).parent),)
    target = run_as.cache / "installs" / f"{spec.distribution}-{version}"
    with _locked(_lock_of(target), TEMPLATE_TIMEOUT_S):
        if not (target / ".complete").is_file():
            staging = Path(tempfile.mkdtemp(prefix=target.name + ".", dir=target.parent))
            for rel in dirs:
                shutil.copytree(Path(str(dist.locate_file(rel))), staging / "tree" / rel, symlinks=True)
            (staging / "tree" / ".complete").touch()
            run_as.own(staging)
            shutil.rmtree(target, ignore_errors=True)
            os.replace(staging / "tree", target)
            staging.rmdir()
    return target / os.path.relpath(binary, Path(str(dist.locate_file(""))))


def _lock_of(target: Path) -> Path:
    return target.parent / f"{target.name}.lock"


def template_dir(spec: EmbeddedServer, version: str, run_as: RunAs) -> Path:
    """The template data directory of this distribution and version, made once per machine
    (under a lock: cells start side by side) and reused by every cell after."""
    assert spec.template is not None
    target = run_as.cache / "templates" / f"{spec.distribution}-{version}"
    with _locked(_lock_of(target), TEMPLATE_TIMEOUT_S):
        if (target / ".complete").is_file():
            return target
        binary, _ = installed(spec, spec.template.binary)
        binary = _installed_copy(spec, binary, version, run_as)
        staging = Path(tempfile.mkdtemp(prefix=target.name + ".", dir=target.parent))
        run_as.own(staging)
        made = staging / "data"
        argv = [str(binary), *(a.format(template_dir=made) for a in spec.template.args)]
        done = subprocess.run(
            argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=TEMPLATE_TIMEOUT_S, cwd=staging, **run_as.popen_args()
        )
        if done.returncode != 0:
            shutil.rmtree(staging, ignore_errors=True)
            output = (done.stdout + done.stderr).decode(errors="replace")[-1000:]
            why = f"{binary.name} (the template) exited with status {done.returncode}"
            raise ServerStartError(f"{spec.distribution} {version}: {why}. {output}")
        (made / ".complete").touch()
        run_as.own(made)
        shutil.rmtree(target, ignore_errors=True)
        os.replace(made, target)
        staging.rmdir()
    return target


def _data_copy(template: Path, data: Path, run_as: RunAs) -> None:
    shutil.copytree(template, data, symlinks=True, ignore=shutil.ignore_patterns(".complete"))
    data.chmod(0o700)  # PostgreSQL refuses a data directory others can read
    run_as.own(data.parent)


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
    return sweep_dirs(_data_dir_prefix(spec), root or data_root())


def sweep_dirs(prefix: str, root: Path | None = None) -> list[Path]:
    """Remove the directories `<prefix><pid>-*` whose cell (process pid) is gone."""
    removed = []
    for path in Path(root or tempfile.gettempdir()).glob(f"{prefix}*-*"):
        owner = path.name[len(prefix) :].split("-", 1)[0]
        if owner.isdigit() and not Path(f"/proc/{owner}").exists():
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def ready(url: str) -> str | None:
    """What the server says it is once it serves (net.server_identity; "" for a protocol without
    an identity, once its port is open), None while it is not ready (PostgreSQL: "the database
    system is starting up" is an error, not an identity)."""
    if url.split("://", 1)[0].lower() not in IDENTITY_SCHEMES:
        return "" if reachable(url, timeout_s=0.2) else None
    identity = server_identity(url, timeout_s=0.5)
    if identity is None or " protocol: " in identity or identity.startswith("postgresql error"):
        return None
    return identity


def start(spec: EmbeddedServer, name: str = "") -> StartedServer:
    """Start the server on a free loopback port with a fresh data directory (a copy of its
    template, if it has one); return once it serves (within spec.ready_timeout_s). `name` (a
    variant's, e.g. redis.valkey-8.1) leads every error."""
    binary, version = installed(spec)
    who = f"{name}: " if name else ""
    run_as = RunAs.for_server(spec)
    template = template_dir(spec, version, run_as) if spec.template else None
    binary = _installed_copy(spec, binary, version, run_as)
    sweep_data_dirs(spec)
    data_dir = Path(tempfile.mkdtemp(prefix=f"{_data_dir_prefix(spec)}{os.getpid()}-", dir=data_root()))
    if template is not None:
        _data_copy(template, data_dir / "data", run_as)
    else:
        (data_dir / "data").mkdir()
    run_as.own(data_dir)
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
            cwd=data_dir,
            **run_as.popen_args(),
        )
    stop = _stopper(proc, data_dir)
    deadline = time.monotonic() + spec.ready_timeout_s
    identity = ready(url)
    while identity is None:
        if proc.poll() is not None or time.monotonic() > deadline:
            exited = proc.poll()
            stop_output = log.read_text(errors="replace")[-1000:] if log.is_file() else ""
            stop()
            why = f"exited with status {exited}" if exited is not None else f"was not ready on port {port} within {spec.ready_timeout_s} s"
            raise ServerStartError(f"{who}{label(spec, version)}: {binary.name} {why}. {stop_output}".strip())
        time.sleep(POLL_S)  # polling a server that is coming up, with a deadline
        identity = ready(url)
    return StartedServer(url=url, label=label(spec, version), pid=proc.pid, stop=stop, identity=identity)
