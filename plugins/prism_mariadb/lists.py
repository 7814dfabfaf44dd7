"""Lists as rows of prism_list_items, one per element: (namespace, key, pos) with positions
increasing from head to tail. A left push takes positions below the head's, a right push above
the tail's; Insert shifts the elements after it by one, from the tail down (`ORDER BY pos DESC`:
InnoDB checks the primary key row by row). A list with no rows is missing. Namespaces and keys
are UTF-8 VARBINARY, values LONGBLOB (byte-exact: Insert's pivot and Remove compare bytes).

Every write is a READ COMMITTED transaction that first locks the list's row of
prism_list_locks (inserted once, kept), so positions are taken and shifted by one writer at a
time, across plugin processes too; a read of several statements (a count and the rows) is one
REPEATABLE READ snapshot. MariaDB has no NOTIFY: a push through this plugin wakes the blocked
pops of its list in this process once committed, and a blocked pop looks again every
RECHECK_S, so a push through another process is seen too, always within the timeout the SDK
bounded by the caller's deadline.
"""

from __future__ import annotations

import asyncio
from typing import Any, Awaitable, Callable

from prism_mariadb import ranks
from prism_mariadb.connection import MariaDBConnection, Schema, Session
from prism_mariadb.keyvalue import utf8
from prism_mariadb.sets import name_of

TABLES = Schema(
    ddl="""
CREATE TABLE IF NOT EXISTS prism_list_items (
  namespace VARBINARY(1024) NOT NULL,
  `key` VARBINARY(1024) NOT NULL,
  pos BIGINT NOT NULL,
  value LONGBLOB NOT NULL,
  PRIMARY KEY (namespace, `key`, pos)
) ENGINE=InnoDB;
CREATE TABLE IF NOT EXISTS prism_list_locks (
  namespace VARBINARY(1024) NOT NULL,
  `key` VARBINARY(1024) NOT NULL,
  PRIMARY KEY (namespace, `key`)
) ENGINE=InnoDB
""",
    tables=("prism_list_items", "prism_list_locks"),
)

RECHECK_S = 0.15  # a blocked pop looks again this often even without a push in this process
INT64_MAX = 2**63 - 1
BATCH = 1000  # rows per INSERT

KEY = "namespace = %(ns)s AND `key` = %(k)s"
DIRECTION = {True: "ORDER BY pos", False: "ORDER BY pos DESC"}  # from the head (left) or the tail

# Inserting the lock row, or finding it there, takes its exclusive lock till the transaction ends.
LOCK = "INSERT INTO prism_list_locks (namespace, `key`) VALUES (%(ns)s, %(k)s) ON DUPLICATE KEY UPDATE namespace = namespace"
ENDS = f"SELECT MIN(pos), MAX(pos), COUNT(*) FROM prism_list_items WHERE {KEY}"
PUT = "INSERT INTO prism_list_items (namespace, `key`, pos, value) VALUES {rows}"
ANY = f"SELECT 1 FROM prism_list_items WHERE {KEY} LIMIT 1"
LENGTH = f"SELECT COUNT(*) FROM prism_list_items WHERE {KEY}"
# The element `at` places from the head (left) or from the tail.
AT = {left: f"SELECT pos, value FROM prism_list_items WHERE {KEY} {DIRECTION[left]} LIMIT %(at)s, 1" for left in (True, False)}
TAKE = {left: f"SELECT pos, value FROM prism_list_items WHERE {KEY} {DIRECTION[left]} LIMIT %(count)s" for left in (True, False)}
DROP_THROUGH = {
    True: f"DELETE FROM prism_list_items WHERE {KEY} AND pos <= %(last)s",
    False: f"DELETE FROM prism_list_items WHERE {KEY} AND pos >= %(last)s",
}
SET_VALUE = f"UPDATE prism_list_items SET value = %(v)s WHERE {KEY} AND pos = %(pos)s"
PIVOT = f"SELECT pos FROM prism_list_items WHERE {KEY} AND value = %(pivot)s ORDER BY pos LIMIT 1"
SHIFT = f"UPDATE prism_list_items SET pos = pos + 1 WHERE {KEY} AND pos >= %(at)s ORDER BY pos DESC"
PUT_ONE = "INSERT INTO prism_list_items (namespace, `key`, pos, value) VALUES (%(ns)s, %(k)s, %(at)s, %(v)s)"
REMOVE = {left: f"DELETE FROM prism_list_items WHERE {KEY} AND value = %(v)s {DIRECTION[left]} LIMIT %(count)s" for left in (True, False)}
RANGE = f"SELECT value FROM prism_list_items WHERE {KEY} ORDER BY pos LIMIT %(lo)s, %(take)s"
POS_AT = f"SELECT pos FROM prism_list_items WHERE {KEY} ORDER BY pos LIMIT %(at)s, 1"
DROP_OUTSIDE = f"DELETE FROM prism_list_items WHERE {KEY} AND (pos < %(first)s OR pos > %(last)s)"
DROP_ALL = f"DELETE FROM prism_list_items WHERE {KEY}"


