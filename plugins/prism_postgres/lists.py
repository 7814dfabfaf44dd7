"""Lists as rows of prism.list_items, one per element: (namespace, key, pos) with positions
increasing from head to tail. A left push takes positions below the head's, a right push above
the tail's; Insert shifts the elements after it by one (the primary key is DEFERRABLE, so it is
checked at the end of the shifting statement, not row by row). A list with no rows is missing.

Every write holds a transaction-level advisory lock of its list (a digest of namespace and key),
so positions are taken and shifted by one writer at a time; reads are single statements (one
snapshot). A push notifies channel CHANNEL with the list's digest, on commit: blocked pops wait
on the plugin's LISTEN connection, and look again every RECHECK_S in case a notification was
lost, always within the timeout the SDK bounded by the caller's deadline.
"""

from __future__ import annotations

import asyncio
from typing import Any, Awaitable, Callable, TypeAlias

import psycopg

from prism_postgres import ranks
from prism_postgres.connection import PostgresConnection, Schema
from prism_postgres.keyvalue import utf8
from prism_postgres.notifications import Listener, digest

TABLES = Schema(
    ddl="""
CREATE TABLE IF NOT EXISTS prism.list_items (
  namespace bytea NOT NULL,
  key bytea NOT NULL,
  pos bigint NOT NULL,
  value bytea NOT NULL,
  PRIMARY KEY (namespace, key, pos) DEFERRABLE INITIALLY IMMEDIATE
);
""",
    tables=("list_items",),
)

CHANNEL = "prism_list_pushed"
RECHECK_S = 1.0  # a blocked pop looks again this often even without a notification
RECHECK_UNLISTENED_S = 0.1  # ... and this often while the LISTEN connection is down
INT64_MAX = 2**63 - 1

KEY = "namespace = %(ns)s AND key = %(k)s"
DIRECTION = {True: "ORDER BY pos", False: "ORDER BY pos DESC"}  # from the head (left) or the tail

LOCK = "SELECT pg_advisory_xact_lock(%(lock)s)"
NOTIFY = "SELECT pg_notify(%(channel)s, %(word)s)"
PUSH = f"""
WITH ends AS (
  SELECT coalesce(min(pos), 0) AS head, coalesce(max(pos), 0) AS tail, count(*) AS n FROM prism.list_items WHERE {KEY}
), pushed AS (
  INSERT INTO prism.list_items (namespace, key, pos, value)
  SELECT %(ns)s, %(k)s, CASE WHEN %(left)s THEN ends.head - t.i ELSE ends.tail + t.i END, t.v
  FROM ends, unnest(%(values)s::bytea[]) WITH ORDINALITY AS t(v, i)
  RETURNING 1
)
SELECT n + (SELECT count(*) FROM pushed) FROM ends
"""
POP = {
    left: f"""
DELETE FROM prism.list_items WHERE {KEY} AND pos = ANY(ARRAY(
  SELECT pos FROM prism.list_items WHERE {KEY} {DIRECTION[left]} LIMIT %(count)s
)) RETURNING pos, value
"""
    for left in (True, False)
}
LENGTH = f"SELECT count(*) FROM prism.list_items WHERE {KEY}"
# The element `at` places from the head (left) or from the tail.
AT = {left: f"SELECT pos FROM prism.list_items WHERE {KEY} {DIRECTION[left]} OFFSET %(at)s LIMIT 1" for left in (True, False)}
INDEX = {left: f"SELECT value FROM prism.list_items WHERE {KEY} {DIRECTION[left]} OFFSET %(at)s LIMIT 1" for left in (True, False)}
SET_INDEX = {left: f"UPDATE prism.list_items SET value = %(v)s WHERE {KEY} AND pos = ({AT[left]}) RETURNING 1" for left in (True, False)}
PIVOT = f"SELECT pos FROM prism.list_items WHERE {KEY} AND value = %(pivot)s ORDER BY pos LIMIT 1"
SHIFT = f"UPDATE prism.list_items SET pos = pos + 1 WHERE {KEY} AND pos >= %(at)s"
PUT = "INSERT INTO prism.list_items (namespace, key, pos, value) VALUES (%(ns)s, %(k)s, %(at)s, %(v)s)"
REMOVE = {
    left: f"""
DELETE FROM prism.list_items WHERE {KEY} AND pos = ANY(ARRAY(
  SELECT pos FROM prism.list_items WHERE {KEY} AND value = %(v)s {DIRECTION[left]} LIMIT %(count)s
)) RETURNING 1
"""
    for left in (True, False)
}
SIZE = f"size AS (SELECT count(*) AS n FROM prism.list_items WHERE {KEY}), win AS ({ranks.WINDOW})"
RANGE = f"""
WITH {SIZE}
SELECT value FROM prism.list_items WHERE {KEY} ORDER BY pos OFFSET (SELECT lo FROM win) LIMIT (SELECT take FROM win)
"""
# The kept elements are consecutive: everything outside their first and last position goes.
TRIM = f"""
WITH {SIZE}, kept AS (
  SELECT min(pos) AS first, max(pos) AS last FROM (
    SELECT pos FROM prism.list_items WHERE {KEY} ORDER BY pos OFFSET (SELECT lo FROM win) LIMIT (SELECT take FROM win)
  ) inside
), gone AS (
  DELETE FROM prism.list_items WHERE {KEY} AND NOT coalesce(pos BETWEEN (SELECT first FROM kept) AND (SELECT last FROM kept), false)
)
SELECT take FROM win
"""

