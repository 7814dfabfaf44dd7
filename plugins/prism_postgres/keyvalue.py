"""Keys and values as rows of prism.kv_entries, one per (namespace, key). Namespaces and keys
are stored as UTF-8 bytea (a key may hold any character, NUL included; bytea compares byte by
byte, so a prefix is a plain range with no pattern characters and no collation), values as
bytea (b"" is a value, a missing row is a missing key).

A row whose expires_at has passed is invisible to every read (LIVE) and is removed lazily (Set,
Delete and the CAS overwrite it) and by SWEEP, run at most once per SWEEP_EVERY_S by any call.
Statements run in autocommit mode; the only multi-statement operations (CAS) hold a row lock.
"""

from __future__ import annotations

import time
from typing import Any, AsyncIterator, TypeAlias

import psycopg

from prism_postgres.connection import PostgresConnection, Schema

TABLES = Schema(
    ddl="""
CREATE TABLE IF NOT EXISTS prism.kv_entries (
  namespace bytea NOT NULL,
  key bytea NOT NULL,
  value bytea NOT NULL,
  expires_at timestamptz,
  PRIMARY KEY (namespace, key)
);
CREATE INDEX IF NOT EXISTS kv_entries_expiry ON prism.kv_entries (expires_at) WHERE expires_at IS NOT NULL;
""",
    tables=("kv_entries",),
)

LIVE = "(expires_at IS NULL OR expires_at > statement_timestamp())"
KEY = "namespace = %(ns)s AND key = %(k)s"
DUE = "statement_timestamp() + %(ms)s::float8 * interval '1 millisecond'"

UPSERT = """
INSERT INTO prism.kv_entries AS e (namespace, key, value, expires_at) VALUES (%(ns)s, %(k)s, %(v)s, {expires})
ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at
"""
SET = UPSERT.format(expires="NULL")
SET_WITH_TTL = UPSERT.format(expires=DUE)
GET = f"SELECT value FROM prism.kv_entries WHERE {KEY} AND {LIVE}"
EXISTS = f"SELECT 1 FROM prism.kv_entries WHERE {KEY} AND {LIVE}"
DELETE = f"DELETE FROM prism.kv_entries WHERE {KEY} RETURNING {LIVE}"  # an expired row goes too

# At most SCAN_PAGE_ROWS keys after `after`, cut where the values would pass SCAN_PAGE_BYTES
# (the first row always comes, whatever its size): a page's memory is bounded.
SCAN_PAGE_ROWS = 500
SCAN_PAGE_BYTES = 4 * 1024 * 1024
IN_RANGE = f"namespace = %(ns)s AND key >= %(lo)s AND (%(hi)s::bytea IS NULL OR key < %(hi)s) AND {LIVE}"
SCAN_KEYS = f"SELECT key, NULL FROM prism.kv_entries WHERE {IN_RANGE} AND key > %(after)s ORDER BY key LIMIT %(n)s"
SCAN_VALUES = f"""
SELECT key, value FROM (
  SELECT key, value, sum(octet_length(value)) OVER (ORDER BY key ROWS UNBOUNDED PRECEDING) - octet_length(value) AS before
  FROM prism.kv_entries WHERE {IN_RANGE} AND key > %(after)s ORDER BY key LIMIT %(n)s
) page WHERE before < %(bytes)s ORDER BY key
"""
COUNT = f"SELECT count(*) FROM prism.kv_entries WHERE {IN_RANGE}"

EXPIRE = f"UPDATE prism.kv_entries SET expires_at = {DUE} WHERE {KEY} AND {LIVE} RETURNING 1"
REMAINING = f"""
SELECT CASE WHEN expires_at IS NULL THEN -1
       ELSE greatest(0, floor(extract(epoch FROM expires_at - statement_timestamp()) * 1000))::bigint END
FROM prism.kv_entries WHERE {KEY} AND {LIVE}
"""
PERSIST = f"UPDATE prism.kv_entries SET expires_at = NULL WHERE {KEY} AND expires_at > statement_timestamp() RETURNING 1"