def from_the_end(index: int) -> tuple[bool, int]:
    """(counted from the head, places from that end) of a list index, negative from the tail."""
    return (True, index) if index >= 0 else (False, -index - 1)


async def _length(s: Session, p: dict[str, Any]) -> int:
    row = await s.fetchone(LENGTH, p)
    return int(row[0]) if row else 0


async def _push(s: Session, p: dict[str, Any], values: list[bytes], left: bool) -> int:
    head, tail, n = await s.fetchone(ENDS, p) or (None, None, 0)
    head, tail = int(head or 0), int(tail or 0)
    rows = [((head - i) if left else (tail + i), v) for i, v in enumerate(values, 1)]
    for i in range(0, len(rows), BATCH):
        part = rows[i : i + BATCH]
        args = [x for pos, v in part for x in (p["ns"], p["k"], pos, v)]
        await s.execute(PUT.format(rows=", ".join(["(%s, %s, %s, %s)"] * len(part))), args)
    return int(n) + len(values)


async def _pop(s: Session, p: dict[str, Any], count: int, left: bool) -> list[bytes]:
    rows = await s.fetchall(TAKE[left], {**p, "count": count})
    if rows:
        await s.execute(DROP_THROUGH[left], {**p, "last": rows[-1][0]})
    return [bytes(v) for _, v in rows]


async def _set_index(s: Session, p: dict[str, Any], left: bool) -> bool:
    row = await s.fetchone(AT[left], p)
    if row is not None:
        await s.execute(SET_VALUE, {**p, "pos": row[0]})
    return row is not None


async def _insert(s: Session, p: dict[str, Any], before: bool) -> tuple[bool, int]:
    row = await s.fetchone(PIVOT, p)
    if row is not None:
        at = int(row[0]) if before else int(row[0]) + 1
        await s.execute(SHIFT, {**p, "at": at})
        await s.execute(PUT_ONE, {**p, "at": at})
    return row is not None, await _length(s, p)


async def _range(s: Session, p: dict[str, Any], start: int, stop: int) -> list[bytes]:
    lo, take = ranks.window(start, stop, await _length(s, p))
    if not take:
        return []
    return [bytes(v) for (v,) in await s.fetchall(RANGE, {**p, "lo": lo, "take": take})]


async def _trim(s: Session, p: dict[str, Any], start: int, stop: int) -> int:
    """The kept elements are consecutive: everything outside their first and last position goes."""
    lo, take = ranks.window(start, stop, await _length(s, p))
    if not take:
        await s.execute(DROP_ALL, p)
        return 0
    first = (await s.fetchone(POS_AT, {**p, "at": lo}) or (0,))[0]
    last = (await s.fetchone(POS_AT, {**p, "at": lo + take - 1}) or (0,))[0]
    await s.execute(DROP_OUTSIDE, {**p, "first": first, "last": last})
    return take