Conn: TypeAlias = "psycopg.AsyncConnection[Any]"


async def _fetchall(conn: Conn, statement: Any, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    return await (await conn.execute(statement, params)).fetchall()


def from_the_end(index: int) -> tuple[bool, int]:
    """(counted from the head, places from that end) of a list index, negative from the tail."""
    return (True, index) if index >= 0 else (False, -index - 1)


class PostgresLists:
    def __init__(self, conn: PostgresConnection):
        self.conn = conn
        self.pushes = Listener(conn, CHANNEL)

    @staticmethod
    def _params(ns: str, key: str, **more: Any) -> dict[str, Any]:
        n, k = utf8(ns), utf8(key)
        word = digest(n, k)
        return {"ns": n, "k": k, "word": word, "lock": int(word[:16], 16) - 2**63, "channel": CHANNEL, **more}

    async def _locked(self, params: dict[str, Any], work: Callable[[Conn], Awaitable[Any]]) -> Any:
        """`work(conn)` in a transaction holding the list's advisory lock."""

        async def go(conn: Conn) -> Any:
            async with conn.pipeline(), conn.transaction():  # BEGIN and the lock in the first round trip
                await conn.execute(LOCK, params)
                return await work(conn)

        return await self.conn.run(go)

    async def _read(self, statement: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
        return await self.conn.run(_fetchall, statement, params)

    # list_basic
    async def push(self, ns: str, key: str, values: list[bytes], left: bool) -> int:
        params = self._params(ns, key, left=left, values=[bytes(v) for v in values])

        async def work(conn: Conn) -> int:
            rows = await _fetchall(conn, PUSH, params)
            await conn.execute(NOTIFY, params)
            return int(rows[0][0])

        return await self._locked(params, work)

    async def pop(self, ns: str, key: str, count: int, left: bool) -> list[bytes]:
        params = self._params(ns, key, count=count)
        rows = await self._locked(params, lambda conn: _fetchall(conn, POP[left], params))
        return [bytes(value) for _, value in sorted(rows, reverse=not left)]

    async def length(self, ns: str, key: str) -> int:
        return int((await self._read(LENGTH, self._params(ns, key)))[0][0])

    # list_indexing
    async def index(self, ns: str, key: str, index: int) -> bytes | None:
        left, at = from_the_end(index)
        rows = await self._read(INDEX[left], self._params(ns, key, at=at))
        return bytes(rows[0][0]) if rows else None

    async def set_index(self, ns: str, key: str, index: int, value: bytes) -> bool:
        left, at = from_the_end(index)
        params = self._params(ns, key, at=at, v=bytes(value))
        return bool(await self._locked(params, lambda conn: _fetchall(conn, SET_INDEX[left], params)))

    async def insert(self, ns: str, key: str, before: bool, pivot: bytes, value: bytes) -> tuple[bool, int]:
        params = self._params(ns, key, pivot=bytes(pivot), v=bytes(value))

        async def work(conn: Conn) -> tuple[bool, int]:
            found = await _fetchall(conn, PIVOT, params)
            if found:
                params["at"] = found[0][0] if before else found[0][0] + 1
                await conn.execute(SHIFT, params)
                await conn.execute(PUT, params)
            return bool(found), int((await _fetchall(conn, LENGTH, params))[0][0])

        return await self._locked(params, work)

    async def remove(self, ns: str, key: str, value: bytes, count: int) -> int:
        params = self._params(ns, key, v=bytes(value), count=min(abs(count), INT64_MAX) or None)  # LIMIT NULL: every one
        return len(await self._locked(params, lambda conn: _fetchall(conn, REMOVE[count >= 0], params)))

    # list_range
    async def range(self, ns: str, key: str, start: int, stop: int) -> list[bytes]:
        return [bytes(v) for (v,) in await self._read(RANGE, self._params(ns, key, **ranks.ends(start, stop)))]

    async def trim(self, ns: str, key: str, start: int, stop: int) -> int:
        params = self._params(ns, key, **ranks.ends(start, stop))
        return int((await self._locked(params, lambda conn: _fetchall(conn, TRIM, params)))[0][0])

    # list_blocking
    async def blocking_pop(self, ns: str, keys: list[str], timeout_s: float, left: bool) -> tuple[str, bytes] | None:
        """Watch the keys' notifications first, then look: a push committed after the look
        wakes the wait, so none is missed between the two."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        pushed = asyncio.Event()
        words = {self._params(ns, k)["word"] for k in keys}

        def wake(_payload: str) -> None:
            pushed.set()

        for word in words:
            self.pushes.watch(word, wake)
        try:
            listening = await self.pushes.live(min(timeout_s, RECHECK_S))
            while True:
                pushed.clear()
                for key in keys:
                    got = await self.pop(ns, key, 1, left)
                    if got:
                        return key, got[0]
                remaining = deadline - loop.time()
                if remaining <= 0:
                    return None
                recheck = RECHECK_S if listening else RECHECK_UNLISTENED_S
                try:
                    await asyncio.wait_for(pushed.wait(), min(remaining, recheck))
                except asyncio.TimeoutError:
                    listening = await self.pushes.live(0)
        finally:
            for word in words:
                self.pushes.unwatch(word, wake)
