"""Namespaces left behind by a killed cell are swept by the next one, never a live cell's."""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

from prism_accept.harness.journal import NamespaceJournal


def test_leftovers_are_namespaces_of_gone_processes_never_dropped(tmp_path):
    journal = NamespaceJournal(tmp_path / "j.log")
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True).stdout.strip()
    with open(journal.path, "a") as f:
        f.write(f"+ {dead} killed-mid-case\n+ {dead} dropped-in-time\n- {dead} dropped-in-time\n")
    journal.opened("mine-still-running")
    assert journal.leftovers() == ["killed-mid-case"]
    journal.dropped("killed-mid-case")
    assert journal.leftovers() == []


def test_a_journal_per_instance_is_named_without_the_password(tmp_path):
    a = NamespaceJournal.for_instance("redis", "redis://:s3cret@127.0.0.1:6390/0", tmp_path)
    b = NamespaceJournal.for_instance("redis", "redis://:other@127.0.0.1:6390/0", tmp_path)
    assert a.path == b.path and "s3cret" not in str(a.path)


def test_compaction_keeps_what_is_open_and_loses_no_concurrent_append(tmp_path):
    journal = NamespaceJournal(tmp_path / "j.log")
    for i in range(50):
        journal.opened(f"closed-{i}")
        journal.dropped(f"closed-{i}")
    journal.opened("open")
    journal.compact()
    assert journal.path.read_text().splitlines() == [f"+ {os.getpid()} open"]

    def append(worker: int) -> None:
        for i in range(200):
            journal.opened(f"w{worker}-{i}")

    with ThreadPoolExecutor(5) as pool:
        appending = [pool.submit(append, w) for w in range(4)]
        while not all(f.done() for f in appending):
            pool.submit(journal.compact).result()
    assert len(journal.path.read_text().splitlines()) == 1 + 4 * 200  # every append survived
    journal.remove()
    assert list(tmp_path.iterdir()) == []
