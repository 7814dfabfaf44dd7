"""Graphs as rows of graph_nodes and graph_edges (namespace and ids as UTF-8 BLOBs, so "ascending
node id" is code point order and any id, NUL included, is kept exactly). Edges die with their
nodes (foreign keys ON DELETE CASCADE; DeleteNode deletes them itself to count them), and an
edge to a missing node is refused by the foreign key (FAILED_PRECONDITION).

A traversal reads the edges reachable from its start in one statement (a recursive CTE over node
ids, UNION dropping those seen, so linear in what it reaches; at most MAX_ANALYTICS_ROWS) and
orders the visit with the same networkx code as MemStore and PostgreSQL. graph_analytics reads
the namespace's graph in one read transaction (one WAL snapshot) and runs networkx on it.
graph_query serves the language `sqlite` (graph_sandbox.py: the caller's statement on a read-only
connection of its own, confined by the authorizer to views of the namespace's rows)."""

from __future__ import annotations

import json
import sqlite3
from typing import TYPE_CHECKING, Any, Iterable, Sequence

from prism_plugin import lazy
from prism_plugin.contracts.graph import networkx_analytics as analytics
from prism_plugin.contracts.graph.basic import EdgeData, NodeData
from prism_plugin.status import already_exists, failed_precondition, resource_exhausted, shown
from prism_sqlite.connection import Schema, SqliteConnection, text, utf8
from prism_sqlite.graph_sandbox import SqliteGraphQuery

if TYPE_CHECKING:
    import networkx as nx
else:
    nx = lazy.module("networkx")

TABLES = Schema(
    ddl="""
CREATE TABLE IF NOT EXISTS graph_nodes (
  namespace BLOB NOT NULL,
  id BLOB NOT NULL,
  labels TEXT NOT NULL,
  properties TEXT NOT NULL,
  PRIMARY KEY (namespace, id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS graph_edges (
  namespace BLOB NOT NULL,
  id BLOB NOT NULL,
  from_node BLOB NOT NULL,
  to_node BLOB NOT NULL,
  label BLOB NOT NULL,
  weight REAL NOT NULL,
  properties TEXT NOT NULL,
  PRIMARY KEY (namespace, id),
  FOREIGN KEY (namespace, from_node) REFERENCES graph_nodes (namespace, id) ON DELETE CASCADE,
  FOREIGN KEY (namespace, to_node) REFERENCES graph_nodes (namespace, id) ON DELETE CASCADE
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS graph_edges_from ON graph_edges (namespace, from_node, label, to_node);
CREATE INDEX IF NOT EXISTS graph_edges_to ON graph_edges (namespace, to_node, label, from_node)
""",
    drop=("DELETE FROM graph_edges WHERE namespace = ?1", "DELETE FROM graph_nodes WHERE namespace = ?1"),
)

MAX_ANALYTICS_ROWS = 100_000
ADD_NODE = "INSERT INTO graph_nodes (namespace, id, labels, properties) VALUES (?, ?, ?, ?)"
ADD_EDGE = "INSERT INTO graph_edges (namespace, id, from_node, to_node, label, weight, properties) VALUES (?, ?, ?, ?, ?, ?, ?)"

# One step of a walk from the node r.n (reach as the outer loop: CROSS JOIN keeps SQLite's
# planner from starting at the edges), over indexes that cover the label filter.
_OUT = "SELECT e.to_node FROM reach r CROSS JOIN graph_edges e WHERE e.namespace = :ns AND e.from_node = r.n AND {labels}"
_IN = "SELECT e.from_node FROM reach r CROSS JOIN graph_edges e WHERE e.namespace = :ns AND e.to_node = r.n AND {labels}"
_STEP = {"outgoing": _OUT, "incoming": _IN, "both": f"{_OUT} UNION {_IN}"}
# The edges between the nodes reached: walking both ways, the reached set is closed under both
# directions, so the edges from it are all of them.
_FROM_REACHED = {"outgoing": "from_node", "incoming": "to_node", "both": "from_node"}


def reachable_edges(direction: str, labels: int) -> str:
    """The edges (of the labels :l0.. asked for, every label when none) a walk from :start
    follows, as (from_node, to_node)."""
    condition = "1" if not labels else "e.label IN (" + ", ".join(f":l{i}" for i in range(labels)) + ")"
    return f"""
WITH RECURSIVE reach(n) AS (SELECT :start UNION {_STEP[direction].format(labels=condition)})
SELECT e.from_node, e.to_node FROM reach r CROSS JOIN graph_edges e
WHERE e.namespace = :ns AND e.{_FROM_REACHED[direction]} = r.n AND {condition}
LIMIT :cap
"""


