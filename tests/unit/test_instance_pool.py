"""The instances a process keeps for its column's later cells (runtime/instance_pool.py)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time

import pytest

from prism_accept.cellname import Column
from prism_accept.harness.cputime import process_cpu_s
from prism_accept.harness.instances import EMBEDDED_URL, Instance
from prism_accept.runtime.instance_pool import InstancePool

REDIS = Column("redis", "valkey-8.1")


@pytest.fixture
def listener():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen()
    yield s
    s.close()


def started(url: str, log: list[str], name: str, **fields) -> Instance:
    """An instance the harness started (ephemeral), which logs its start and stop."""
    log.append(f"start {name}")
    return Instance(url, name, stop=lambda: log.append(f"stop {name}"), ephemeral=True, **fields)


def test_a_started_instance_serves_the_columns_next_cells_and_stops_once(listener):
    url = f"redis://127.0.0.1:{listener.getsockname()[1]}/0"
    pool, log = InstancePool(), []
    first, kept_first = pool.get(REDIS, lambda: started(url, log, "a"), lambda i: log.append(f"forget {i.source}"))
    second, kept_second = pool.get(REDIS, lambda: started(url, log, "b"), lambda i: log.append(f"forget {i.source}"))
    assert (kept_first, kept_second) == (False, True)
    assert second is first and pool.keeps(first)
    pool.stop_all()
    assert log == ["start a", "stop a", "forget a"]
    assert not pool.keeps(first)


def test_an_instance_that_no_longer_answers_is_replaced(listener):
    url = f"redis://127.0.0.1:{listener.getsockname()[1]}/0"
    pool, log = InstancePool(), []
    first, _ = pool.get(REDIS, lambda: started(url, log, "a"), lambda i: log.append(f"forget {i.source}"))
    listener.close()  # the server a cell crashed
    second, kept = pool.get(REDIS, lambda: started(url, log, "b"), lambda i: log.append(f"forget {i.source}"))
    assert not kept and second is not first
    assert log == ["start a", "stop a", "forget a", "start b"]


def test_an_embedded_engines_directory_is_kept_while_it_exists(tmp_path):
    pool, log = InstancePool(), []
    directory = tmp_path / "data"
    directory.mkdir()
    first, _ = pool.get(REDIS, lambda: started(EMBEDDED_URL, log, "a", data_dir=str(directory)), lambda i: None)
    assert pool.get(REDIS, lambda: started(EMBEDDED_URL, log, "b", data_dir=str(directory)), lambda i: None) == (first, True)
    directory.rmdir()
    assert pool.get(REDIS, lambda: started(EMBEDDED_URL, log, "c", data_dir=str(directory)), lambda i: None)[1] is False


def test_an_instance_the_harness_did_not_start_is_never_kept(listener):
    url = f"redis://127.0.0.1:{listener.getsockname()[1]}/0"
    pool, made = InstancePool(), []

    def local() -> Instance:
        made.append(1)
        return Instance(url, "local service")

    assert pool.get(REDIS, local, lambda i: None)[1] is False
    found, kept = pool.get(REDIS, local, lambda i: None)
    assert not kept and not pool.keeps(found) and len(made) == 2


def test_a_kept_servers_cpu_time_counts_while_it_runs():
    """What a cell costs includes the kept server's CPU time: it is read from the live process."""
    busy = subprocess.Popen(
        [sys.executable, "-c", "import time\nt = time.process_time()\nwhile time.process_time() - t < 0.3: pass\ninput()"],
        stdin=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 10
        while process_cpu_s(busy.pid) < 0.3 and time.monotonic() < deadline:
            time.sleep(0.05)
        pool = InstancePool()
        pool.get(REDIS, lambda: Instance("redis://127.0.0.1:1/0", "server", ephemeral=True, server_pid=lambda: busy.pid), lambda i: None)
        assert pool.live_cpu_s() >= 0.3
    finally:
        busy.kill()
        busy.wait()
    assert process_cpu_s(busy.pid) == 0.0  # reaped: its time is the reaper's RUSAGE_CHILDREN
