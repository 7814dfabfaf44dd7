"""Embedded and private servers: a server binary shipped inside an installed Python distribution
(e.g. the Kafka-protocol broker of noida-db), or a binary of the machine (an absolute path:
Debian's redis-server, mosquitto, mariadbd), started for one cell on a free loopback port and
stopped with it (registry `instance.embedded` given as a mapping; `instance.private`, the server a
chaos or replicas cell starts for itself: start_private).

A started server can be crashed and brought back for fault cells (StartedServer.kill, restart,
pause, resume): restart runs the same argv on the same port over the same data directory; only
stop() removes that directory. A machine binary's version is what the binary says
(`<binary> --version`, else its protocol's identity); a missing one is ServerUnavailable naming
the Debian package that provides it.

The binary itself is started, not a console-script wrapper (a wrapper killed may leave its
server running), in a session of its own, and on Linux with a parent-death signal, so that it
dies with the cell's process even when that process is killed. The signal follows the thread that
forked, so every server (and every restart) is forked by one long-lived thread of this module,
never by a caller's thread that may end before the cell. Its version comes from the
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
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any, Iterator

from prism_accept.harness.net import IDENTITY_SCHEMES, reachable, server_identity
from prism_accept.registry import BackendDeclaration, EmbeddedServer

STOP_TIMEOUT_S = 5.0
POLL_S = 0.02  # how often a starting server's port is tried, within its deadline
PR_SET_PDEATHSIG = 1
TEMPLATE_TIMEOUT_S = 120.0  # making a template (initdb: seconds), waiting for another cell's too
CACHE = Path(".cache/prism-accept")  # under the home of whoever runs the server
SHARED_MEMORY = Path("/dev/shm")
VERSION_TIMEOUT_S = 5.0  # `<machine binary> --version`
SIGNAL_TIMEOUT_S = 5.0  # a signalled process group reaching its new state (killed, stopped, running)
VERSION = re.compile(r"\d+\.\d+(?:\.\d+)?")
# Forks every server: PR_SET_PDEATHSIG fires when the forking *thread* ends, and this one lives as
# long as the process (a caller's worker thread may end while the cell, and its server, go on).
_SPAWNER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="prism-servers")


def data_root() -> Path:
    """Where a cell's server keeps its data: in memory where the machine has a tmpfs (copying
    PostgreSQL's template cluster there takes 0.3 s, not 4-7 s on a busy disk), else the temp dir."""
    if SHARED_MEMORY.is_dir() and os.access(SHARED_MEMORY, os.W_OK | os.X_OK):
        return SHARED_MEMORY
    return Path(tempfile.gettempdir())


class ServerUnavailable(Exception):
    """The server's distribution is not installed, or its binary (of the distribution, or of the
    machine) is missing; a cell without its server is a SKIP with this reason."""


class ServerStartError(Exception):
    """The embedded server did not start (exited, or did not open its port in time)."""


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
            raise ServerUnavailable(f"{spec.name} refuses to run as root and there is no user {spec.user!r} to run it as") from None
        home = Path(entry.pw_dir)
        if not home.is_dir():  # a service account's /nonexistent (mysql): a home of its own under the temp dir
            home = Path(tempfile.gettempdir()) / f"prism-accept-home-{entry.pw_name}"
            home.mkdir(mode=0o700, exist_ok=True)
            os.chown(home, entry.pw_uid, entry.pw_gid)
        return cls(entry.pw_uid, entry.pw_gid, home)

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
    """(the binary's path, the distribution's version, or what a machine binary says it is: ""
    when it does not say); ServerUnavailable when not installed. `path`: another file of the
    distribution, or of the machine (the template's binary)."""
    if spec.machine:
        binary = Path(path or spec.binary)
        if not (binary.is_file() and os.access(binary, os.X_OK)):
            package = spec.package or "that provides it"
            raise ServerUnavailable(f"{binary} is not installed: the Debian package {package} provides it (apt-get install {package})")
        return binary, machine_version(str(binary)) if path is None else ""
    try:
        dist = metadata.distribution(spec.distribution)
    except metadata.PackageNotFoundError:
        raise ServerUnavailable(f"the Python distribution {spec.distribution} is not installed") from None
    wanted = path or spec.binary
    binary = Path(os.path.normpath(str(dist.locate_file(wanted))))  # a script's `../../../bin/x`
    if not binary.is_file():
        raise ServerUnavailable(f"{spec.distribution} {dist.version} has no {wanted} (looked at {binary})")
    return binary, dist.version


