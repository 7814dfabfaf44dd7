"""Inclusive rank ranges as Redis reads their ends (ZRANGE, LRANGE, LTRIM: negative counts from
the end, out-of-range ends clamp), over a count `n` read in the same transaction (one
REPEATABLE READ snapshot) as the rows."""

from __future__ import annotations


def window(start: int, stop: int, n: int) -> tuple[int, int]:
    """(the first rank, how many ranks) of start..stop in n rows; (0, 0) when none."""
    lo = max(start + n, 0) if start < 0 else start
    hi = stop + n if stop < 0 else min(stop, n - 1)
    take = hi - lo + 1
    return (lo, take) if take > 0 else (0, 0)
