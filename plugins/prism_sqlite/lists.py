"""Lists as rows of list_items, one per element: (namespace, key, pos) with positions increasing
from head to tail. A left push takes positions below the head's, a right push above the tail's;
Insert shifts the elements after it by one (the index on positions is not UNIQUE: SQLite checks
a unique constraint row by row, and a shift passes through duplicates; one writer at a time
keeps positions distinct). A list with no rows is missing.

Every write is one IMMEDIATE transaction on the plugin's writer connection (SQLite has one
writer at a time, across processes too); a read of several statements is one deferred
transaction. SQLite has no NOTIFY: a push through this plugin wakes the blocked pops of its
list in this process once committed, and a blocked pop looks again every RECHECK_S, so a push
through another process on the same database file is seen too, always within the timeout the
SDK bounded by the caller's deadline.
"""

from __future__ import annotations

import asyncio
import sqlite3
from typing import Any

from prism_sqlite import ranks
from prism_sqlite.connection import Schema, SqliteConnection, utf8

TABLES = Schema(
    ddl="""
CREATE TABLE IF NOT EXISTS list_items (
  namespace BLOB NOT NULL,
  key BLOB NOT NULL,
  pos INTEGER NOT NULL,
  value BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS list_items_order ON list_items (namespace, key, pos)
""",
    drop=("DELETE FROM list_items WHERE namespace = ?1",),
)

RECHECK_S = 0.15  # a blocked pop looks again this often even without a push in this process
INT64_MAX = 2**63 - 1

KEY = "namespace = :ns AND key = :k"
DIRECTION = {True: "ORDER BY pos", False: "ORDER BY pos DESC"}  # from the head (left) or the tail

ENDS = f"SELECT min(pos), max(pos), count(*) FROM list_items WHERE {KEY}"
PUT = "INSERT INTO list_items (namespace, key, pos, value) VALUES (:ns, :k, :at, :v)"
LENGTH = f"SELECT count(*) FROM list_items WHERE {KEY}"
# The element `at` places from the head (left) or from the tail.
AT = {left: f"SELECT rowid, value FROM list_items WHERE {KEY} {DIRECTION[left]} LIMIT 1 OFFSET :at" for left in (True, False)}
TAKE = {left: f"SELECT pos, value FROM list_items WHERE {KEY} {DIRECTION[left]} LIMIT :count" for left in (True, False)}
DROP_THROUGH = {
    True: f"DELETE FROM list_items WHERE {KEY} AND pos <= :last",
    False: f"DELETE FROM list_items WHERE {KEY} AND pos >= :last",
}
SET_VALUE = "UPDATE list_items SET value = :v WHERE rowid = :id"
PIVOT = f"SELECT pos FROM list_items WHERE {KEY} AND value = :pivot ORDER BY pos LIMIT 1"
SHIFT = f"UPDATE list_items SET pos = pos + 1 WHERE {KEY} AND pos >= :at"
REMOVE = {
    left: f"""
DELETE FROM list_items WHERE rowid IN (
  SELECT rowid FROM list_items WHERE {KEY} AND value = :v {DIRECTION[left]} LIMIT :count
)"""
    for left in (True, False)
}
RANGE = f"SELECT value FROM list_items WHERE {KEY} ORDER BY pos LIMIT :take OFFSET :lo"
POS_AT = f"SELECT pos FROM list_items WHERE {KEY} ORDER BY pos LIMIT 1 OFFSET :at"
DROP_OUTSIDE = f"DELETE FROM list_items WHERE {KEY} AND (pos < :first OR pos > :last)"
DROP_ALL = f"DELETE FROM list_items WHERE {KEY}"


def from_the_end(index: int) -> tuple[bool, int]:
    """(counted from the head, places from that end) of a list index, negative from the tail."""
    return (True, index) if index >= 0 else (False, -index - 1)


def _length(conn: sqlite3.Connection, p: dict[str, Any]) -> int:
    return int(conn.execute(LENGTH, p).fetchone()[0])


def _push(conn: sqlite3.Connection, p: dict[str, Any], values: list[bytes], left: bool) -> int:
    head, tail, n = conn.execute(ENDS, p).fetchone()
    head, tail = head or 0, tail or 0
    rows = [{**p, "at": (head - i) if left else (tail + i), "v": v} for i, v in enumerate(values, 1)]
    conn.executemany(PUT, rows)
    return int(n) + len(values)


def _pop(conn: sqlite3.Connection, p: dict[str, Any], count: int, left: bool) -> list[bytes]:
    rows = conn.execute(TAKE[left], {**p, "count": count}).fetchall()
    if rows:
        conn.execute(DROP_THROUGH[left], {**p, "last": rows[-1][0]})
    return [bytes(v) for _, v in rows]


def _first_pop(conn: sqlite3.Connection, ns: bytes, keys: list[bytes], left: bool) -> tuple[int, bytes] | None:
    """The first value of the first non-empty key, popped: (the key's place in `keys`, value)."""
    for i, k in enumerate(keys):
        got = _pop(conn, {"ns": ns, "k": k}, 1, left)
        if got:
            return i, got[0]
    return None


