"""The SQLite plugin's own mechanics, below the suites: where its database lives, that a
statement past the call's deadline is interrupted, and that its traversal orders are the
contract's (networkx's, as MemStore and PostgreSQL compute them)."""

from __future__ import annotations

import asyncio
import random
import sqlite3
import time

import grpc
import pytest

from prism_plugin import deadlines
from prism_plugin.contracts.graph import networkx_analytics
from prism_plugin.status import StatusError
from prism_sqlite import build_plugin
from prism_sqlite.connection import DATABASE_FILE, SqliteConnection, database_path
from prism_sqlite.graph import breadth_first, depth_first, neighbours

COUNT_FOREVER = "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c) SELECT count(*) FROM c"


def test_the_database_file_goes_in_the_directory_the_harness_gives(tmp_path):
    assert database_path({"url": "embedded:", "data_dir": str(tmp_path)}) == (str(tmp_path / DATABASE_FILE), False)
    assert database_path({"url": "file:/x/db.sqlite3?mode=rwc"}) == ("file:/x/db.sqlite3?mode=rwc", True)
    for settings in ({"url": "embedded:"}, {"url": "embedded:", "data_dir": str(tmp_path / "missing")}, {"url": "redis://h"}):
        with pytest.raises(StatusError) as e:
            database_path(settings)
        assert e.value.code == grpc.StatusCode.INVALID_ARGUMENT


def test_initialize_creates_a_wal_database_and_close_releases_it(tmp_path):
    async def go() -> str:
        plugin = build_plugin()
        version = await plugin.connector.connect({"url": "embedded:", "data_dir": str(tmp_path)})
        await plugin.connector.close()
        return version

    assert asyncio.run(go()).startswith("sqlite 3.")
    with sqlite3.connect(tmp_path / DATABASE_FILE) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"kv_entries", "queue_messages", "documents", "graph_edges", "timeseries_points"} <= tables


def test_a_statement_past_the_calls_deadline_is_interrupted(tmp_path):
    async def go() -> tuple[grpc.StatusCode, float, int]:
        connector = build_plugin().connector
        assert isinstance(connector, SqliteConnection)
        await connector.connect({"url": "embedded:", "data_dir": str(tmp_path)})
        try:
            deadlines.record(0.3)
            started = time.monotonic()
            with pytest.raises(StatusError) as e:
                await connector.run(lambda conn: conn.execute(COUNT_FOREVER).fetchone(), transaction="")
            took = time.monotonic() - started
            deadlines.record(5.0)  # the next call has time again: the connection still works
            one = await connector.run(lambda conn: conn.execute("SELECT 1").fetchone()[0])
            return e.value.code, took, one
        finally:
            await connector.close()

    code, took, one = asyncio.run(go())
    assert code == grpc.StatusCode.DEADLINE_EXCEEDED and took < 1.5 and one == 1


@pytest.mark.parametrize("direction", ["outgoing", "incoming", "both"])
def test_traversal_orders_are_networkx_orders(direction):
    rng = random.Random(20)
    for _ in range(200):
        ids = [f"n{i}" for i in range(rng.randint(1, 12))]
        edges = [(rng.choice(ids), rng.choice(ids)) for _ in range(rng.randint(0, 25))]
        walked, reference = neighbours(edges, direction), networkx_analytics.followed(ids, edges, direction)
        for start in ids:
            for depth in (0, 1, 2, 3):
                assert breadth_first(walked, start, depth) == networkx_analytics.breadth_first(reference, start, depth)
                assert depth_first(walked, start, depth) == networkx_analytics.depth_first(reference, start, depth)
