"""Plugin processes forked from a pre-imported parent (a zygote), so a fault cell's plugin starts
(a crash must kill a real process, so those plugins are never in-process) skip the interpreter's
start and the plugin's imports: 0.22-0.47 CPU-s a start as a fresh `python -m <module>`.

A zygote serves one `plugin.module` plugin in one harness process. It is started as
`python -m prism_accept.harness.zygote <module>` in the environment a plugin process would get,
imports the module and waits on a Unix socket. Each start sends the child's stdin, stdout and
stderr and its environment; the zygote forks, and the child makes itself a session leader (its
process group is the one the harness kills), takes those three descriptors and the environment,
and runs the module as `python -m` would. The zygote reaps its children and reports each exit
status, so the harness's handle (`ZygoteChild`) answers poll() and wait() as a Popen does. The
zygote forks only while it runs a single thread and has made no gRPC object (gRPC's rule for
fork); otherwise, or when it cannot be started, the plugin is started as a fresh process.

The module runs as `python -m` would run it, so a plugin sees no difference; the harness counts
the zygote's CPU time, and that of the children it reaped, in the cells' (`live_cpu_s`)."""

from __future__ import annotations

import array
import json
import os
import runpy
import select
import socket
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from typing import IO, Mapping

from prism_accept.harness.cputime import process_cpu_s

READY = b"ready"
START_TIMEOUT_S = 20.0
MAX_MESSAGE = 1 << 20


def _serve(module: str, control: socket.socket) -> None:
    """The zygote: import the module, then fork a child per request until the harness goes."""
    __import__(module)
    control.sendall(READY)
    children: dict[int, int] = {}  # pidfd -> pid
    while True:
        readable, _, _ = select.select([control, *children], [], [])
        for fd in readable:
            if fd is control:
                fds = array.array("i")
                message, ancillary, _, _ = control.recvmsg(MAX_MESSAGE, socket.CMSG_SPACE(3 * fds.itemsize))
                if not message:
                    return  # the harness is gone; its children end when their stdin closes
                for level, kind, data in ancillary:
                    if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                        fds.frombytes(data[: len(data) - len(data) % fds.itemsize])
                request = json.loads(message)
                if len(os.listdir("/proc/self/task")) != 1:
                    control.sendall(json.dumps({"error": "the zygote runs more than one thread: it must not fork"}).encode())
                else:
                    pid = os.fork()
                    if pid == 0:
                        _child(module, request, list(fds), control, list(children))
                    children[os.pidfd_open(pid)] = pid
                    control.sendall(json.dumps({"pid": pid}).encode())
                for received in fds:
                    os.close(received)
            else:
                pid = children.pop(fd)
                os.close(fd)
                _, status = os.waitpid(pid, 0)
                control.sendall(json.dumps({"exit": pid, "returncode": os.waitstatus_to_exitcode(status)}).encode())


def _child(module: str, request: dict, fds: list[int], control: socket.socket, pidfds: list[int]) -> None:
    """In the forked child: become the plugin process `python -m module` would have been."""
    try:
        os.setsid()
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
        for fd in [*fds, *pidfds]:
            os.close(fd)
        control.close()
        os.environ.clear()
        os.environ.update(request["env"])
        sys.argv = [module, *request.get("args", [])]
        sys.stdin = open(0, "r", closefd=False)  # noqa: SIM115 - the process's own stdio
        sys.stdout = open(1, "w", buffering=1, closefd=False)  # noqa: SIM115
        sys.stderr = open(2, "w", buffering=1, closefd=False)  # noqa: SIM115
        runpy.run_module(module, run_name="__main__", alter_sys=True)
        code = 0
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    except BaseException:  # noqa: BLE001 - reported as a plugin process would report it
        import traceback

        traceback.print_exc()
        code = 1
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        os._exit(code)


@dataclass
class ZygoteChild:
    """A plugin process forked by a zygote, answering as much of subprocess.Popen as the harness
    uses (pid, stdin, stdout, poll, wait, returncode); its exit status comes from the zygote."""

    pid: int
    stdin: IO[bytes]
    stdout: IO[bytes]
    zygote: Zygote
    returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            self.returncode = self.zygote.exit_status(self.pid, 0)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            self.returncode = self.zygote.exit_status(self.pid, timeout)
            if self.returncode is None:
                raise subprocess.TimeoutExpired(f"plugin process {self.pid}", timeout or 0)
        return self.returncode


