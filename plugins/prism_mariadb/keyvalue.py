"""Keys and values as rows of prism_kv_entries, one per (namespace, key). Namespaces and keys
are UTF-8 VARBINARY (compared byte by byte: no collation folds case or accents, NUL is a byte
like any other), so a scan prefix is a plain byte range, with no LIKE and no pattern character;
values are LONGBLOB (b"" is a value, a missing row is a missing key).

A row whose expires_at (ms since the epoch, the server's clock) has passed is invisible to every
read (LIVE) and is removed lazily (Set, Delete and the CAS overwrite it) and by SWEEP, run at most
once per SWEEP_EVERY_S by any call. Statements run in autocommit mode; the multi-statement
operations (CAS, batches larger than one statement) run in one transaction.
"""

from __future__ import annotations

import time
from typing import Any, AsyncIterator

from prism_mariadb.connection import NOW_MS, MariaDBConnection, Schema, Session

TABLES = Schema(
    ddl="""
CREATE TABLE IF NOT EXISTS prism_kv_entries (
  namespace VARBINARY(1024) NOT NULL,
  `key` VARBINARY(1024) NOT NULL,
  value LONGBLOB NOT NULL,
  expires_at BIGINT NULL,
  PRIMARY KEY (namespace, `key`),
  KEY prism_kv_expiry (expires_at)
) ENGINE=InnoDB
""",
    tables=("prism_kv_entries",),
)

LIVE = f"(expires_at IS NULL OR expires_at > {NOW_MS})"
KEY = "namespace = %(ns)s AND `key` = %(k)s"
DUE = f"{NOW_MS} + %(ms)s"

SET = (
    "INSERT INTO prism_kv_entries (namespace, `key`, value, expires_at) VALUES (%(ns)s, %(k)s, %(v)s, {expires})"
    " ON DUPLICATE KEY UPDATE value = VALUES(value), expires_at = VALUES(expires_at)"
)
SET_PLAIN = SET.format(expires="NULL")
SET_WITH_TTL = SET.format(expires=DUE)
GET = f"SELECT value FROM prism_kv_entries WHERE {KEY} AND {LIVE}"
EXISTS = f"SELECT 1 FROM prism_kv_entries WHERE {KEY} AND {LIVE}"
DELETE = f"DELETE FROM prism_kv_entries WHERE {KEY} RETURNING {LIVE}"  # an expired row goes too

# At most SCAN_PAGE_ROWS keys after `after`, cut where the values would pass SCAN_PAGE_BYTES
# (the first row always comes, whatever its size): a page's memory is bounded.
SCAN_PAGE_ROWS = 500
SCAN_PAGE_BYTES = 4 * 1024 * 1024
IN_RANGE = f"namespace = %(ns)s AND `key` >= %(lo)s AND (%(hi)s IS NULL OR `key` < %(hi)s) AND {LIVE}"
SCAN_KEYS = f"SELECT `key`, NULL FROM prism_kv_entries WHERE {IN_RANGE} AND `key` > %(after)s ORDER BY `key` LIMIT %(n)s"
SCAN_VALUES = f"""
SELECT `key`, value FROM (
  SELECT `key`, value, SUM(LENGTH(value)) OVER (ORDER BY `key` ROWS UNBOUNDED PRECEDING) - LENGTH(value) AS before_it
  FROM prism_kv_entries WHERE {IN_RANGE} AND `key` > %(after)s ORDER BY `key` LIMIT %(n)s
) page WHERE before_it < %(bytes)s ORDER BY `key`
"""
COUNT = f"SELECT COUNT(*) FROM prism_kv_entries WHERE {IN_RANGE}"