@lru_cache(maxsize=None)
def machine_version(binary: str) -> str:
    """What a machine binary says its version is (`--version`: redis-server, mariadbd, postgres,
    nats-server; mosquitto prints it after refusing the option), "" when it says none."""
    try:
        done = subprocess.run([binary, "--version"], stdin=subprocess.DEVNULL, capture_output=True, timeout=VERSION_TIMEOUT_S)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    found = VERSION.search((done.stdout + done.stderr).decode(errors="replace"))
    return found.group(0) if found else ""


def label(spec: EmbeddedServer, version: str) -> str:
    return spec.label.format(distribution=spec.name, package=spec.package or "", version=version or "(version unknown)")


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
    if run_as.uid is None or spec.machine:  # a machine binary: every user can run it where it is
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
    target = run_as.cache / "templates" / f"{spec.name}-{version}"
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
            raise ServerStartError(f"{spec.name} {version}: {why}. {output}")
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


def _die_with(parent: int) -> Any:
    def die_with_parent() -> None:  # runs in the child between fork and exec
        if sys.platform.startswith("linux"):
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent:  # the parent died before the signal was armed
            os._exit(1)

    return die_with_parent


def _group_members(pgid: int) -> dict[int, str]:
    """The live processes of a server, and their states (R, S, T, ...): its process group and
    every descendant of its leader (PostgreSQL's backends each call setsid(), so a signal to the
    group alone leaves them running); zombies left out (a container's pid 1 may never reap the
    orphans of a killed server)."""
    table: dict[int, tuple[str, int, int]] = {}  # pid -> (state, ppid, pgrp)
    for name in os.listdir("/proc"):  # half the CPU time of Path.glob and read_text: chaos faults poll this
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                fields = f.read().rpartition(b")")[2].split()
        except OSError:
            continue  # exited while read
        if len(fields) > 2:
            table[int(name)] = (fields[0].decode(), int(fields[1]), int(fields[2]))
    members = {pid for pid, (_, _, pgrp) in table.items() if pgrp == pgid}
    children: dict[int, list[int]] = {}
    for pid, (_, ppid, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    todo = [pgid] if pgid in table else []
    while todo:
        pid = todo.pop()
        members.add(pid)
        todo.extend(c for c in children.get(pid, ()) if c not in members)
    return {pid: table[pid][0] for pid in members if table[pid][0] not in ("Z", "X")}


def _until(done: Any, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not done():
        if time.monotonic() > deadline:
            raise ServerStartError(f"{what} within {timeout_s} s")
        time.sleep(POLL_S)  # polling a process group changing state, with a deadline


class StartedServer:
    """A server started for one cell (start, start_private). kill/restart/pause/resume are the
    faults of chaos cells; each returns once in force, within a deadline. Thread-safe."""

    def __init__(self, spec: EmbeddedServer, who: str, version: str, argv: list[str], port: int, cell_dir: Path, run_as: RunAs):
        self.spec, self.port, self.cell_dir = spec, port, cell_dir
        self.url = spec.url.format(port=port)
        self.version = version
        self.label = label(spec, version)
        self.identity = ""  # what the server says it is (net.server_identity), where its protocol tells
        self._who, self._argv, self._run_as = who, argv, run_as
        self._proc: subprocess.Popen | None = None
        self._lock = threading.RLock()
        self._stopped = False

    @property
    def data_dir(self) -> Path:
        """The server's {data_dir}: kept by kill and restart, removed by stop."""
        return self.cell_dir / "data"

    @property
    def log(self) -> Path:
        return self.cell_dir / "server.log"  # a file, not a pipe: a chatty server never blocks on it

    @property
    def pid(self) -> int:
        """The server process's pid (its process group's id); a restart gives a new one."""
        assert self._proc is not None
        return self._proc.pid

    def _spawn(self) -> None:
        def fork() -> subprocess.Popen:
            with self.log.open("ab") as out:
                return subprocess.Popen(
                    self._argv,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                    preexec_fn=_die_with(os.getpid()),
                    cwd=self.cell_dir,
                    **self._run_as.popen_args(),
                )

        self._proc = _SPAWNER.submit(fork).result()

    def _await_ready(self) -> None:
        """Poll the server's protocol until it answers (ready()); ServerStartError naming why
        (exited, or not ready within spec.ready_timeout_s), the server killed and its log quoted."""
        assert self._proc is not None
        deadline = time.monotonic() + self.spec.ready_timeout_s
        identity = ready(self.url)
        while identity is None:
            exited = self._proc.poll()
            if exited is not None or time.monotonic() > deadline:
                output = self.log.read_text(errors="replace")[-1000:] if self.log.is_file() else ""
                self._kill()
                if exited is not None:
                    why = f"exited with status {exited}"
                else:
                    why = f"was not ready on port {self.port} within {self.spec.ready_timeout_s} s"
                name = Path(self._argv[0]).name
                raise ServerStartError(f"{self._who}{self.label}: {name} {why}. {output}".strip())
            time.sleep(POLL_S)  # polling a server that is coming up, with a deadline
            identity = ready(self.url)
        self.identity = identity
        if not self.version:  # a machine binary that said no version: its protocol's identity may
            found = VERSION.search(identity)
            if found:
                self.version, self.label = found.group(0), label(self.spec, found.group(0))

    def _signal(self, sig: int) -> None:
        """`sig` to the server's group and to every process of its tree (_group_members)."""
        members = _group_members(self.pid)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, sig)
        for pid in members:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, sig)

    def _kill(self) -> None:
        if self._proc is None:
            return
        self._signal(signal.SIGKILL)
        self._proc.wait(STOP_TIMEOUT_S)
        _until(lambda: not _group_members(self.pid), SIGNAL_TIMEOUT_S, f"{self.label}: processes of group {self.pid} still alive")

    def kill(self) -> None:
        """SIGKILL the server's process group (a crash: nothing flushed); the data directory is
        kept. Returns once every process of the group is gone (its port is free)."""
        with self._lock:
            self._kill()

    def restart(self) -> None:
        """Start the server again (killed first if it still runs): same argv, same port, same data
        directory; return once it answers its protocol (ServerStartError otherwise, within
        spec.ready_timeout_s). It still dies with the cell (parent-death signal)."""
        with self._lock:
            if self._stopped:
                raise ServerStartError(f"{self._who}{self.label}: restart after stop (its data directory is gone)")
            self._kill()
            self._spawn()
            self._await_ready()

    def pause(self) -> None:
        """SIGSTOP the process group: the port stays open, nothing answers (a hung server).
        Returns once every process of the group is stopped."""
        with self._lock:
            self._signal(signal.SIGSTOP)
            _until(
                lambda: all(s == "T" for s in _group_members(self.pid).values()),
                SIGNAL_TIMEOUT_S,
                f"{self.label}: group {self.pid} not stopped",
            )

    def resume(self) -> None:
        """SIGCONT the process group; returns once none of its processes is stopped."""
        with self._lock:
            self._signal(signal.SIGCONT)
            _until(
                lambda: all(s != "T" for s in _group_members(self.pid).values()),
                SIGNAL_TIMEOUT_S,
                f"{self.label}: group {self.pid} still stopped",
            )

    def stop(self) -> None:
        """Stop the server (SIGTERM, SIGKILL after STOP_TIMEOUT_S; a paused one is resumed first)
        and remove its data directory. Idempotent."""
        with self._lock:
            self._stopped = True
            proc = self._proc
            if proc is not None and proc.poll() is None:
                self._signal(signal.SIGCONT)
                proc.terminate()
                try:
                    proc.wait(STOP_TIMEOUT_S)
                except subprocess.TimeoutExpired:
                    pass
            with contextlib.suppress(ServerStartError):  # stopping goes on: the directory is removed
                self._kill()
            shutil.rmtree(self.cell_dir, ignore_errors=True)

    def __repr__(self) -> str:
        return f"StartedServer({self.label!r}, port={self.port})"