class MariaDBLists:
    def __init__(self, conn: MariaDBConnection):
        self.conn = conn
        # (namespace, key) -> the events of the pops blocked on it in this process
        self._waiting: dict[tuple[bytes, bytes], set[asyncio.Event]] = {}

    @staticmethod
    def _params(ns: str, key: str, **more: Any) -> dict[str, Any]:
        return {"ns": utf8(ns), "k": name_of(key), **more}

    def _wake(self, p: dict[str, Any]) -> None:
        for event in self._waiting.get((p["ns"], p["k"]), ()):
            event.set()

    async def _locked(self, p: dict[str, Any], work: Callable[[Session], Awaitable[Any]]) -> Any:
        """`work(session)` in a transaction holding the list's lock row."""

        async def go(t: Session) -> Any:
            await t.execute(LOCK, p)
            return await work(t)

        return await self.conn.run(lambda s: s.transaction(go))

    async def _read(self, work: Callable[[Session], Awaitable[Any]]) -> Any:
        """`work(session)` in one REPEATABLE READ snapshot."""
        return await self.conn.run(lambda s: s.transaction(work, level="REPEATABLE READ"))

    # list_basic
    async def push(self, ns: str, key: str, values: list[bytes], left: bool) -> int:
        p = self._params(ns, key)
        length = await self._locked(p, lambda t: _push(t, p, [bytes(v) for v in values], left))
        self._wake(p)  # committed: a woken pop sees the values
        return length

    async def pop(self, ns: str, key: str, count: int, left: bool) -> list[bytes]:
        p = self._params(ns, key)
        return await self._locked(p, lambda t: _pop(t, p, min(count, INT64_MAX), left))

    async def length(self, ns: str, key: str) -> int:
        p = self._params(ns, key)
        return await self.conn.run(lambda s: _length(s, p))

    # list_indexing
    async def index(self, ns: str, key: str, index: int) -> bytes | None:
        left, at = from_the_end(index)
        p = self._params(ns, key, at=at)
        row = await self.conn.run(lambda s: s.fetchone(AT[left], p))
        return None if row is None else bytes(row[1])

    async def set_index(self, ns: str, key: str, index: int, value: bytes) -> bool:
        left, at = from_the_end(index)
        p = self._params(ns, key, at=at, v=bytes(value))
        return await self._locked(p, lambda t: _set_index(t, p, left))

    async def insert(self, ns: str, key: str, before: bool, pivot: bytes, value: bytes) -> tuple[bool, int]:
        p = self._params(ns, key, pivot=bytes(pivot), v=bytes(value))
        return await self._locked(p, lambda t: _insert(t, p, before))

    async def remove(self, ns: str, key: str, value: bytes, count: int) -> int:
        p = self._params(ns, key, v=bytes(value), count=min(abs(count), INT64_MAX) or INT64_MAX)  # 0: every one
        return await self._locked(p, lambda t: t.execute(REMOVE[count >= 0], p))

    # list_range
    async def range(self, ns: str, key: str, start: int, stop: int) -> list[bytes]:
        p = self._params(ns, key)
        return await self._read(lambda t: _range(t, p, start, stop))

    async def trim(self, ns: str, key: str, start: int, stop: int) -> int:
        p = self._params(ns, key)
        return await self._locked(p, lambda t: _trim(t, p, start, stop))

    # list_blocking
    async def _pop_if_any(self, p: dict[str, Any], left: bool) -> list[bytes]:
        """A look first (no lock, no lock row for a list never pushed), then the pop."""
        if await self.conn.run(lambda s: s.fetchone(ANY, p)) is None:
            return []
        return await self._locked(p, lambda t: _pop(t, p, 1, left))

    async def blocking_pop(self, ns: str, keys: list[str], timeout_s: float, left: bool) -> tuple[str, bytes] | None:
        """Watch the keys first, then look: a push through this process committed after the
        look wakes the wait, so none is missed between the two."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        pushed = asyncio.Event()
        params = [self._params(ns, k) for k in keys]
        watched = {(p["ns"], p["k"]) for p in params}
        for word in watched:
            self._waiting.setdefault(word, set()).add(pushed)
        try:
            while True:
                pushed.clear()
                for key, p in zip(keys, params):
                    got = await self._pop_if_any(p, left)
                    if got:
                        return key, got[0]
                remaining = deadline - loop.time()
                if remaining <= 0:
                    return None
                try:
                    await asyncio.wait_for(pushed.wait(), min(remaining, RECHECK_S))
                except asyncio.TimeoutError:
                    pass
        finally:
            for word in watched:
                events = self._waiting.get(word)
                if events is not None:
                    events.discard(pushed)
                    if not events:
                        del self._waiting[word]
