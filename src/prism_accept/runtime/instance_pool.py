"""The instances the harness starts for a column's cells (a server of its own, a container, an
embedded engine's directory), kept for the later cells of the same column in one pytest process
(a Pants batch) instead of started and stopped for every cell.

What keeps one cell's data from another's is the namespaces each case makes and drops, as on a
local service, which every cell of a backend shares anyway: a kept server is one more such
instance, for the length of a process. A kept instance that no longer answers (a cell crashed
its server) is stopped and a fresh one started for the next cell, so one cell's crash never
fails the cells after it. An explicit URL or a local service is never kept (nothing was started).

A kept server runs across cells, so its CPU time is read from /proc while it runs (live_cpu_s)
and counted in each cell's cost for the time the cell used it, as the server a cell started and
reaped was counted before."""

from __future__ import annotations

from typing import Callable

from prism_accept.cellname import Column
from prism_accept.harness.cputime import process_cpu_s
from prism_accept.harness.instances import Instance


class InstancePool:
    def __init__(self) -> None:
        # column -> its kept instance and what runs after it stops
        self._kept: dict[Column, tuple[Instance, Callable[[], None]]] = {}

    def get(self, column: Column, start: Callable[[], Instance], on_stop: Callable[[Instance], None]) -> tuple[Instance, bool]:
        """The column's kept instance, when it still answers; else `start()`, kept when the harness
        started it (ephemeral). `on_stop(instance)` runs after a kept instance stops. Returns the
        instance and whether an earlier cell started it."""
        if column in self._kept:
            kept, _ = self._kept[column]
            if kept.answers():
                return kept, True
            self._stop(column)
        found = start()
        if found.ephemeral:
            self._kept[column] = (found, lambda: on_stop(found))
        return found, False

    def keeps(self, instance: Instance) -> bool:
        return any(kept is instance for kept, _ in self._kept.values())

    def live_cpu_s(self) -> float:
        """The CPU time so far of the kept servers that run as processes of this one."""
        return sum(process_cpu_s(pid) for kept, _ in self._kept.values() if (pid := kept.server_pid()) is not None)

    def _stop(self, column: Column) -> None:
        kept, after = self._kept.pop(column)
        try:
            kept.stop()
        finally:
            after()

    def stop_all(self) -> None:
        errors = []
        for column in list(self._kept):
            try:
                self._stop(column)
            except Exception as e:  # noqa: BLE001 - stop the others; re-raised below
                errors.append(e)
        if errors:
            raise errors[0]
