"""The PostgreSQL sets, sorted sets, lists and pub/sub, where the suites cannot see through gRPC:
rank windows at int64's ends, members beyond a btree entry's size, IEEE arithmetic where float8
raises, pops woken by another plugin process's push, a lost LISTEN connection ending its
subscriptions, and DropNamespace emptying every new table."""

from __future__ import annotations

import asyncio
import math
import os
import uuid
from typing import Any, Awaitable, Callable

import grpc
import psycopg
import pytest

from prism_plugin.contracts.pubsub.basic import Published, Ready
from prism_plugin.status import StatusError
from prism_postgres import lists as lists_module
from prism_postgres import ranks
from prism_postgres.connection import PostgresConnection
from prism_postgres.lists import TABLES as LIST_TABLES
from prism_postgres.lists import PostgresLists
from prism_postgres.notifications import digest
from prism_postgres.pubsub import TABLES as PUBSUB_TABLES
from prism_postgres.pubsub import PostgresPubSub
from prism_postgres.sets import TABLES as SET_TABLES
from prism_postgres.sets import PostgresSets
from prism_postgres.sortedsets import TABLES as ZSET_TABLES
from prism_postgres.sortedsets import PostgresSortedSets

URL = "postgresql://postgres@127.0.0.1:5432/test"
SCHEMAS = (SET_TABLES, ZSET_TABLES, LIST_TABLES, PUBSUB_TABLES)
INT64 = (-(2**63), 2**63 - 1)


@pytest.fixture(scope="module")
def url():
    try:
        psycopg.connect(URL, connect_timeout=2).close()
    except psycopg.OperationalError:
        pytest.skip(f"no PostgreSQL at {URL}: start it (see README)")
    return URL


def namespace() -> str:
    return f"pa-unit-coll-{uuid.uuid4().hex[:8]}"


def run(url: str, work: Callable[[PostgresConnection, str], Awaitable[Any]]) -> Any:
    """work(connection, namespace) on a fresh connection; the namespace is dropped afterwards."""

    async def go() -> Any:
        conn = PostgresConnection(*SCHEMAS)
        await conn.connect({"url": url})
        ns = namespace()
        try:
            return await work(conn, ns)
        finally:
            await conn.drop_namespace(ns)
            await conn.close()

    return asyncio.run(go())


def reference(n: int, start: int, stop: int) -> tuple[int, int]:
    start = max(0, start + n) if start < 0 else start
    stop = stop + n if stop < 0 else min(stop, n - 1)
    return (start, stop - start + 1) if start <= stop else (start, 0)


def test_rank_windows_match_the_clamping_reference_at_int64s_ends(url):
    ends = [INT64[0], -9, -8, -7, -1, 0, 1, 6, 7, 8, INT64[1]]

    async def work(conn: PostgresConnection, ns: str) -> None:
        async def window(c: Any, n: int, start: int, stop: int) -> tuple[int, int]:
            cur = await c.execute(f"WITH size AS (SELECT %(n)s::bigint AS n) {ranks.WINDOW}", {"n": n, **ranks.ends(start, stop)})
            row = await cur.fetchone()
            return int(row[0]), int(row[1])

        for n in (0, 1, 7):
            for start in ends:
                for stop in ends:
                    lo, take = await conn.run(window, n, start, stop)
                    want_lo, want_take = reference(n, start, stop)
                    assert take == want_take, (n, start, stop)
                    if take:
                        assert lo == want_lo, (n, start, stop)

    run(url, work)


def test_members_larger_than_a_btree_entry(url):
    big = [os.urandom(8000), os.urandom(8000)]  # incompressible, above 2704 bytes

    async def work(conn: PostgresConnection, ns: str) -> None:
        sets, zsets = PostgresSets(conn), PostgresSortedSets(conn)
        assert await sets.add(ns, "s", [big[0], big[1], big[0]]) == 2
        assert await sets.contains(ns, "s", big[1])
        assert sorted(await sets.intersection(ns, ["s", "s"])) == sorted(big)
        assert await zsets.add(ns, "z", [(big[0], 1.0), (big[1], 1.0)]) == 2
        assert await zsets.rank(ns, "z", max(big), False) == 1
        assert await zsets.range_by_lex(ns, "z", b"[" + min(big), b"+", 0, 0, False) == sorted((m, 1.0) for m in big)

    run(url, work)