def _dumps(values: Any) -> str:
    return json.dumps(values, separators=(",", ":"), ensure_ascii=False)


def _node_row(ns: bytes, node: NodeData) -> tuple[Any, ...]:
    return (ns, utf8(node.id), _dumps(list(node.labels)), _dumps(node.properties))


def _edge_row(ns: bytes, edge: EdgeData) -> tuple[Any, ...]:
    return (ns, utf8(edge.id), utf8(edge.from_node), utf8(edge.to_node), utf8(edge.label), edge.weight, _dumps(edge.properties))


def _refused(e: sqlite3.IntegrityError, what: str) -> Exception:
    if "FOREIGN KEY" in str(e):
        return failed_precondition(f"{what} joins a node that does not exist; nothing was added")
    return already_exists(f"{what} has an id that exists; nothing was added")


def neighbours(edges: Iterable[tuple[str, str]], direction: str) -> dict[str, list[str]]:
    """Each node's neighbours along the walk's direction (parallel edges once), ascending by
    code point: the contract's tie order."""
    out: dict[str, set[str]] = {}
    for u, v in edges:
        if direction in ("outgoing", "both"):
            out.setdefault(u, set()).add(v)
        if direction in ("incoming", "both"):
            out.setdefault(v, set()).add(u)
    return {node: sorted(next_nodes) for node, next_nodes in out.items()}


def breadth_first(walked: dict[str, list[str]], start: str, max_depth: int) -> list[str]:
    """By distance, then discovery order, neighbours ascending; max_depth 0: no limit."""
    order, seen, frontier, depth = [start], {start}, [start], 0
    while frontier and (not max_depth or depth < max_depth):
        depth += 1
        reached = []
        for node in frontier:
            for child in walked.get(node, ()):
                if child not in seen:
                    seen.add(child)
                    reached.append(child)
        order += reached
        frontier = reached
    return order


def depth_first(walked: dict[str, list[str]], start: str, max_depth: int) -> list[str]:
    """Preorder, lowest unvisited neighbour first, depth along the search path (a node seen
    once is never visited again, as networkx's dfs_preorder_nodes with depth_limit does)."""
    order, seen = [start], {start}
    limit = max_depth or len(walked) + 1
    stack = [(limit, iter(walked.get(start, ())))]
    while stack:
        depth_left, children = stack[-1]
        for child in children:
            if child not in seen:
                seen.add(child)
                order.append(child)
                if depth_left > 1:
                    stack.append((depth_left - 1, iter(walked.get(child, ()))))
                break
        else:
            stack.pop()
    return order


