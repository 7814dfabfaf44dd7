"""Namespaces a cell has written to and not yet dropped, kept on disk per instance, so a cell
whose plugin was killed mid-case leaves nothing behind for good: the next cell against the
same instance drops them first. Entries carry the writing process's id; a namespace is swept
only once its process is gone (cells of one backend run in parallel)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

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

    def _append(self, line: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", encoding="utf-8") as f:  # one short O_APPEND write per line
            f.write(line + "\n")

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
