"""The PostgreSQL keyvalue store's parts the suites cannot see through gRPC: literal prefix
ranges, expired rows removed from the table, and native transactions that never keep a
connection past their bound (count and idle timeout)."""

from __future__ import annotations

import asyncio
import time
import uuid

import grpc
import psycopg
import pytest

from prism_plugin.status import StatusError
from prism_postgres import keyvalue
from prism_postgres.connection import PostgresConnection
from prism_postgres.keyvalue import TABLES, PostgresKeyValue, prefix_range
from prism_postgres.transactions import PostgresTransactions

URL = "postgresql://postgres@127.0.0.1:5432/test"


@pytest.fixture(scope="module")
def url():
    try:
        psycopg.connect(URL, connect_timeout=2).close()
    except psycopg.OperationalError:
        pytest.skip(f"no PostgreSQL at {URL}: start it (see README)")
    return URL


def test_prefix_ranges_are_literal_byte_ranges():
    assert prefix_range("") == (b"", None)
    assert prefix_range("a%") == (b"a%", b"a&")
    assert prefix_range("_") == (b"_", b"`")
    assert prefix_range("\\") == (b"\\", b"]")
    assert prefix_range("\x00") == (b"\x00", b"\x01")
    lo, hi = prefix_range("é")  # UTF-8 c3 a9
    assert (lo, hi) == (b"\xc3\xa9", b"\xc3\xaa")


async def _connected(url: str) -> PostgresConnection:
    conn = PostgresConnection(TABLES)
    await conn.connect({"url": url})
    return conn


def test_expired_rows_are_invisible_then_removed(url, monkeypatch):
    monkeypatch.setattr(keyvalue, "SWEEP_EVERY_S", 0.0)
    ns = f"pa-unit-kv-{uuid.uuid4().hex[:8]}"

    async def go() -> None:
        conn = await _connected(url)
        try:
            kv = PostgresKeyValue(conn)
            await kv.set_with_ttl(ns, "short", b"v", 50)
            await kv.set(ns, "kept", b"")
            await asyncio.sleep(0.2)
            assert await kv.get(ns, "short") is None
            assert [k async for k, _ in kv.scan(ns, "", 0, False)] == ["kept"]
            assert await kv.get(ns, "kept") == b""  # an empty value is a value
            async with await psycopg.AsyncConnection.connect(url, autocommit=True) as check:
                rows = await (await check.execute("SELECT key FROM prism.kv_entries WHERE namespace = %s", (ns.encode(),))).fetchall()
            assert [bytes(k) for (k,) in rows] == [b"kept"], "the expired row is still in the table"
        finally:
            await conn.drop_namespace(ns)
            await conn.close()

    asyncio.run(go())


def test_transactions_are_bounded_and_idle_ones_give_their_connection_back(url):
    ns = f"pa-unit-tx-{uuid.uuid4().hex[:8]}"

    async def go() -> None:
        conn = await _connected(url)
        txs = PostgresTransactions(conn, max_open=2, idle_timeout_s=0.4)
        try:
            first, second = await txs.begin(ns), await txs.begin(ns)
            with pytest.raises(StatusError) as exhausted:
                await txs.begin(ns)
            assert exhausted.value.code == grpc.StatusCode.RESOURCE_EXHAUSTED
            await txs.rollback(ns, second)
            third = await txs.begin(ns)  # the rolled-back one's connection serves again
            await txs.tx_set(ns, third, "k", b"v")
            await txs.commit(ns, third)
            t0 = time.monotonic()
            while txs._open and time.monotonic() - t0 < 5:  # `first` was left open by its client
                await asyncio.sleep(0.1)
            assert not txs._open, "an idle transaction was never rolled back"
            with pytest.raises(StatusError) as finished:
                await txs.tx_get(ns, first, "k")
            assert finished.value.code == grpc.StatusCode.FAILED_PRECONDITION
            assert txs._pool is not None and txs._pool.get_stats().get("pool_size", 0) <= 2
            await txs.begin(ns)
            await txs.begin(ns)  # both slots free again
        finally:
            await txs.close()
            await conn.drop_namespace(ns)
            await conn.close()

    asyncio.run(go())


def test_an_expired_row_swept_during_a_transaction_is_no_conflict(url, monkeypatch):
    monkeypatch.setattr(keyvalue, "SWEEP_EVERY_S", 0.0)
    ns = f"pa-unit-tx-{uuid.uuid4().hex[:8]}"

    async def go() -> None:
        conn = await _connected(url)
        kv, txs = PostgresKeyValue(conn), PostgresTransactions(conn)
        try:
            for key in ("read", "written", "deleted"):
                await kv.set_with_ttl(ns, key, b"old", 50)
            await asyncio.sleep(0.2)
            tx = await txs.begin(ns)  # its snapshot holds the expired rows
            assert await txs.tx_get(ns, tx, "read") is None
            assert await txs.tx_delete(ns, tx, "deleted") is False
            await txs.tx_set(ns, tx, "written", b"new")
            await kv.exists(ns, "other")  # sweeps the expired rows away
            await txs.commit(ns, tx)
            assert (await kv.get(ns, "written"), await kv.get(ns, "read"), await kv.get(ns, "deleted")) == (b"new", None, None)
            assert await kv.remaining_ttl(ns, "written") == -1
        finally:
            await txs.close()
            await conn.drop_namespace(ns)
            await conn.close()

    asyncio.run(go())
