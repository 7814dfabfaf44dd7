"""Keys and values as rows of kv_entries, one per (namespace, key): namespace and key as UTF-8
BLOBs (any character, NUL included; BLOBs compare with memcmp, so a prefix is a plain range:
no LIKE, `%` and `_` are literal), values as BLOBs (b"" is a value, a missing row a missing key).

A row whose expires_at (ms since the epoch) has passed is invisible to every read and removed
lazily (writes overwrite it) and by a sweep, at most once per SWEEP_EVERY_S. Every operation is
one SQLite transaction on the plugin's writer connection, so CAS and batches are atomic.
Transactions (keyvalue_transactional) are the SDK's optimistic ones over commit_if_unchanged:
one IMMEDIATE transaction that compares every key read and applies the writes (conflict: abort).
"""

from __future__ import annotations

import sqlite3
import time
from typing import Any, AsyncIterator

from prism_sqlite.connection import Schema, SqliteConnection, text, utf8

TABLES = Schema(
    ddl="""
CREATE TABLE IF NOT EXISTS kv_entries (
  namespace BLOB NOT NULL,
  key BLOB NOT NULL,
  value BLOB NOT NULL,
  expires_at INTEGER,
  PRIMARY KEY (namespace, key)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS kv_entries_expiry ON kv_entries (expires_at) WHERE expires_at IS NOT NULL
""",
    drop=("DELETE FROM kv_entries WHERE namespace = ?1",),
)

LIVE = "(expires_at IS NULL OR expires_at > :now)"
KEY = "namespace = :ns AND key = :k"
UPSERT = (
    "INSERT INTO kv_entries (namespace, key, value, expires_at) VALUES (:ns, :k, :v, :due)"
    " ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at"
)
GET = f"SELECT value FROM kv_entries WHERE {KEY} AND {LIVE}"
IN_RANGE = f"namespace = :ns AND key >= :lo AND (:hi IS NULL OR key < :hi) AND {LIVE}"
SCAN = f"SELECT key, {{value}} FROM kv_entries WHERE {IN_RANGE} AND key > :after ORDER BY key LIMIT :n"
COUNT = f"SELECT count(*) FROM kv_entries WHERE {IN_RANGE}"
EXPIRE = f"UPDATE kv_entries SET expires_at = :due WHERE {KEY} AND {LIVE}"
REMAINING = f"SELECT CASE WHEN expires_at IS NULL THEN -1 ELSE max(0, expires_at - :now) END FROM kv_entries WHERE {KEY} AND {LIVE}"
PERSIST = f"UPDATE kv_entries SET expires_at = NULL WHERE {KEY} AND expires_at > :now"
LOOKUP = f"SELECT value, {LIVE} FROM kv_entries WHERE {KEY}"
REMOVE = f"DELETE FROM kv_entries WHERE {KEY}"

SCAN_PAGE_ROWS = 500
SCAN_PAGE_BYTES = 4 * 1024 * 1024  # a page of values stops once past this (its first row always comes)
SWEEP_EVERY_S = 1.0
SWEEP = "DELETE FROM kv_entries WHERE expires_at IS NOT NULL AND expires_at <= :now"


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def prefix_range(prefix: str) -> tuple[bytes, bytes | None]:
    """[lo, hi): every byte string starting with the prefix's bytes (hi None: no upper bound)."""
    lo = utf8(prefix)
    head = lo.rstrip(b"\xff")
    return lo, (head[:-1] + bytes([head[-1] + 1]) if head else None)


def _live(conn: sqlite3.Connection, ns: bytes, key: bytes, now: int) -> bytes | None:
    row = conn.execute(GET, {"ns": ns, "k": key, "now": now}).fetchone()
    return None if row is None else bytes(row[0])