EXPIRE = f"UPDATE prism_kv_entries SET expires_at = {DUE} WHERE {KEY} AND {LIVE}"
REMAINING = f"""
SELECT CASE WHEN expires_at IS NULL THEN -1 ELSE GREATEST(0, expires_at - {NOW_MS}) END
FROM prism_kv_entries WHERE {KEY} AND {LIVE}
"""
PERSIST = f"UPDATE prism_kv_entries SET expires_at = NULL WHERE {KEY} AND expires_at > {NOW_MS}"

# Batches: rows in key order (concurrent batches lock in one order), each statement at most
# BATCH_STATEMENT_BYTES of values (max_allowed_packet is 16 MiB by default).
BATCH_STATEMENT_BYTES = 4 * 1024 * 1024
BATCH_SET = (
    "INSERT INTO prism_kv_entries (namespace, `key`, value, expires_at) VALUES {rows}"
    " ON DUPLICATE KEY UPDATE value = VALUES(value), expires_at = NULL"
)
BATCH_GET = f"SELECT `key`, value FROM prism_kv_entries WHERE namespace = %s AND `key` IN {{keys}} AND {LIVE}"
BATCH_DELETE = f"DELETE FROM prism_kv_entries WHERE namespace = %s AND `key` IN {{keys}} RETURNING {LIVE}"

# CAS: the row (live or expired) locked, then compared in Python, then written.
LOCK = f"SELECT value, {LIVE} FROM prism_kv_entries WHERE {KEY} FOR UPDATE"
INSERT_IF_ABSENT = "INSERT IGNORE INTO prism_kv_entries (namespace, `key`, value) VALUES (%(ns)s, %(k)s, %(v)s)"
OVERWRITE = f"UPDATE prism_kv_entries SET value = %(v)s, expires_at = NULL WHERE {KEY}"
REMOVE = f"DELETE FROM prism_kv_entries WHERE {KEY}"

SWEEP_EVERY_S = 1.0
SWEEP_ROWS = 1000
SWEEP = f"DELETE FROM prism_kv_entries WHERE expires_at <= {NOW_MS} LIMIT {SWEEP_ROWS}"