class SqliteGraph:
    languages: Sequence[str] = ("sqlite",)

    def __init__(self, conn: SqliteConnection):
        self.conn = conn
        self.sandbox = SqliteGraphQuery(conn)

    # graph_basic
    async def add_node(self, ns: str, node: NodeData) -> None:
        await self.add_nodes(ns, [node], f"node {shown(node.id)}")

    async def add_edge(self, ns: str, edge: EdgeData) -> None:
        await self.add_edges(ns, [edge], f"edge {shown(edge.id)}")

    async def add_nodes(self, ns: str, nodes: list[NodeData], what: str = "") -> None:
        lazy.warm(nx)  # analytics need it
        rows = [_node_row(utf8(ns), node) for node in nodes]

        def work(conn: sqlite3.Connection) -> None:
            try:
                conn.executemany(ADD_NODE, rows)
            except sqlite3.IntegrityError as e:
                raise _refused(e, what or f"a node of the batch of {len(nodes)}") from None

        await self.conn.run(work)

    async def add_edges(self, ns: str, edges: list[EdgeData], what: str = "") -> None:
        rows = [_edge_row(utf8(ns), edge) for edge in edges]

        def work(conn: sqlite3.Connection) -> None:
            try:
                conn.executemany(ADD_EDGE, rows)
            except sqlite3.IntegrityError as e:
                raise _refused(e, what or f"an edge of the batch of {len(edges)}") from None

        await self.conn.run(work)

    async def get_node(self, ns: str, node_id: str) -> NodeData | None:
        def work(conn: sqlite3.Connection) -> Any:
            return conn.execute(
                "SELECT labels, properties FROM graph_nodes WHERE namespace = ? AND id = ?", (utf8(ns), utf8(node_id))
            ).fetchone()

        row = await self.conn.run(work, transaction="")
        return None if row is None else NodeData(node_id, tuple(json.loads(row[0])), json.loads(row[1]))

    async def get_edge(self, ns: str, edge_id: str) -> EdgeData | None:
        def work(conn: sqlite3.Connection) -> Any:
            return conn.execute(
                "SELECT from_node, to_node, label, weight, properties FROM graph_edges WHERE namespace = ? AND id = ?",
                (utf8(ns), utf8(edge_id)),
            ).fetchone()

        row = await self.conn.run(work, transaction="")
        return None if row is None else EdgeData(edge_id, text(row[0]), text(row[1]), text(row[2]), row[3], json.loads(row[4]))

    async def delete_node(self, ns: str, node_id: str) -> int | None:
        key = (utf8(ns), utf8(node_id))

        def work(conn: sqlite3.Connection) -> int | None:
            edges = conn.execute("DELETE FROM graph_edges WHERE namespace = ?1 AND (from_node = ?2 OR to_node = ?2)", key).rowcount
            if conn.execute("DELETE FROM graph_nodes WHERE namespace = ? AND id = ?", key).rowcount == 0:
                return None
            return edges

        return await self.conn.run(work)

    async def delete_edge(self, ns: str, edge_id: str) -> bool:
        def work(conn: sqlite3.Connection) -> bool:
            return conn.execute("DELETE FROM graph_edges WHERE namespace = ? AND id = ?", (utf8(ns), utf8(edge_id))).rowcount > 0

        return await self.conn.run(work)

    # graph_traversal
    async def _walked(self, ns: str, start: str, direction: str, labels: frozenset[str]) -> dict[str, list[str]] | None:
        """The walk's neighbours of each node reached, ascending (None: no start node)."""
        params: dict[str, Any] = {"ns": utf8(ns), "start": utf8(start), "cap": MAX_ANALYTICS_ROWS + 1}
        params.update({f"l{i}": utf8(label) for i, label in enumerate(sorted(labels))})
        query = reachable_edges(direction, len(labels))

        def work(conn: sqlite3.Connection) -> list[Any] | None:
            if conn.execute("SELECT 1 FROM graph_nodes WHERE namespace = :ns AND id = :start", params).fetchone() is None:
                return None
            return conn.execute(query, params).fetchall()

        edges = await self.conn.run(work, transaction="BEGIN")
        if edges is None:
            return None
        if len(edges) > MAX_ANALYTICS_ROWS:
            raise resource_exhausted(f"graph_traversal: more than {MAX_ANALYTICS_ROWS} edges reachable from {shown(start)}")
        return neighbours(((text(u), text(v)) for u, v in edges), direction)

    async def breadth_first(self, ns: str, start: str, direction: str, max_depth: int, labels: frozenset[str]) -> list[str] | None:
        walked = await self._walked(ns, start, direction, labels)
        return None if walked is None else breadth_first(walked, start, max_depth)

    async def depth_first(self, ns: str, start: str, direction: str, max_depth: int, labels: frozenset[str]) -> list[str] | None:
        walked = await self._walked(ns, start, direction, labels)
        return None if walked is None else depth_first(walked, start, max_depth)

    # graph_query
    async def query(self, ns: str, language: str, text: str, parameters: dict[str, Any]) -> tuple[list[str], list[Sequence[Any]]]:
        return await self.sandbox.query(ns, text, parameters)

    # graph_analytics
    async def _graph(self, ns: str) -> nx.MultiDiGraph:
        params = {"ns": utf8(ns), "cap": MAX_ANALYTICS_ROWS + 1}

        def work(conn: sqlite3.Connection) -> tuple[list[Any], list[Any]]:
            nodes = conn.execute("SELECT id FROM graph_nodes WHERE namespace = :ns LIMIT :cap", params).fetchall()
            edges = conn.execute("SELECT from_node, to_node, weight FROM graph_edges WHERE namespace = :ns LIMIT :cap", params).fetchall()
            return nodes, edges

        nodes, edges = await self.conn.run(work, transaction="BEGIN")  # one read transaction: one snapshot
        if len(nodes) > MAX_ANALYTICS_ROWS or len(edges) > MAX_ANALYTICS_ROWS:
            raise resource_exhausted(f"graph_analytics: the namespace holds more than {MAX_ANALYTICS_ROWS} nodes or edges")
        graph = nx.MultiDiGraph()
        graph.add_nodes_from(text(row[0]) for row in nodes)
        graph.add_edges_from((text(u), text(v), {"weight": w}) for u, v, w in edges)
        return graph

    async def shortest_path(self, ns: str, from_node: str, to_node: str, weighted: bool) -> tuple[list[str], float] | None:
        return analytics.shortest_path(await self._graph(ns), from_node, to_node, weighted)

    async def page_rank(self, ns: str, damping: float, iterations: int) -> dict[str, float]:
        return analytics.page_rank(nx.DiGraph(await self._graph(ns)), damping, iterations)

    async def components(self, ns: str) -> list[list[str]]:
        return analytics.components(await self._graph(ns))