class SqliteKeyValue:
    def __init__(self, conn: SqliteConnection):
        self.conn = conn
        self._swept_at = 0.0

    async def _run(self, work: Any, *args: Any, transaction: str = "BEGIN IMMEDIATE") -> Any:
        """conn.run, with the sweep of expired rows when one is due (in the same transaction)."""
        sweep = time.monotonic() - self._swept_at >= SWEEP_EVERY_S
        if sweep:
            self._swept_at = time.monotonic()
            transaction = "BEGIN IMMEDIATE"

        def job(conn: sqlite3.Connection) -> Any:
            result = work(conn, *args)
            if sweep:
                conn.execute(SWEEP, {"now": now_ms()})
            return result

        return await self.conn.run(job, transaction=transaction)

    async def _one(self, statement: str, **params: Any) -> Any:
        def work(conn: sqlite3.Connection) -> Any:
            return conn.execute(statement, {"now": now_ms(), **params}).fetchone()

        return await self._run(work)

    async def _changed(self, statement: str, **params: Any) -> int:
        def work(conn: sqlite3.Connection) -> int:
            return conn.execute(statement, {"now": now_ms(), **params}).rowcount

        return await self._run(work)

    # keyvalue_basic
    async def set(self, ns: str, key: str, value: bytes) -> None:
        await self._changed(UPSERT, ns=utf8(ns), k=utf8(key), v=bytes(value), due=None)

    async def get(self, ns: str, key: str) -> bytes | None:
        row = await self._one(GET, ns=utf8(ns), k=utf8(key))
        return None if row is None else bytes(row[0])

    async def delete(self, ns: str, key: str) -> bool:
        return await self._run(lambda conn: _delete(conn, utf8(ns), utf8(key), now_ms()))

    async def exists(self, ns: str, key: str) -> bool:
        return await self.get(ns, key) is not None

    # keyvalue_scan: pages in key order, each page one statement after the last key sent
    async def scan(self, ns: str, prefix: str, limit: int, with_values: bool) -> AsyncIterator[tuple[str, bytes | None]]:
        lo, hi = prefix_range(prefix)
        statement = SCAN.format(value="value" if with_values else "NULL")
        after, sent = b"", 0
        while True:
            n = SCAN_PAGE_ROWS if not limit else min(SCAN_PAGE_ROWS, limit - sent)
            params = {"ns": utf8(ns), "lo": lo, "hi": hi, "after": after, "n": n}

            def page(conn: sqlite3.Connection, params: dict[str, Any] = params) -> list[Any]:
                rows: list[tuple[bytes, bytes | None]] = []
                size = 0
                for key, value in conn.execute(statement, {**params, "now": now_ms()}):
                    if rows and size >= SCAN_PAGE_BYTES:
                        break
                    rows.append((key, value))
                    size += len(value or b"")
                return rows

            rows = await self._run(page, transaction="")
            for key, value in rows:
                yield text(key), None if value is None else bytes(value)
            sent += len(rows)
            if not rows or (limit and sent >= limit):
                return
            after = bytes(rows[-1][0])

    async def count(self, ns: str, prefix: str) -> int:
        lo, hi = prefix_range(prefix)
        row = await self._one(COUNT, ns=utf8(ns), lo=lo, hi=hi)
        return int(row[0]) if row else 0

    # keyvalue_ttl
    async def set_with_ttl(self, ns: str, key: str, value: bytes, ttl_ms: int) -> None:
        now = now_ms()
        await self._changed(UPSERT, ns=utf8(ns), k=utf8(key), v=bytes(value), due=now + ttl_ms, now=now)

    async def expire(self, ns: str, key: str, ttl_ms: int) -> bool:
        now = now_ms()
        return await self._changed(EXPIRE, ns=utf8(ns), k=utf8(key), due=now + ttl_ms, now=now) > 0

    async def remaining_ttl(self, ns: str, key: str) -> int | None:
        row = await self._one(REMAINING, ns=utf8(ns), k=utf8(key))
        return None if row is None else int(row[0])

    async def persist(self, ns: str, key: str) -> bool:
        return await self._changed(PERSIST, ns=utf8(ns), k=utf8(key)) > 0

    # keyvalue_batch: one transaction each, so a batch is atomic
    async def batch_set(self, ns: str, entries: dict[str, bytes]) -> None:
        rows = [{"ns": utf8(ns), "k": utf8(k), "v": bytes(v), "due": None} for k, v in entries.items()]

        def work(conn: sqlite3.Connection) -> None:
            conn.executemany(UPSERT, rows).close()  # on this thread: see Database._job

        await self._run(work)

    async def batch_get(self, ns: str, keys: list[str]) -> list[bytes | None]:
        def work(conn: sqlite3.Connection) -> list[bytes | None]:
            now = now_ms()
            return [_live(conn, utf8(ns), utf8(k), now) for k in keys]

        return await self._run(work, transaction="BEGIN")

    async def batch_delete(self, ns: str, keys: list[str]) -> int:
        def work(conn: sqlite3.Connection) -> int:
            now, deleted = now_ms(), 0
            for k in dict.fromkeys(keys):
                deleted += _delete(conn, utf8(ns), utf8(k), now)
            return deleted

        return await self._run(work)

    # keyvalue_cas
    async def compare_and_swap(self, ns: str, key: str, expected: bytes | None, new: bytes) -> tuple[bool, bytes | None]:
        return await self._run(_compare_and_write, utf8(ns), utf8(key), expected, bytes(new))

    async def compare_and_delete(self, ns: str, key: str, expected: bytes) -> tuple[bool, bytes | None]:
        return await self._run(_compare_and_write, utf8(ns), utf8(key), expected, None)

    # keyvalue_transactional (the SDK's OptimisticTransactions' CommitStore)
    async def commit_if_unchanged(self, ns: str, expected: dict[str, bytes | None], writes: dict[str, bytes | None]) -> bool:
        def work(conn: sqlite3.Connection) -> bool:
            now = now_ms()
            if any(_live(conn, utf8(ns), utf8(k), now) != v for k, v in expected.items()):
                return False
            for k, v in writes.items():
                params = {"ns": utf8(ns), "k": utf8(k), "v": v, "due": None}
                conn.execute(REMOVE if v is None else UPSERT, params)
            return True

        return await self._run(work)


def _delete(conn: sqlite3.Connection, ns: bytes, key: bytes, now: int) -> bool:
    """Delete the key's row (an expired one goes too); whether it was live. A SELECT then a
    DELETE in the operation's transaction: SQLite 3.40's DELETE ... RETURNING of an expression
    over a WITHOUT ROWID table answers NULL."""
    live = _live(conn, ns, key, now) is not None
    conn.execute(REMOVE, {"ns": ns, "k": key})
    return live


def _compare_and_write(
    conn: sqlite3.Connection, ns: bytes, key: bytes, expected: bytes | None, new: bytes | None
) -> tuple[bool, bytes | None]:
    """Swap (new not None) or delete the key if its live value is `expected` (None: absent), in
    the operation's IMMEDIATE transaction (no writer between the read and the write); returns
    (done, the value after)."""
    current = _live(conn, ns, key, now_ms())
    if current != expected:
        return False, current
    if new is None:
        conn.execute(REMOVE, {"ns": ns, "k": key})
    else:
        conn.execute(UPSERT, {"ns": ns, "k": key, "v": new, "due": None})
    return True, new