def utf8(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


def from_utf8(data: bytes) -> str:
    return bytes(data).decode("utf-8", "surrogatepass")


def prefix_range(prefix: str) -> tuple[bytes, bytes | None]:
    """[lo, hi): every byte string starting with the prefix's bytes (hi None: no upper bound)."""
    lo = utf8(prefix)
    head = lo.rstrip(b"\xff")
    return lo, (head[:-1] + bytes([head[-1] + 1]) if head else None)


def placeholders(n: int) -> str:
    """`(%s, %s, ...)`: a list of n values for IN."""
    return "(" + ", ".join(["%s"] * n) + ")"


def chunks(rows: list[tuple[bytes, bytes]], max_bytes: int = BATCH_STATEMENT_BYTES) -> list[list[tuple[bytes, bytes]]]:
    """Consecutive runs of rows whose keys and values total at most max_bytes (a larger row alone)."""
    out: list[list[tuple[bytes, bytes]]] = []
    size = 0
    for row in rows:
        n = len(row[0]) + len(row[1])
        if not out or size + n > max_bytes:
            out.append([])
            size = 0
        out[-1].append(row)
        size += n
    return out


class MariaDBKeyValue:
    def __init__(self, conn: MariaDBConnection):
        self.conn = conn
        self._swept_at = 0.0

    async def _run(self, work: Any, *args: Any) -> Any:
        """conn.run, and SWEEP of expired rows when one is due."""
        result = await self.conn.run(work, *args)
        if time.monotonic() - self._swept_at >= SWEEP_EVERY_S:
            self._swept_at = time.monotonic()
            await self.conn.run(lambda s: s.execute(SWEEP))
        return result

    async def _fetchone(self, statement: str, **params: Any) -> tuple[Any, ...] | None:
        return await self._run(lambda s: s.fetchone(statement, params))

    async def _execute(self, statement: str, **params: Any) -> int:
        return await self._run(lambda s: s.execute(statement, params))

    # keyvalue_basic
    async def set(self, ns: str, key: str, value: bytes) -> None:
        await self._execute(SET_PLAIN, ns=utf8(ns), k=utf8(key), v=bytes(value))

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
            statement = SCAN_VALUES if with_values else SCAN_KEYS
            rows = await self._run(lambda s: s.fetchall(statement, params))
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
        await self._execute(SET_WITH_TTL, ns=utf8(ns), k=utf8(key), v=bytes(value), ms=ttl_ms)

    async def expire(self, ns: str, key: str, ttl_ms: int) -> bool:
        return await self._execute(EXPIRE, ns=utf8(ns), k=utf8(key), ms=ttl_ms) > 0

    async def remaining_ttl(self, ns: str, key: str) -> int | None:
        row = await self._fetchone(REMAINING, ns=utf8(ns), k=utf8(key))
        return None if row is None else int(row[0])

    async def persist(self, ns: str, key: str) -> bool:
        return await self._execute(PERSIST, ns=utf8(ns), k=utf8(key)) > 0

    # keyvalue_batch: atomic (one transaction when it takes more than one statement)
    async def batch_set(self, ns: str, entries: dict[str, bytes]) -> None:
        rows = sorted((utf8(k), bytes(v)) for k, v in entries.items())
        parts = chunks(rows)

        async def write(s: Session) -> None:
            for part in parts:
                args = [x for k, v in part for x in (utf8(ns), k, v)]
                await s.execute(BATCH_SET.format(rows=", ".join(["(%s, %s, %s, NULL)"] * len(part))), args)

        await self._run(lambda s: write(s) if len(parts) == 1 else s.transaction(write))

    async def batch_get(self, ns: str, keys: list[str]) -> list[bytes | None]:
        args = [utf8(ns), *(utf8(k) for k in keys)]
        rows = await self._run(lambda s: s.fetchall(BATCH_GET.format(keys=placeholders(len(keys))), args))
        found = {from_utf8(k): bytes(v) for k, v in rows}
        return [found.get(k) for k in keys]

    async def batch_delete(self, ns: str, keys: list[str]) -> int:
        args = [utf8(ns), *sorted(utf8(k) for k in keys)]
        rows = await self._run(lambda s: s.fetchall(BATCH_DELETE.format(keys=placeholders(len(keys))), args))
        return sum(1 for (live,) in rows if live)

    # keyvalue_cas
    async def compare_and_swap(self, ns: str, key: str, expected: bytes | None, new: bytes) -> tuple[bool, bytes | None]:
        params = {"ns": utf8(ns), "k": utf8(key), "v": bytes(new)}
        return await self._run(lambda s: s.transaction(lambda t: _compare_and_write(t, params, expected, True)))

    async def compare_and_delete(self, ns: str, key: str, expected: bytes) -> tuple[bool, bytes | None]:
        params = {"ns": utf8(ns), "k": utf8(key)}
        return await self._run(lambda s: s.transaction(lambda t: _compare_and_write(t, params, expected, False)))


async def _compare_and_write(s: Session, params: dict[str, Any], expected: bytes | None, swap: bool) -> tuple[bool, bytes | None]:
    """Swap (`swap`) or delete the key if its live value is `expected` (None: absent), in one
    READ COMMITTED transaction holding the row's lock; returns (done, the value after)."""
    row = await s.fetchone(LOCK, params)
    current = bytes(row[0]) if row is not None and row[1] else None
    if current != expected:
        return False, current
    if row is None:
        if await s.execute(INSERT_IF_ABSENT, params) == 0:
            # Inserted meanwhile by someone else (committed now): what they wrote is current.
            row = await s.fetchone(LOCK, params)
            return False, bytes(row[0]) if row is not None and row[1] else None
    elif swap:
        await s.execute(OVERWRITE, params)
    else:
        await s.execute(REMOVE, params)
    return True, params["v"] if swap else None