# Keys sorted by the caller: concurrent batches lock rows in one order (no deadlock).
BATCH_SET = """
INSERT INTO prism.kv_entries (namespace, key, value)
SELECT %(ns)s, t.k, t.v FROM unnest(%(keys)s::bytea[], %(values)s::bytea[]) AS t(k, v)
ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value, expires_at = NULL
"""
BATCH_GET = f"SELECT key, value FROM prism.kv_entries WHERE namespace = %(ns)s AND key = ANY(%(keys)s::bytea[]) AND {LIVE}"
BATCH_DELETE = f"DELETE FROM prism.kv_entries WHERE namespace = %(ns)s AND key = ANY(%(keys)s::bytea[]) RETURNING {LIVE}"

# CAS: the row (live or expired) locked, then compared in Python, then written.
LOCK = "SELECT value, {live} FROM prism.kv_entries WHERE {key} FOR UPDATE".format(live=LIVE, key=KEY)
INSERT_IF_ABSENT = "INSERT INTO prism.kv_entries (namespace, key, value) VALUES (%(ns)s, %(k)s, %(v)s) ON CONFLICT DO NOTHING RETURNING 1"
OVERWRITE = f"UPDATE prism.kv_entries SET value = %(v)s, expires_at = NULL WHERE {KEY}"
REMOVE = f"DELETE FROM prism.kv_entries WHERE {KEY}"

SWEEP_EVERY_S = 1.0
SWEEP_ROWS = 1000
SWEEP = f"""
DELETE FROM prism.kv_entries WHERE ctid = ANY(ARRAY(
  SELECT ctid FROM prism.kv_entries WHERE expires_at <= statement_timestamp() LIMIT {SWEEP_ROWS} FOR UPDATE SKIP LOCKED
))
"""

Conn: TypeAlias = "psycopg.AsyncConnection[Any]"