@dataclass
class Zygote:
    module: str
    env: dict[str, str]
    proc: subprocess.Popen | None = None
    _control: socket.socket | None = None
    _replies: list[dict] = field(default_factory=list)
    _exits: dict[int, int] = field(default_factory=dict)
    _changed: threading.Condition = field(default_factory=threading.Condition)
    _send: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> Zygote:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", __name__, self.module, str(theirs.fileno())],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,  # a module that does not import fails its fresh process too, which logs why
                env=self.env,
                pass_fds=[theirs.fileno()],
                start_new_session=True,
            )
        finally:
            theirs.close()
        ours.settimeout(START_TIMEOUT_S)
        try:
            ready = ours.recv(len(READY))
        except OSError:
            ready = b""
        if ready != READY:
            ours.close()
            self.stop()
            raise OSError(f"the zygote of {self.module} did not start (exit status {self.proc.poll()})")
        ours.settimeout(None)
        self._control = ours
        threading.Thread(target=self._read, name=f"zygote-{self.module}", daemon=True).start()
        return self

    def _read(self) -> None:
        assert self._control is not None
        while True:
            try:
                message = self._control.recv(MAX_MESSAGE)
            except OSError:
                message = b""
            with self._changed:
                if not message:
                    self._control = None
                    self._changed.notify_all()
                    return
                answer = json.loads(message)
                if "exit" in answer:
                    self._exits[answer["exit"]] = answer["returncode"]
                else:
                    self._replies.append(answer)
                self._changed.notify_all()

    @property
    def alive(self) -> bool:
        return self._control is not None and self.proc is not None and self.proc.poll() is None

    def spawn(self, env: Mapping[str, str], stderr: IO[bytes]) -> ZygoteChild:
        """A plugin process with piped stdin and stdout, its stderr to `stderr`."""
        stdin_r, stdin_w = os.pipe()
        stdout_r, stdout_w = os.pipe()
        try:
            with self._send, self._changed:
                if self._control is None:
                    raise OSError("the zygote is gone")
                self._control.sendmsg(
                    [json.dumps({"env": dict(env)}).encode()],
                    [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [stdin_r, stdout_w, stderr.fileno()]))],
                )
                if not self._changed.wait_for(lambda: self._replies or self._control is None, START_TIMEOUT_S) or not self._replies:
                    raise OSError("the zygote did not answer")
                answer = self._replies.pop(0)
            if "pid" not in answer:
                raise OSError(answer.get("error", "the zygote refused"))
        except BaseException:
            os.close(stdin_w)
            os.close(stdout_r)
            raise
        finally:
            os.close(stdin_r)
            os.close(stdout_w)
        return ZygoteChild(answer["pid"], os.fdopen(stdin_w, "wb"), os.fdopen(stdout_r, "rb"), self)

    def exit_status(self, pid: int, timeout: float | None) -> int | None:
        """The child's exit status once the zygote has reaped it; None after `timeout` (0: now)."""
        with self._changed:
            self._changed.wait_for(lambda: pid in self._exits or self._control is None, timeout)
            if pid in self._exits:
                return self._exits[pid]
            if self._control is None:  # the zygote died: its children were reparented away from us
                return _exit_without_zygote(pid)
            return None

    def stop(self) -> None:
        if self._control is not None:
            try:
                self._control.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self.proc is not None:
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)


SWITCH_ENV = "PRISM_PLUGIN_ZYGOTE"  # "off": every plugin process is a fresh interpreter
# What changes between the starts of one process's plugins, read (if at all) at run time, never at
# import, so not part of which zygote serves a start: the cell (build-support/coveragerc's
# context) and pytest's current case.
PER_START_ENV = frozenset({"PRISM_CELL", "PYTEST_CURRENT_TEST"})


class Zygotes:
    """The zygotes of this process, one per plugin module and environment, started on first use."""

    def __init__(self) -> None:
        self._started: dict[tuple, Zygote] = {}
        self._refused: set[tuple] = set()
        self._lock = threading.Lock()

    def for_command(self, command: list[str], env: Mapping[str, str]) -> Zygote | None:
        """The zygote that can start `command` (`python -m <module>` on this interpreter), None
        for any other command, when SWITCH_ENV is off, or when its zygote would not start."""
        if os.environ.get(SWITCH_ENV, "on") == "off" or len(command) != 3 or command[:2] != [sys.executable, "-m"]:
            return None
        key = (command[2], tuple(sorted((k, v) for k, v in env.items() if k not in PER_START_ENV)))
        with self._lock:
            zygote = self._started.get(key)
            if zygote is not None and zygote.alive:
                return zygote
            if key in self._refused:
                return None
            try:
                zygote = self._started[key] = Zygote(command[2], dict(env)).start()
            except OSError:
                self._refused.add(key)  # its plugin starts as a fresh process, which reports why
                return None
            return zygote

    def live_cpu_s(self) -> float:
        """The CPU time so far of the running zygotes and of the plugin processes they reaped."""
        return sum(process_cpu_s(z.proc.pid) for z in list(self._started.values()) if z.proc is not None and z.proc.poll() is None)

    def stop_all(self) -> None:
        with self._lock:
            started, self._started = self._started, {}
        for zygote in started.values():
            zygote.stop()


ZYGOTES = Zygotes()


def _exit_without_zygote(pid: int) -> int | None:
    """A child whose zygote died before reaping it: gone (status unknown, -9 as if killed), or still running."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return -9
    except PermissionError:
        return None
    return None


if __name__ == "__main__":
    _serve(sys.argv[1], socket.socket(fileno=int(sys.argv[2])))