def test_combined_scores_overflow_to_infinity_as_ieee_arithmetic_does(url):
    """float8's * and + raise "value out of range" where the contract's doubles give inf."""

    async def work(conn: PostgresConnection, ns: str) -> None:
        zsets = PostgresSortedSets(conn)
        await zsets.add(ns, "a", [(b"m", 1e308)])
        await zsets.add(ns, "b", [(b"m", 1e308)])
        assert await zsets.combine(ns, ["a", "b"], [10.0, 1.0], "SUM", False) == [(b"m", math.inf)]
        assert await zsets.combine(ns, ["a", "b"], [1.0, 1.0], "SUM", True) == [(b"m", math.inf)]
        assert await zsets.combine(ns, ["a", "b"], [0.0, -math.inf], "MIN", True) == [(b"m", -math.inf)]

    run(url, work)


def test_a_push_from_another_plugin_process_wakes_a_blocked_pop(url, monkeypatch):
    """With no recheck before the timeout, only the NOTIFY of the other process's push wakes it."""
    monkeypatch.setattr(lists_module, "RECHECK_S", 30.0)

    async def work(conn: PostgresConnection, ns: str) -> None:
        other = PostgresConnection(*SCHEMAS)
        await other.connect({"url": url})
        try:
            lists = PostgresLists(conn)
            popping = asyncio.create_task(lists.blocking_pop(ns, ["a", "b"], 10.0, True))
            assert await lists.pushes.live(5.0)
            loop = asyncio.get_running_loop()
            still = loop.time() + 0.3  # blocked for this long: it has looked and waits
            while loop.time() < still:
                assert not popping.done(), popping
                await asyncio.sleep(0.01)  # poll the pending pop, as the suite does
            pushed = loop.time()
            await PostgresLists(other).push(ns, "b", [b"v"], False)
            assert await asyncio.wait_for(popping, 5.0) == ("b", b"v")
            assert loop.time() - pushed < 0.5, "woken by the notification, not by the recheck"
        finally:
            await other.close()

    run(url, work)


def test_only_messages_after_ready_and_a_lost_listen_connection_ends_subscriptions(url):
    async def work(conn: PostgresConnection, ns: str) -> None:
        pubsub = PostgresPubSub(conn)
        assert await pubsub.published.live(5.0)
        await pubsub.publish(ns, "t", b"before")  # its NOTIFY may still be on its way: never delivered
        events = pubsub.subscribe(ns, "t")
        assert isinstance(await anext(events), Ready)
        await pubsub.publish(ns, "t", b"first")
        first = await asyncio.wait_for(anext(events), 5.0)
        assert isinstance(first, Published) and first.payload == b"first"
        listener = pubsub.published._connection
        assert listener is not None
        pid = listener.info.backend_pid
        await conn.run(lambda c: c.execute("SELECT pg_terminate_backend(%s)", (pid,)))
        with pytest.raises(StatusError) as ended:
            await asyncio.wait_for(anext(events), 15.0)
        assert ended.value.code == grpc.StatusCode.UNAVAILABLE
        assert await pubsub.published.live(5.0), "the LISTEN connection is opened again"

    run(url, work)


def test_drop_namespace_empties_every_new_table(url):
    async def work(conn: PostgresConnection, ns: str) -> None:
        await PostgresSets(conn).add(ns, "s", [b"a"])
        await PostgresSortedSets(conn).add(ns, "z", [(b"a", 1.0)])
        await PostgresLists(conn).push(ns, "l", [b"a"], True)
        await PostgresPubSub(conn).publish(ns, "t", b"a")
        await conn.drop_namespace(ns)
        for table in ("set_members", "zset_members", "list_items", "pubsub_messages"):

            async def count(c: Any, table: str = table) -> int:
                row = await (await c.execute(f"SELECT count(*) FROM prism.{table} WHERE namespace = %s", (ns.encode(),))).fetchone()
                return int(row[0])

            assert await conn.run(count) == 0, table

    run(url, work)


def test_notification_words_keep_the_parts_apart():
    assert digest(b"a", b"bc") != digest(b"ab", b"c")
    assert digest(b"a\x00", b"b") != digest(b"a", b"\x00b")
    assert len(digest(b"n" * 1024, b"k" * 1024)) == 32  # well inside NOTIFY's 8000 bytes
