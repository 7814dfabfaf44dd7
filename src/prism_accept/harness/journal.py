"""Namespaces a cell has written to and not yet dropped, kept on disk per instance, so a cell
whose plugin was killed mid-case leaves nothing behind for good: the next cell against the
same instance drops them first. Entries carry the writing process's id; a namespace is swept
only once its process is gone (cells of one backend run in parallel). The journal is compacted
after each sweep (only lines of namespaces still open remain), so it stays as small as what is
open, under a lock file that every append also takes."""

from __future__ import annotations

import fcntl
import hashlib
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from prism_accept.harness.net import redact

JOURNAL_DIR = Path.home() / ".cache" / "prism-accept" / "namespaces"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class NamespaceJournal:
    def __init__(self, path: Path):
        self.path = path

    @classmethod
    def for_instance(cls, backend: str, url: str, directory: Path = JOURNAL_DIR) -> "NamespaceJournal":
        """One journal per backend and instance (the URL is hashed after redaction: no secret)."""
        key = hashlib.sha256(redact(url).encode()).hexdigest()[:16]
        return cls(directory / f"{backend}-{key}.log")

    @contextmanager
    def _locked(self, exclusive: bool) -> Iterator[None]:
        """Appends share the lock; compaction (which replaces the file) holds it alone, so no
        append lands in a file that is being replaced."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_suffix(".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
            yield

    def _append(self, line: str) -> None:
        with self._locked(exclusive=False), open(self.path, "a", encoding="utf-8") as f:
            f.write(line + "\n")  # one short O_APPEND write per line

    def remove(self) -> None:
        """For an instance gone with its cell: its namespaces went with it."""
        with self._locked(exclusive=True):
            self.path.unlink(missing_ok=True)
        self.path.with_suffix(".lock").unlink(missing_ok=True)

    def compact(self) -> None:
        """Keep only the `+` lines of namespaces still open (dropped ones and their lines go)."""
        with self._locked(exclusive=True):
            if not self.path.is_file():
                return
            open_lines: dict[str, str] = {}
            for line in self.path.read_text(encoding="utf-8").splitlines():
                sign, _, rest = line.partition(" ")
                namespace = rest.partition(" ")[2]
                if sign == "+":
                    open_lines[namespace] = line
                elif sign == "-":
                    open_lines.pop(namespace, None)
            tmp = self.path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text("".join(line + "\n" for line in open_lines.values()), encoding="utf-8")
            os.replace(tmp, self.path)

    def opened(self, namespace: str) -> None:
        self._append(f"+ {os.getpid()} {namespace}")

    def dropped(self, namespace: str) -> None:
        self._append(f"- {os.getpid()} {namespace}")

    def leftovers(self) -> list[str]:
        """Namespaces opened by processes that are gone, never dropped."""
        if not self.path.is_file():
            return []
        open_by: dict[str, int] = {}
        for line in self.path.read_text(encoding="utf-8").splitlines():
            sign, _, rest = line.partition(" ")
            pid, _, namespace = rest.partition(" ")
            if sign == "+" and pid.isdigit():
                open_by[namespace] = int(pid)
            elif sign == "-":
                open_by.pop(namespace, None)
        return [ns for ns, pid in open_by.items() if not _alive(pid)]
