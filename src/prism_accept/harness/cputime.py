"""The CPU time of a live process, read from /proc: what a cell counts for the processes it
keeps running across cells (a kept server, a zygote), whose time is not yet in its rusage."""

from __future__ import annotations

import os

_TICKS_S = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def process_cpu_s(pid: int) -> float:
    """A live process's CPU time and that of the children it has reaped (a PostgreSQL server's
    backends, a zygote's plugin processes); 0 once it is gone (its time is then in
    RUSAGE_CHILDREN of whoever reaped it)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            fields = f.read().rpartition(")")[2].split()
    except OSError:
        return 0.0
    # After "pid (comm)": state is field 3, utime/stime/cutime/cstime are fields 14-17.
    return sum(int(fields[i]) for i in range(11, 15)) / _TICKS_S