def utf8(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


def from_utf8(data: bytes) -> str:
    return bytes(data).decode("utf-8", "surrogatepass")


def prefix_range(prefix: str) -> tuple[bytes, bytes | None]:
    """[lo, hi): every byte string starting with the prefix's bytes (hi None: no upper bound)."""
    lo = utf8(prefix)
    head = lo.rstrip(b"\xff")
    return lo, (head[:-1] + bytes([head[-1] + 1]) if head else None)


async def _one(conn: Conn, statement: Any, params: dict[str, Any]) -> tuple[Any, ...] | None:
    return await (await conn.execute(statement, params)).fetchone()


class PostgresKeyValue:
    def __init__(self, conn: PostgresConnection):
        self.conn = conn
        self._swept_at = 0.0

    async def _run(self, work: Any, *args: Any) -> Any:
        """conn.run, and SWEEP of expired rows when one is due."""
        result = await self.conn.run(work, *args)
        if time.monotonic() - self._swept_at >= SWEEP_EVERY_S:
            self._swept_at = time.monotonic()
            await self.conn.run(_execute, SWEEP, {})
        return result

    async def _fetchone(self, statement: str, **params: Any) -> tuple[Any, ...] | None:
        return await self._run(_one, statement, params)

    # keyvalue_basic
    async def set(self, ns: str, key: str, value: bytes) -> None:
        await self._run(_execute, SET, {"ns": utf8(ns), "k": utf8(key), "v": bytes(value)})

    async def get(self, ns: str, key: str) -> bytes | None:
        row = await self._fetchone(GET, ns=utf8(ns), k=utf8(key))
        return None if row is None else bytes(row[0])

    async def delete(self, ns: str, key: str) -> bool:
        row = await self._fetchone(DELETE, ns=utf8(ns), k=utf8(key))
        return bool(row and row[0])

    async def exists(self, ns: str, key: str) -> bool:
        return await self._fetchone(EXISTS, ns=utf8(ns), k=utf8(key)) is not None

    # keyvalue_scan: pages in key order, each page one bounded statement after the last key sent
    async def scan(self, ns: str, prefix: str, limit: int, with_values: bool) -> AsyncIterator[tuple[str, bytes | None]]:
        lo, hi = prefix_range(prefix)
        after, sent = b"", 0
        while True:
            n = SCAN_PAGE_ROWS if not limit else min(SCAN_PAGE_ROWS, limit - sent)
            params = {"ns": utf8(ns), "lo": lo, "hi": hi, "after": after, "n": n, "bytes": SCAN_PAGE_BYTES}
            rows = await self._run(_fetchall, SCAN_VALUES if with_values else SCAN_KEYS, params)
            for key, value in rows:
                yield from_utf8(key), None if value is None else bytes(value)
            sent += len(rows)
            if not rows or (limit and sent >= limit) or (len(rows) < n and not with_values):
                return
            after = bytes(rows[-1][0])

    async def count(self, ns: str, prefix: str) -> int:
        lo, hi = prefix_range(prefix)
        row = await self._fetchone(COUNT, ns=utf8(ns), lo=lo, hi=hi)
        return int(row[0]) if row else 0

    # keyvalue_ttl
    async def set_with_ttl(self, ns: str, key: str, value: bytes, ttl_ms: int) -> None:
        await self._run(_execute, SET_WITH_TTL, {"ns": utf8(ns), "k": utf8(key), "v": bytes(value), "ms": ttl_ms})

    async def expire(self, ns: str, key: str, ttl_ms: int) -> bool:
        return await self._fetchone(EXPIRE, ns=utf8(ns), k=utf8(key), ms=ttl_ms) is not None

    async def remaining_ttl(self, ns: str, key: str) -> int | None:
        row = await self._fetchone(REMAINING, ns=utf8(ns), k=utf8(key))
        return None if row is None else int(row[0])

    async def persist(self, ns: str, key: str) -> bool:
        return await self._fetchone(PERSIST, ns=utf8(ns), k=utf8(key)) is not None

    # keyvalue_batch: one statement each, so a batch is atomic
    async def batch_set(self, ns: str, entries: dict[str, bytes]) -> None:
        rows = sorted((utf8(k), bytes(v)) for k, v in entries.items())
        params = {"ns": utf8(ns), "keys": [k for k, _ in rows], "values": [v for _, v in rows]}
        await self._run(_execute, BATCH_SET, params)

    async def batch_get(self, ns: str, keys: list[str]) -> list[bytes | None]:
        rows = await self._run(_fetchall, BATCH_GET, {"ns": utf8(ns), "keys": [utf8(k) for k in keys]})
        found = {from_utf8(k): bytes(v) for k, v in rows}
        return [found.get(k) for k in keys]

    async def batch_delete(self, ns: str, keys: list[str]) -> int:
        rows = await self._run(_fetchall, BATCH_DELETE, {"ns": utf8(ns), "keys": sorted(utf8(k) for k in keys)})
        return sum(1 for (live,) in rows if live)

    # keyvalue_cas
    async def compare_and_swap(self, ns: str, key: str, expected: bytes | None, new: bytes) -> tuple[bool, bytes | None]:
        return await self._run(_compare_and_write, {"ns": utf8(ns), "k": utf8(key), "v": bytes(new)}, expected, True)

    async def compare_and_delete(self, ns: str, key: str, expected: bytes) -> tuple[bool, bytes | None]:
        return await self._run(_compare_and_write, {"ns": utf8(ns), "k": utf8(key)}, expected, False)


async def _execute(conn: Conn, statement: Any, params: dict[str, Any]) -> None:
    await conn.execute(statement, params)


async def _fetchall(conn: Conn, statement: Any, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    return await (await conn.execute(statement, params)).fetchall()


async def _compare_and_write(conn: Conn, params: dict[str, Any], expected: bytes | None, swap: bool) -> tuple[bool, bytes | None]:
    """Swap (`swap`) or delete the key if its live value is `expected` (None: absent), in one
    transaction holding the row's lock; returns (done, the value after)."""
    async with conn.transaction():
        row = await _one(conn, LOCK, params)
        current = bytes(row[0]) if row is not None and row[1] else None
        if current != expected:
            return False, current
        if row is None:
            if await _one(conn, INSERT_IF_ABSENT, params) is None:
                # Inserted meanwhile by someone else (committed now): what they wrote is current.
                row = await _one(conn, LOCK, params)
                return False, bytes(row[0]) if row is not None and row[1] else None
        elif swap:
            await conn.execute(OVERWRITE, params)
        else:
            await conn.execute(REMOVE, params)
    return True, params["v"] if swap else None
