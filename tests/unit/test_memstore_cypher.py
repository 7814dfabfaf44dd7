"""MemStore's Cypher queries stop at their deadline: the query's thread ends, so a query that
would run for minutes (and grow the plugin's memory) costs no more than its time."""

from __future__ import annotations

import asyncio
import threading
import time

import networkx as nx
import pytest

from prism_memstore import graph


def query_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "cypher-query"]


def test_a_query_past_its_time_is_stopped_and_its_thread_ends():
    view = nx.MultiDiGraph()
    for i in range(300):
        view.add_node(f"n{i}", __labels__={"N"})

    async def run() -> float:
        with pytest.raises(asyncio.TimeoutError):
            await graph._bounded_cypher(view, "MATCH (a) MATCH (b) MATCH (c) RETURN a, b, c", 0.3)  # 27 million rows
        stopped = time.monotonic()
        while query_threads() and time.monotonic() - stopped < 5:
            await asyncio.sleep(0.02)
        return time.monotonic() - stopped

    took = asyncio.run(run())
    assert not query_threads(), f"the query's thread still runs {took:.1f} s after its deadline"


def test_a_query_in_time_answers():
    view = nx.MultiDiGraph()
    view.add_node("a", __labels__={"N"})
    found = asyncio.run(graph._bounded_cypher(view, "MATCH (x) RETURN x", 5.0))
    assert [len(v) for v in found.values()] == [1]
