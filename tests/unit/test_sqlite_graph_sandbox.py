"""graph_query's `sqlite` sandbox, below the suite: what a caller's text may not reach (another
namespace's rows through the tables or a CTE named like a view, the functions the views use,
the schema, PRAGMA, ATTACH, EXPLAIN, VACUUM INTO, writes, several statements) is
INVALID_ARGUMENT, a query past the call's deadline is interrupted, a string past
SQLITE_LIMIT_LENGTH is RESOURCE_EXHAUSTED, and the sandbox still answers afterwards."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import grpc
import pytest

from prism_plugin import deadlines
from prism_plugin.contracts.graph.basic import NodeData
from prism_plugin.status import StatusError
from prism_sqlite import build_plugin
from prism_sqlite.connection import SqliteConnection
from prism_sqlite.graph import SqliteGraph
from prism_sqlite.graph_sandbox import first_keyword

TABLES_THROUGH_A_CTE = "WITH nodes AS (SELECT CAST(id AS TEXT) AS id FROM main.graph_nodes) SELECT id FROM nodes"
REFUSED = [
    "SELECT CAST(id AS TEXT) AS id FROM graph_nodes",
    "SELECT CAST(id AS TEXT) AS id FROM main.graph_nodes",
    TABLES_THROUGH_A_CTE,
    'WITH "nodes" AS (SELECT * FROM graph_edges) SELECT count(*) FROM "nodes"',
    "SELECT prism_graph_namespace() AS ns",
    "WITH nodes AS (SELECT prism_graph_namespace() AS ns) SELECT ns FROM nodes",
    "SELECT sql FROM sqlite_master",
    "SELECT sql FROM sqlite_temp_master",
    "SELECT name FROM pragma_table_list",
    "PRAGMA table_info(graph_nodes)",
    "EXPLAIN QUERY PLAN SELECT * FROM nodes",
    "/* a comment */ EXPLAIN SELECT * FROM nodes",
    "ATTACH DATABASE ':memory:' AS other",
    "VACUUM INTO '/tmp/prism-sqlite-sandbox-copy.sqlite3'",
    "BEGIN",
    "CREATE TEMP TABLE probe (x)",
    "WITH x AS (SELECT 1) DELETE FROM graph_nodes",
    "INSERT INTO graph_nodes VALUES (x'00', x'00', '[]', '{}')",
    "SELECT 1 AS one; SELECT 2 AS two",
    "SELECT length(zeroblob(10)) AS n",
    "SELECT load_extension('x') AS x",
    "SELECT ? AS x",
    "SELECT FROM nodes WHERE",
    "SELECT nope FROM nodes",
]


def run(tmp_path, go):
    async def main() -> Any:
        plugin = build_plugin()
        connector = plugin.connector
        assert isinstance(connector, SqliteConnection)
        await connector.connect({"url": "embedded:", "data_dir": str(tmp_path)})
        graphs = SqliteGraph(connector)
        try:
            deadlines.record(5.0)
            await graphs.add_node("a", NodeData("mine", ("Person",), {"name": "Ann", "age": 31}))
            await graphs.add_node("b", NodeData("theirs", ("Person",), {"name": "Bob", "age": 52}))
            return await go(graphs)
        finally:
            await connector.close()

    return asyncio.run(main())


async def status(graphs: SqliteGraph, text: str, ns: str = "a") -> grpc.StatusCode:
    try:
        await graphs.query(ns, "sqlite", text, {})
    except StatusError as e:
        return e.code
    return grpc.StatusCode.OK


def test_a_query_sees_its_namespace_only_and_reaches_nothing_else(tmp_path):
    async def go(graphs: SqliteGraph) -> dict[str, Any]:
        seen: dict[str, Any] = {
            "own": await graphs.query("a", "sqlite", "SELECT id, json_extract(properties, '$.name') AS name FROM nodes", {}),
            "parameters": await graphs.query("b", "sqlite", "SELECT json_extract(value, '$.who') AS who FROM parameters", {"who": "x'--"}),
            "labels": await graphs.query("b", "sqlite", "SELECT n.id FROM nodes n, json_each(n.labels) l WHERE l.value = 'Person'", {}),
        }
        seen["refused"] = {text: await status(graphs, text) for text in REFUSED}
        seen["after"] = await graphs.query("a", "sqlite", "SELECT count(*) AS n FROM nodes", {})
        return seen

    seen = run(tmp_path, go)
    assert seen["own"] == (["id", "name"], [("mine", "Ann")])
    assert seen["parameters"] == (["who"], [("x'--",)])
    assert seen["labels"] == (["id"], [("theirs",)])
    assert {text: code for text, code in seen["refused"].items() if code != grpc.StatusCode.INVALID_ARGUMENT} == {}
    assert seen["after"] == (["n"], [(1,)])


def test_a_query_past_the_deadline_is_interrupted_and_huge_strings_are_refused(tmp_path):
    forever = "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c) SELECT count(*) AS n FROM c"

    async def go(graphs: SqliteGraph) -> list[Any]:
        deadlines.record(0.3)
        slow = await status(graphs, forever)
        deadlines.record(5.0)
        huge = await status(graphs, "SELECT length(replace(printf('%.*c', 30000000, 'x'), 'x', 'xx')) AS n")
        return [slow, huge, await graphs.query("a", "sqlite", "SELECT json_array(1, 'x') AS j", {})]

    slow, huge, after = run(tmp_path, go)
    assert (slow, huge) == (grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.RESOURCE_EXHAUSTED)
    assert json.loads(after[1][0][0]) == [1, "x"]


@pytest.mark.parametrize(
    "text, keyword",
    [("select 1", "select"), ("  -- x\n /* y */ WITH a AS (SELECT 1) SELECT 1", "with"), ("/* EXPLAIN */ explain x", "explain"), ("", "")],
)
def test_the_first_keyword_skips_whitespace_and_comments(text, keyword):
    assert first_keyword(text) == keyword