def _index(conn: sqlite3.Connection, p: dict[str, Any], left: bool) -> tuple[int, bytes] | None:
    row = conn.execute(AT[left], p).fetchone()
    return None if row is None else (int(row[0]), bytes(row[1]))


def _set_index(conn: sqlite3.Connection, p: dict[str, Any], left: bool) -> bool:
    found = _index(conn, p, left)
    if found is not None:
        conn.execute(SET_VALUE, {"id": found[0], "v": p["v"]})
    return found is not None


def _insert(conn: sqlite3.Connection, p: dict[str, Any], before: bool) -> tuple[bool, int]:
    row = conn.execute(PIVOT, p).fetchone()
    if row is not None:
        at = int(row[0]) if before else int(row[0]) + 1
        conn.execute(SHIFT, {**p, "at": at})
        conn.execute(PUT, {**p, "at": at})
    return row is not None, _length(conn, p)


def _range(conn: sqlite3.Connection, p: dict[str, Any], start: int, stop: int) -> list[bytes]:
    lo, take = ranks.window(start, stop, _length(conn, p))
    if not take:
        return []
    return [bytes(v) for (v,) in conn.execute(RANGE, {**p, "lo": lo, "take": take})]


def _trim(conn: sqlite3.Connection, p: dict[str, Any], start: int, stop: int) -> int:
    """The kept elements are consecutive: everything outside their first and last position goes."""
    lo, take = ranks.window(start, stop, _length(conn, p))
    if not take:
        conn.execute(DROP_ALL, p)
        return 0
    first = conn.execute(POS_AT, {**p, "at": lo}).fetchone()[0]
    last = conn.execute(POS_AT, {**p, "at": lo + take - 1}).fetchone()[0]
    conn.execute(DROP_OUTSIDE, {**p, "first": first, "last": last})
    return take


class SqliteLists:
    def __init__(self, conn: SqliteConnection):
        self.conn = conn
        # (namespace, key) -> the events of the pops blocked on it in this process
        self._waiting: dict[tuple[bytes, bytes], set[asyncio.Event]] = {}

    @staticmethod
    def _params(ns: str, key: str, **more: Any) -> dict[str, Any]:
        return {"ns": utf8(ns), "k": utf8(key), **more}

    def _wake(self, p: dict[str, Any]) -> None:
        for event in self._waiting.get((p["ns"], p["k"]), ()):
            event.set()

    # list_basic
    async def push(self, ns: str, key: str, values: list[bytes], left: bool) -> int:
        p = self._params(ns, key)
        length = await self.conn.run(_push, p, [bytes(v) for v in values], left)
        self._wake(p)  # committed: a woken pop sees the values
        return length

    async def pop(self, ns: str, key: str, count: int, left: bool) -> list[bytes]:
        return await self.conn.run(_pop, self._params(ns, key), min(count, INT64_MAX), left)

    async def length(self, ns: str, key: str) -> int:
        return await self.conn.run(_length, self._params(ns, key), transaction="")

    # list_indexing
    async def index(self, ns: str, key: str, index: int) -> bytes | None:
        left, at = from_the_end(index)
        found = await self.conn.run(_index, self._params(ns, key, at=at), left, transaction="")
        return None if found is None else found[1]

    async def set_index(self, ns: str, key: str, index: int, value: bytes) -> bool:
        left, at = from_the_end(index)
        return await self.conn.run(_set_index, self._params(ns, key, at=at, v=bytes(value)), left)

    async def insert(self, ns: str, key: str, before: bool, pivot: bytes, value: bytes) -> tuple[bool, int]:
        return await self.conn.run(_insert, self._params(ns, key, pivot=bytes(pivot), v=bytes(value)), before)

    async def remove(self, ns: str, key: str, value: bytes, count: int) -> int:
        p = self._params(ns, key, v=bytes(value), count=min(abs(count), INT64_MAX) or -1)  # LIMIT -1: every one
        return await self.conn.run(lambda conn: conn.execute(REMOVE[count >= 0], p).rowcount)

    # list_range
    async def range(self, ns: str, key: str, start: int, stop: int) -> list[bytes]:
        return await self.conn.run(_range, self._params(ns, key), start, stop, transaction="BEGIN")

    async def trim(self, ns: str, key: str, start: int, stop: int) -> int:
        return await self.conn.run(_trim, self._params(ns, key), start, stop)

    # list_blocking
    async def blocking_pop(self, ns: str, keys: list[str], timeout_s: float, left: bool) -> tuple[str, bytes] | None:
        """Watch the keys first, then look (all keys in one transaction): a push committed after
        the look wakes the wait, so none in this process is missed between the two."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        pushed = asyncio.Event()
        n = utf8(ns)
        encoded = [utf8(k) for k in keys]
        watched = {(n, k) for k in encoded}
        for word in watched:
            self._waiting.setdefault(word, set()).add(pushed)
        try:
            while True:
                pushed.clear()
                got = await self.conn.run(_first_pop, n, encoded, left)
                if got is not None:
                    return keys[got[0]], got[1]
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
