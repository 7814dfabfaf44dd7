"""keyvalue_transactional natively: every open transaction is a PostgreSQL REPEATABLE READ
transaction on a connection of its own, from a pool of at most MAX_OPEN (RESOURCE_EXHAUSTED
past that), whose snapshot is taken at BeginTransaction.

Reads go to that snapshot. Writes are kept by the plugin until Commit, so an open transaction
never holds a lock another client would wait for (two transactions may both Set a key; the
first Commit wins). Commit, in the PostgreSQL transaction: locks every key the transaction
touched that its snapshot holds (FOR UPDATE), and inserts those it does not, then applies the
writes and commits. PostgreSQL refuses both with serialization_failure when a key changed after
the snapshot (first committer wins), and deadlock_detected can end one of two crossing Commits:
both answer ABORTED, having applied nothing. conflict: abort.

A transaction idle for IDLE_TIMEOUT_S is rolled back and its connection returned (the server's
idle_in_transaction_session_timeout is the backstop), so a client that never ends one leaks
nothing.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Awaitable, Callable, TypeVar

import psycopg
import psycopg_pool

from prism_plugin.status import aborted, failed_precondition, not_found, resource_exhausted, shown
from prism_postgres.connection import CALL_TIMEOUT_S, PostgresConnection
from prism_postgres.keyvalue import LIVE, Conn, from_utf8, utf8

MAX_OPEN = 8
IDLE_TIMEOUT_S = 15.0
MAX_FINISHED = 10_000  # finished ids remembered, to answer FAILED_PRECONDITION rather than NOT_FOUND
MAX_KEYS = 10_000  # keys one transaction may touch
MAX_WRITE_BYTES = 64 * 1024 * 1024  # what one transaction's pending writes may hold

BEGIN = "BEGIN ISOLATION LEVEL REPEATABLE READ"
BACKSTOP = f"SET LOCAL idle_in_transaction_session_timeout = {int(IDLE_TIMEOUT_S * 1000) + 5000}"
SNAPSHOT = "SELECT 1"  # the first query takes the transaction's snapshot
GET = f"SELECT value FROM prism.kv_entries WHERE namespace = %(ns)s AND key = %(k)s AND {LIVE}"
# Live rows only: an expired row is absent to the transaction, and SWEEP deleting it meanwhile
# is no conflict.
LOCK = f"""
SELECT key FROM prism.kv_entries WHERE namespace = %(ns)s AND key = ANY(%(keys)s::bytea[]) AND {LIVE} ORDER BY key FOR UPDATE
"""
CLAIM = """
INSERT INTO prism.kv_entries (namespace, key, value)
SELECT %(ns)s, t.k, t.v FROM unnest(%(keys)s::bytea[], %(values)s::bytea[]) AS t(k, v) {conflict}
"""
# Absent keys set: an expired row visible to the snapshot is overwritten.
INSERT = CLAIM.format(conflict="ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value, expires_at = NULL")
# Absent keys not set: a placeholder, deleted before COMMIT.
PLACEHOLD = CLAIM.format(conflict="ON CONFLICT DO NOTHING")
UPDATE = """
UPDATE prism.kv_entries e SET value = t.v, expires_at = NULL
FROM unnest(%(keys)s::bytea[], %(values)s::bytea[]) AS t(k, v) WHERE e.namespace = %(ns)s AND e.key = t.k
"""
# Live rows only (locked or placeholders): an expired one may be gone to SWEEP already, and
# deleting a row deleted since the snapshot would be a serialization_failure.
DELETE = f"DELETE FROM prism.kv_entries WHERE namespace = %(ns)s AND key = ANY(%(keys)s::bytea[]) AND {LIVE}"
# Two transactions lost to each other: PostgreSQL rolled this one back, a retry may succeed.
CONFLICTS = (psycopg.errors.SerializationFailure, psycopg.errors.DeadlockDetected, psycopg.errors.LockNotAvailable)

T = TypeVar("T")


@dataclass(eq=False)
class _Transaction:
    id: str
    namespace: str
    conn: Conn
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    touched: set[str] = field(default_factory=set)
    writes: dict[str, bytes | None] = field(default_factory=dict)  # None: delete
    write_bytes: int = 0
    used_at: float = field(default_factory=time.monotonic)


class PostgresTransactions:
    def __init__(self, conn: PostgresConnection, max_open: int = MAX_OPEN, idle_timeout_s: float = IDLE_TIMEOUT_S):
        self.conn = conn
        self.max_open = max_open
        self.idle_timeout_s = idle_timeout_s
        self._pool: psycopg_pool.AsyncConnectionPool | None = None
        self._pool_of: object = None  # the PostgresConnection pool ours copies (a new Initialize replaces it)
        self._open: dict[str, _Transaction] = {}
        self._starting = 0
        self._finished: OrderedDict[str, tuple[str, str]] = OrderedDict()  # id: (namespace, state)
        self._reaper: asyncio.Task[None] | None = None

    async def _connections(self) -> psycopg_pool.AsyncConnectionPool:
        """A pool like the plugin's (same server, same per-statement timeouts), for transactions only."""
        main = self.conn.pool
        if self._pool is not None and self._pool_of is main:
            return self._pool
        old, self._pool = self._pool, None
        for tx in list(self._open.values()):
            await self._finish(tx, "aborted (the plugin was initialized again)", discard=True)
        if old is not None:
            await old.close()
        pool = psycopg_pool.AsyncConnectionPool(
            main.conninfo if isinstance(main.conninfo, str) else "",
            kwargs=main.kwargs if isinstance(main.kwargs, dict) else None,
            min_size=0,
            max_size=self.max_open,
            open=False,
            timeout=CALL_TIMEOUT_S,
            max_idle=60,
        )
        await pool.open(wait=False)
        self._pool, self._pool_of = pool, main
        return pool

    def _get(self, ns: str, tx_id: str) -> _Transaction:
        tx = self._open.get(tx_id)
        if tx is not None and tx.namespace == ns:
            tx.used_at = time.monotonic()
            return tx
        finished = self._finished.get(tx_id)
        if finished is not None and finished[0] == ns:
            raise failed_precondition(f"transaction {shown(tx_id)} is {finished[1]}")
        raise not_found(f"no transaction {shown(tx_id)} in this namespace")

    async def _finish(self, tx: _Transaction, state: str, discard: bool = False) -> None:
        """Forget the transaction as open and give its connection back (the pool rolls back
        what is still open; a connection in an unknown state is closed instead)."""
        if self._open.pop(tx.id, None) is None:
            return
        self._finished[tx.id] = (tx.namespace, state)
        while len(self._finished) > MAX_FINISHED:
            self._finished.popitem(last=False)
        tx.writes.clear()
        tx.touched.clear()
        if discard:
            await tx.conn.close()
        if self._pool is not None:
            await self._pool.putconn(tx.conn)
        else:
            await tx.conn.close()

    async def _in(self, ns: str, tx_id: str, work: Callable[[_Transaction], Awaitable[T]]) -> T:
        """`work(tx)` alone on the transaction, bounded; a conflict ends it as ABORTED, any other
        failure ends it too (its PostgreSQL transaction cannot go on)."""
        tx = self._get(ns, tx_id)
        async with tx.lock:
            tx = self._get(ns, tx_id)  # still open after waiting for the lock
            try:
                return await asyncio.wait_for(work(tx), CALL_TIMEOUT_S)
            except CONFLICTS as e:
                await self._finish(tx, "aborted")
                raise aborted(f"transaction {shown(tx_id)} conflicted with another writer ({e.sqlstate}); retry it") from e
            except psycopg.Error:
                await self._finish(tx, "aborted (backend error)", discard=True)
                raise
            except asyncio.TimeoutError:
                await self._finish(tx, "aborted (timed out)", discard=True)
                raise
            finally:
                tx.used_at = time.monotonic()

    async def _reap(self) -> None:
        """Roll back transactions idle past the timeout, while any is open."""
        while self._open:
            await asyncio.sleep(min(1.0, self.idle_timeout_s / 2))
            deadline = time.monotonic() - self.idle_timeout_s
            for tx in list(self._open.values()):
                if tx.used_at < deadline and not tx.lock.locked():
                    await self._finish(tx, f"rolled back (idle for more than {self.idle_timeout_s:g} s)")
        self._reaper = None

    async def begin(self, ns: str) -> str:
        if len(self._open) + self._starting >= self.max_open:
            raise resource_exhausted(f"{self.max_open} transactions are open; commit or roll one back first")
        self._starting += 1
        try:
            pool = await self._connections()
            try:
                conn = await pool.getconn(timeout=CALL_TIMEOUT_S)
            except psycopg_pool.PoolTimeout as e:
                raise resource_exhausted("no connection free for a new transaction; retry later") from e
            try:
                for statement in (BEGIN, BACKSTOP, SNAPSHOT):
                    await asyncio.wait_for(conn.execute(statement), CALL_TIMEOUT_S)
            except BaseException:
                await conn.close()
                await pool.putconn(conn)
                raise
        finally:
            self._starting -= 1
        tx = _Transaction(uuid.uuid4().hex, ns, conn)
        self._open[tx.id] = tx
        if self._reaper is None:
            self._reaper = asyncio.get_running_loop().create_task(self._reap())
        return tx.id

    async def tx_get(self, ns: str, tx: str, key: str) -> bytes | None:
        async def work(t: _Transaction) -> bytes | None:
            if key in t.writes:
                return t.writes[key]
            if key not in t.touched and len(t.touched) >= MAX_KEYS:
                raise resource_exhausted(f"a transaction may touch at most {MAX_KEYS} keys")
            row = await (await t.conn.execute(GET, {"ns": utf8(t.namespace), "k": utf8(key)})).fetchone()
            t.touched.add(key)
            return None if row is None else bytes(row[0])

        return await self._in(ns, tx, work)

    async def tx_set(self, ns: str, tx: str, key: str, value: bytes) -> None:
        t = self._get(ns, tx)
        if key not in t.touched and len(t.touched) >= MAX_KEYS:
            raise resource_exhausted(f"a transaction may touch at most {MAX_KEYS} keys")
        if t.write_bytes + len(value) > MAX_WRITE_BYTES:
            raise resource_exhausted(f"a transaction's writes may hold at most {MAX_WRITE_BYTES} bytes")
        t.write_bytes += len(value)
        t.touched.add(key)
        t.writes[key] = bytes(value)

    async def tx_delete(self, ns: str, tx: str, key: str) -> bool:
        found = await self.tx_get(ns, tx, key) is not None
        self._get(ns, tx).writes[key] = None
        return found

    async def commit(self, ns: str, tx: str) -> None:
        async def work(t: _Transaction) -> None:
            await _apply(t)
            await self._finish(t, "committed")

        await self._in(ns, tx, work)

    async def close(self) -> None:
        """End every open transaction and close the pool."""
        for t in list(self._open.values()):
            await self._finish(t, "aborted (the plugin closed)", discard=True)
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()
        if self._reaper is not None:
            self._reaper.cancel()
            self._reaper = None

    async def rollback(self, ns: str, tx: str) -> None:
        async def work(t: _Transaction) -> None:
            await t.conn.execute("ROLLBACK")
            await self._finish(t, "rolled back")

        await self._in(ns, tx, work)