def _data_dir_prefix(spec: EmbeddedServer) -> str:
    return f"prism-{spec.name}-"


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
    cell_dir = Path(tempfile.mkdtemp(prefix=f"{_data_dir_prefix(spec)}{os.getpid()}-", dir=data_root()))
    if template is not None:
        _data_copy(template, cell_dir / "data", run_as)
    else:
        (cell_dir / "data").mkdir()
    run_as.own(cell_dir)
    port = free_port()
    argv = command(spec, _executable(binary, cell_dir), port, cell_dir / "data")
    server = StartedServer(spec, who, version, argv, port, cell_dir, run_as)
    server._spawn()
    try:
        server._await_ready()
    except ServerStartError:
        server.stop()
        raise
    return server


def start_private(decl: BackendDeclaration) -> StartedServer:
    """The private server of a chaos or replicas cell (registry `instance.private`, else the
    backend's embedded server): started like an embedded one, for faults that must never touch a
    shared service. ServerUnavailable (the cell's SKIP reason) when the backend declares none or
    its binary is missing."""
    spec = decl.instance.private_server
    if spec is None:
        raise ServerUnavailable(
            f"{decl.path} declares no `instance.private` and its instance is no embedded server; "
            "fix: declare `instance.private:` (the fields of `embedded:` as a mapping)"
        )
    return start(spec, f"{decl.column} (private server)")
