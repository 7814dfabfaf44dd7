"""Inclusive rank ranges as Redis reads their ends (ZRANGE, LRANGE, LTRIM: negative counts from
the end, out-of-range ends clamp), as SQL over a count `n` of the rows, so the count and the rows
come from one statement's snapshot."""

from __future__ import annotations

# Ends beyond +-2**62 mean what +-2**62 means (no list or sorted set holds 2**62 rows): the SQL
# arithmetic on them (start + n, stop - start + 1) then stays inside bigint for any request.
FAR = 2**62


def ends(start: int, stop: int) -> dict[str, int]:
    return {"start": max(-FAR, min(start, FAR)), "stop": max(-FAR, min(stop, FAR))}


# From a relation `size(n)`: the first rank `lo` and how many ranks `take` (0 when empty).
WINDOW = """
SELECT lo, greatest(hi - lo + 1, 0) AS take FROM (
  SELECT CASE WHEN %(start)s::bigint < 0 THEN greatest(%(start)s::bigint + n, 0) ELSE %(start)s::bigint END AS lo,
         CASE WHEN %(stop)s::bigint < 0 THEN %(stop)s::bigint + n ELSE least(%(stop)s::bigint, n - 1) END AS hi
  FROM size
) clamped
"""