async def _apply(t: _Transaction) -> None:
    """Lock (live in the snapshot) or claim (absent from it) every key touched: PostgreSQL
    raises serialization_failure if one changed since the snapshot. Then write, COMMIT."""
    ns = utf8(t.namespace)
    touched = sorted(utf8(k) for k in t.touched)
    rows = await (await t.conn.execute(LOCK, {"ns": ns, "keys": touched})).fetchall()
    present = {bytes(k) for (k,) in rows}
    sets = {utf8(k): v for k, v in t.writes.items() if v is not None}
    absent = [k for k in touched if k not in present]
    inserted = [k for k in absent if k in sets]
    if inserted:
        await t.conn.execute(INSERT, {"ns": ns, "keys": inserted, "values": [sets[k] for k in inserted]})
    held = [k for k in absent if k not in sets]
    if held:
        await t.conn.execute(PLACEHOLD, {"ns": ns, "keys": held, "values": [b""] * len(held)})
    updated = sorted(k for k in sets if k in present)
    if updated:
        await t.conn.execute(UPDATE, {"ns": ns, "keys": updated, "values": [sets[k] for k in updated]})
    removed = [k for k in touched if k not in sets and (k not in present or from_utf8(k) in t.writes)]
    if removed:
        await t.conn.execute(DELETE, {"ns": ns, "keys": removed})
    await t.conn.execute("COMMIT")
