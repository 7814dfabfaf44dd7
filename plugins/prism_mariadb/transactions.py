"""keyvalue_transactional natively: every open transaction is an InnoDB REPEATABLE READ
transaction on a connection of its own (at most MAX_OPEN, RESOURCE_EXHAUSTED past that), its
snapshot taken at BeginTransaction (`START TRANSACTION WITH CONSISTENT SNAPSHOT`).

Reads go to that snapshot. Writes are kept by the plugin until Commit, so an open transaction
never holds a lock another client would wait for. InnoDB lets a REPEATABLE READ transaction
overwrite rows changed after its snapshot (MariaDB 10.11 has no innodb_snapshot_isolation), so
Commit checks it itself, in the transaction: it reads every touched key's value in the snapshot,
then locks the keys (`SELECT ... FOR UPDATE` reads the latest committed rows) and compares; a key
whose live value changed (first committer wins), or a deadlock InnoDB resolves against this
transaction, is ABORTED with nothing applied. conflict: abort.

A transaction idle for IDLE_TIMEOUT_S is rolled back and its connection closed (the server's
idle_transaction_timeout is the backstop), so a client that never ends one leaks nothing.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Awaitable, Callable, TypeVar

import aiomysql
import grpc
import pymysql

from prism_mariadb import deadlines
from prism_mariadb.connection import MariaDBConnection, Session, server_said
from prism_mariadb.keyvalue import BATCH_SET, LIVE, chunks, from_utf8, placeholders, utf8
from prism_plugin.status import StatusError, aborted, failed_precondition, not_found, resource_exhausted, shown, unavailable

MAX_OPEN = 8
IDLE_TIMEOUT_S = 15.0
MAX_FINISHED = 10_000  # finished ids remembered, to answer FAILED_PRECONDITION rather than NOT_FOUND
MAX_KEYS = 10_000  # keys one transaction may touch
MAX_WRITE_BYTES = 64 * 1024 * 1024  # what one transaction's pending writes may hold

BEGIN = ("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ", "START TRANSACTION WITH CONSISTENT SNAPSHOT")
BACKSTOP = f"SET SESSION idle_transaction_timeout = {int(IDLE_TIMEOUT_S) + 5}"
GET = f"SELECT value FROM prism_kv_entries WHERE namespace = %s AND `key` = %s AND {LIVE}"
SEEN = f"SELECT `key`, value FROM prism_kv_entries WHERE namespace = %s AND `key` IN {{keys}} AND {LIVE}"
LOCK = f"SELECT `key`, value FROM prism_kv_entries WHERE namespace = %s AND `key` IN {{keys}} AND {LIVE} ORDER BY `key` FOR UPDATE"
DELETE = "DELETE FROM prism_kv_entries WHERE namespace = %s AND `key` IN {keys}"

T = TypeVar("T")


@dataclass(eq=False)
class _Transaction:
    id: str
    namespace: str
    conn: aiomysql.Connection
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    seen: dict[str, bytes | None] = field(default_factory=dict)  # values read in the snapshot
    writes: dict[str, bytes | None] = field(default_factory=dict)  # None: delete
    write_bytes: int = 0
    used_at: float = field(default_factory=time.monotonic)

    def touched(self) -> set[str]:
        return set(self.seen) | set(self.writes)


class MariaDBTransactions:
    def __init__(self, conn: MariaDBConnection, max_open: int = MAX_OPEN, idle_timeout_s: float = IDLE_TIMEOUT_S):
        self.conn = conn
        self.max_open = max_open
        self.idle_timeout_s = idle_timeout_s
        self._open: dict[str, _Transaction] = {}
        self._starting = 0
        self._finished: OrderedDict[str, tuple[str, str]] = OrderedDict()  # id: (namespace, state)
        self._reaper: asyncio.Task[None] | None = None

    def _get(self, ns: str, tx_id: str) -> _Transaction:
        tx = self._open.get(tx_id)
        if tx is not None and tx.namespace == ns:
            tx.used_at = time.monotonic()
            return tx
        finished = self._finished.get(tx_id)
        if finished is not None and finished[0] == ns:
            raise failed_precondition(f"transaction {shown(tx_id)} is {finished[1]}")
        raise not_found(f"no transaction {shown(tx_id)} in this namespace")

    def _finish(self, tx: _Transaction, state: str) -> None:
        """Forget the transaction as open and close its connection (the server rolls back what
        is still open on it)."""
        if self._open.pop(tx.id, None) is None:
            return
        self._finished[tx.id] = (tx.namespace, state)
        while len(self._finished) > MAX_FINISHED:
            self._finished.popitem(last=False)
        tx.writes.clear()
        tx.seen.clear()
        tx.conn.close()

    async def _in(self, ns: str, tx_id: str, work: Callable[[_Transaction, Session], Awaitable[T]]) -> T:
        """`work(tx, session)` alone on the transaction; a conflict ends it as ABORTED, any other
        failure ends it too (its InnoDB transaction's state is unknown)."""
        tx = self._get(ns, tx_id)
        async with tx.lock:
            tx = self._get(ns, tx_id)  # still open after waiting for the lock
            try:
                return await work(tx, Session(tx.conn))
            except StatusError as e:
                if e.code == grpc.StatusCode.ABORTED:
                    self._finish(tx, "aborted")
                    raise aborted(f"transaction {shown(tx_id)} conflicted with another writer; retry it") from None
                if e.code == grpc.StatusCode.DEADLINE_EXCEEDED:
                    self._finish(tx, "aborted (timed out)")
                raise
            except BaseException:
                self._finish(tx, "aborted (backend error)")
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
                    self._finish(tx, f"rolled back (idle for more than {self.idle_timeout_s:g} s)")
        self._reaper = None

    async def begin(self, ns: str) -> str:
        if len(self._open) + self._starting >= self.max_open:
            raise resource_exhausted(f"{self.max_open} transactions are open; commit or roll one back first")
        self._starting += 1
        try:
            args = self.conn.connect_args()
            try:
                conn = await asyncio.wait_for(aiomysql.connect(**args), deadlines.remaining())
            except (pymysql.err.MySQLError, OSError) as e:
                raise unavailable(f"MariaDB refused a connection for a transaction: {server_said(e)}") from None
            except asyncio.TimeoutError:
                raise unavailable("MariaDB gave no connection for a transaction within the call's deadline") from None
            try:
                session = Session(conn)
                for statement in (BACKSTOP, *BEGIN):
                    await session.control(statement)
            except BaseException:
                conn.close()
                raise
        finally:
            self._starting -= 1
        tx = _Transaction(uuid.uuid4().hex, ns, conn)
        self._open[tx.id] = tx
        if self._reaper is None:
            self._reaper = asyncio.get_running_loop().create_task(self._reap())
        return tx.id

    def _may_touch(self, t: _Transaction, key: str) -> None:
        if key not in t.seen and key not in t.writes and len(t.seen) + len(t.writes) >= MAX_KEYS:
            raise resource_exhausted(f"a transaction may touch at most {MAX_KEYS} keys")

    async def tx_get(self, ns: str, tx: str, key: str) -> bytes | None:
        async def work(t: _Transaction, s: Session) -> bytes | None:
            if key in t.writes:
                return t.writes[key]
            if key not in t.seen:
                self._may_touch(t, key)
                row = await s.fetchone(GET, (utf8(t.namespace), utf8(key)))
                t.seen[key] = None if row is None else bytes(row[0])
            return t.seen[key]

        return await self._in(ns, tx, work)

    async def tx_set(self, ns: str, tx: str, key: str, value: bytes) -> None:
        t = self._get(ns, tx)
        self._may_touch(t, key)
        if t.write_bytes + len(value) > MAX_WRITE_BYTES:
            raise resource_exhausted(f"a transaction's writes may hold at most {MAX_WRITE_BYTES} bytes")
        t.write_bytes += len(value)
        t.writes[key] = bytes(value)

    async def tx_delete(self, ns: str, tx: str, key: str) -> bool:
        found = await self.tx_get(ns, tx, key) is not None
        self._get(ns, tx).writes[key] = None
        return found

    async def commit(self, ns: str, tx: str) -> None:
        async def work(t: _Transaction, s: Session) -> None:
            await _apply(t, s)
            self._finish(t, "committed")

        await self._in(ns, tx, work)

    async def rollback(self, ns: str, tx: str) -> None:
        async def work(t: _Transaction, s: Session) -> None:
            await s.control("ROLLBACK")
            self._finish(t, "rolled back")

        await self._in(ns, tx, work)

    async def close(self) -> None:
        """End every open transaction."""
        for t in list(self._open.values()):
            self._finish(t, "aborted (the plugin closed)")
        if self._reaper is not None:
            self._reaper.cancel()
            self._reaper = None


async def _apply(t: _Transaction, s: Session) -> None:
    """Read the touched keys not read yet in the snapshot, lock them all and compare with the
    latest committed values: any difference is a conflict (ABORTED, rolled back). Then write, COMMIT."""
    ns = utf8(t.namespace)
    unread = sorted(utf8(k) for k in t.writes if k not in t.seen)
    if unread:
        rows = await s.fetchall(SEEN.format(keys=placeholders(len(unread))), [ns, *unread])
        found = {from_utf8(k): bytes(v) for k, v in rows}
        t.seen.update({from_utf8(k): found.get(from_utf8(k)) for k in unread})
    touched = sorted(utf8(k) for k in t.seen)
    rows = await s.fetchall(LOCK.format(keys=placeholders(len(touched))), [ns, *touched])
    current = {from_utf8(k): bytes(v) for k, v in rows}
    if any(current.get(k) != v for k, v in t.seen.items()):
        await s.control("ROLLBACK")
        raise aborted("a key the transaction touched changed since it began")
    sets = sorted((utf8(k), v) for k, v in t.writes.items() if v is not None)
    for part in chunks(sets):
        rows_sql = ", ".join(["(%s, %s, %s, NULL)"] * len(part))
        await s.execute(BATCH_SET.format(rows=rows_sql), [x for k, v in part for x in (ns, k, v)])
    deletes = sorted(utf8(k) for k, v in t.writes.items() if v is None and current.get(k) is not None)
    if deletes:
        await s.execute(DELETE.format(keys=placeholders(len(deletes))), [ns, *deletes])
    await s.control("COMMIT")
