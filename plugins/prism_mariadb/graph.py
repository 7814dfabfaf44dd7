"""Graphs as rows of prism_graph_nodes and prism_graph_edges, one per (namespace, id). Ids and
labels are UTF-8 VARBINARY (byte order is code point order, the contract's "ascending id"; NUL
is a byte like any other); properties are JSON text written by Python's json module. Edges die
with their nodes (foreign keys ON DELETE CASCADE; DeleteNode deletes them itself to count them),
and an edge to a missing node is refused by its foreign key.

A traversal reads the edges reachable from its start: a recursive CTE over node ids (UNION
drops those seen, so the walk is linear in what it reaches), then the visit order is computed
with the SDK's networkx code, as PostgreSQL and MemStore do. graph_analytics reads the
namespace's nodes and edges in one REPEATABLE READ read-only transaction (one InnoDB snapshot)
and runs networkx's algorithms on it. Both read at most MAX_ANALYTICS_ROWS, else
RESOURCE_EXHAUSTED."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pymysql

from prism_mariadb.connection import MariaDBConnection, Schema, Session
from prism_plugin import lazy
from prism_plugin.contracts.graph import networkx_analytics as analytics
from prism_plugin.contracts.graph.basic import EdgeData, NodeData
from prism_plugin.status import already_exists, failed_precondition, resource_exhausted, shown

if TYPE_CHECKING:
    import networkx as nx
else:
    nx = lazy.module("networkx")

DUPLICATE_KEY = 1062  # ER_DUP_ENTRY
NO_PARENT = 1452  # ER_NO_REFERENCED_ROW_2: an endpoint is missing
MAX_ANALYTICS_ROWS = 100_000

TABLES = Schema(
    ddl="""
CREATE TABLE IF NOT EXISTS prism_graph_nodes (
  namespace VARBINARY(1024) NOT NULL,
  id VARBINARY(1024) NOT NULL,
  labels JSON NOT NULL,
  properties JSON NOT NULL,
  PRIMARY KEY (namespace, id)
) ENGINE=InnoDB;
CREATE TABLE IF NOT EXISTS prism_graph_edges (
  namespace VARBINARY(1024) NOT NULL,
  id VARBINARY(1024) NOT NULL,
  from_node VARBINARY(1024) NOT NULL,
  to_node VARBINARY(1024) NOT NULL,
  label VARBINARY(1024) NOT NULL,
  weight DOUBLE NOT NULL,
  properties JSON NOT NULL,
  PRIMARY KEY (namespace, id),
  KEY prism_graph_edges_out (namespace, from_node),
  KEY prism_graph_edges_in (namespace, to_node),
  CONSTRAINT prism_graph_edges_from FOREIGN KEY (namespace, from_node) REFERENCES prism_graph_nodes (namespace, id) ON DELETE CASCADE,
  CONSTRAINT prism_graph_edges_to FOREIGN KEY (namespace, to_node) REFERENCES prism_graph_nodes (namespace, id) ON DELETE CASCADE
) ENGINE=InnoDB
""",
    tables=("prism_graph_edges", "prism_graph_nodes"),
)

NODE_COLUMNS = "(namespace, id, labels, properties)"
EDGE_COLUMNS = "(namespace, id, from_node, to_node, label, weight, properties)"
GET_NODE = "SELECT labels, properties FROM prism_graph_nodes WHERE namespace = %s AND id = %s"
GET_EDGE = "SELECT from_node, to_node, label, weight, properties FROM prism_graph_edges WHERE namespace = %s AND id = %s"
HAS_NODE = "SELECT 1 FROM prism_graph_nodes WHERE namespace = %s AND id = %s"
# A step from r.n, and the edges followed from the nodes reached, per direction: "both" is the
# two directions as two recursive SELECTs (MariaDB will not use an index for a join on either end).
_OUT = "SELECT e.to_node FROM reach r JOIN prism_graph_edges e ON e.namespace = %s AND e.from_node = r.n{only}"
_IN = "SELECT e.from_node FROM reach r JOIN prism_graph_edges e ON e.namespace = %s AND e.to_node = r.n{only}"
_OUT_EDGES = "SELECT e.from_node, e.to_node FROM prism_graph_edges e JOIN reach r ON e.namespace = %s AND e.from_node = r.n{only}"
_IN_EDGES = "SELECT e.from_node, e.to_node FROM prism_graph_edges e JOIN reach r ON e.namespace = %s AND e.to_node = r.n{only}"
_STEPS = {"outgoing": (_OUT,), "incoming": (_IN,), "both": (_OUT, _IN)}
_EDGES = {"outgoing": (_OUT_EDGES,), "incoming": (_IN_EDGES,), "both": (_OUT_EDGES, _IN_EDGES)}


def _reachable_edges(direction: str, labels: int) -> tuple[str, int]:
    """The statement, and how many times it takes the namespace and the labels after the start."""
    only = f" AND e.label IN ({', '.join(['%s'] * labels)})" if labels else ""
    steps = "\n  UNION\n  ".join(step.format(only=only) for step in _STEPS[direction])
    edges = " UNION ALL ".join(part.format(only=only) for part in _EDGES[direction])
    statement = f"""WITH RECURSIVE reach(n) AS (
  SELECT id FROM prism_graph_nodes WHERE namespace = %s AND id = %s
  UNION
  {steps}
)
SELECT * FROM ({edges}) AS followed LIMIT %s"""
    return statement, len(_STEPS[direction]) + len(_EDGES[direction])


def _utf8(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


def _text(data: Any) -> str:
    return bytes(data).decode("utf-8", "surrogatepass")


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=True, allow_nan=False, separators=(",", ":"))


def _node_row(ns: bytes, node: NodeData) -> tuple[Any, ...]:
    return (ns, _utf8(node.id), _json(list(node.labels)), _json(node.properties))


def _edge_row(ns: bytes, edge: EdgeData) -> tuple[Any, ...]:
    return (ns, _utf8(edge.id), _utf8(edge.from_node), _utf8(edge.to_node), _utf8(edge.label), edge.weight, _json(edge.properties))


def _code(e: BaseException) -> int | None:
    return e.args[0] if isinstance(e, pymysql.err.MySQLError) and e.args else None


class MariaDBGraph:
    def __init__(self, conn: MariaDBConnection):
        self.conn = conn

    async def _insert(self, table: str, columns: str, rows: list[tuple[Any, ...]], exists: str, missing: str) -> None:
        """One INSERT of every row (one statement: all or nothing)."""
        marks = ", ".join(["(" + ", ".join(["%s"] * len(rows[0])) + ")"] * len(rows))

        async def work(s: Session) -> None:
            try:
                await s.execute(f"INSERT INTO {table} {columns} VALUES {marks}", [v for row in rows for v in row])
            except pymysql.err.IntegrityError as e:
                if _code(e) == DUPLICATE_KEY:
                    raise already_exists(exists) from None
                if _code(e) == NO_PARENT:
                    raise failed_precondition(missing) from None
                raise

        await self.conn.run(work)

    # graph_basic
    async def add_node(self, ns: str, node: NodeData) -> None:
        lazy.warm(nx)  # traversals and analytics need it
        await self._insert("prism_graph_nodes", NODE_COLUMNS, [_node_row(_utf8(ns), node)], f"node {shown(node.id)} exists", "")

    async def add_edge(self, ns: str, edge: EdgeData) -> None:
        missing = f"edge {shown(edge.id)}: node {shown(edge.from_node)} or {shown(edge.to_node)} does not exist"
        await self._insert("prism_graph_edges", EDGE_COLUMNS, [_edge_row(_utf8(ns), edge)], f"edge {shown(edge.id)} exists", missing)

    async def add_nodes(self, ns: str, nodes: list[NodeData]) -> None:
        lazy.warm(nx)  # traversals and analytics need it
        rows = [_node_row(_utf8(ns), node) for node in nodes]
        await self._insert("prism_graph_nodes", NODE_COLUMNS, rows, f"a node of the batch of {len(nodes)} exists; none was added", "")

    async def add_edges(self, ns: str, edges: list[EdgeData]) -> None:
        rows = [_edge_row(_utf8(ns), edge) for edge in edges]
        await self._insert(
            "prism_graph_edges",
            EDGE_COLUMNS,
            rows,
            f"an edge of the batch of {len(edges)} exists; none was added",
            f"an edge of the batch of {len(edges)} joins a node that does not exist; none was added",
        )

    async def get_node(self, ns: str, node_id: str) -> NodeData | None:
        row = await self.conn.run(lambda s: s.fetchone(GET_NODE, (_utf8(ns), _utf8(node_id))))
        return None if row is None else NodeData(node_id, tuple(json.loads(row[0])), json.loads(row[1]))

    async def get_edge(self, ns: str, edge_id: str) -> EdgeData | None:
        row = await self.conn.run(lambda s: s.fetchone(GET_EDGE, (_utf8(ns), _utf8(edge_id))))
        if row is None:
            return None
        return EdgeData(edge_id, _text(row[0]), _text(row[1]), _text(row[2]), float(row[3]), json.loads(row[4]))

    async def delete_node(self, ns: str, node_id: str) -> int | None:
        key = (_utf8(ns), _utf8(node_id))

        async def work(s: Session) -> int | None:
            edges = await s.execute(
                "DELETE FROM prism_graph_edges WHERE namespace = %s AND (from_node = %s OR to_node = %s)", (*key, key[1])
            )
            found = await s.execute("DELETE FROM prism_graph_nodes WHERE namespace = %s AND id = %s", key)
            return edges if found else None

        return await self.conn.run(lambda s: s.transaction(work))

    async def delete_edge(self, ns: str, edge_id: str) -> bool:
        found = await self.conn.run(
            lambda s: s.execute("DELETE FROM prism_graph_edges WHERE namespace = %s AND id = %s", (_utf8(ns), _utf8(edge_id)))
        )
        return bool(found)

    # graph_traversal
    async def _walked(self, ns: str, start: str, direction: str, labels: frozenset[str]) -> nx.DiGraph | None:
        """The edges a traversal from start follows, oriented as it follows them (None: no start)."""
        space, first = _utf8(ns), _utf8(start)
        only = [_utf8(label) for label in sorted(labels)]
        statement, uses = _reachable_edges(direction, len(only))
        params = [space, first, *([space, *only] * uses), MAX_ANALYTICS_ROWS + 1]

        async def work(s: Session) -> list[tuple[Any, ...]] | None:
            if await s.fetchone(HAS_NODE, (space, first)) is None:
                return None
            return await s.fetchall(statement, params)

        edges = await self.conn.run(work)
        if edges is None:
            return None
        if len(edges) > MAX_ANALYTICS_ROWS:
            raise resource_exhausted(f"graph_traversal: more than {MAX_ANALYTICS_ROWS} edges reachable from {shown(start)}")
        return analytics.followed([start], ((_text(u), _text(v)) for u, v in edges), direction)

    async def breadth_first(self, ns: str, start: str, direction: str, max_depth: int, labels: frozenset[str]) -> list[str] | None:
        walked = await self._walked(ns, start, direction, labels)
        return None if walked is None else analytics.breadth_first(walked, start, max_depth)

    async def depth_first(self, ns: str, start: str, direction: str, max_depth: int, labels: frozenset[str]) -> list[str] | None:
        walked = await self._walked(ns, start, direction, labels)
        return None if walked is None else analytics.depth_first(walked, start, max_depth)

    # graph_analytics
    async def _graph(self, ns: str) -> nx.MultiDiGraph:
        params = (_utf8(ns), MAX_ANALYTICS_ROWS + 1)

        async def work(s: Session) -> tuple[list[Any], list[Any]]:
            await s.control("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY")
            try:
                nodes = await s.fetchall("SELECT id FROM prism_graph_nodes WHERE namespace = %s LIMIT %s", params)
                edges = await s.fetchall("SELECT from_node, to_node, weight FROM prism_graph_edges WHERE namespace = %s LIMIT %s", params)
            finally:
                if not s.conn.closed:
                    await s.control("COMMIT")
            return nodes, edges

        nodes, edges = await self.conn.run(work)
        if len(nodes) > MAX_ANALYTICS_ROWS or len(edges) > MAX_ANALYTICS_ROWS:
            raise resource_exhausted(f"graph_analytics: the namespace holds more than {MAX_ANALYTICS_ROWS} nodes or edges")
        graph = nx.MultiDiGraph()
        graph.add_nodes_from(_text(row[0]) for row in nodes)
        graph.add_edges_from((_text(u), _text(v), {"weight": float(w)}) for u, v, w in edges)
        return graph

    async def shortest_path(self, ns: str, from_node: str, to_node: str, weighted: bool) -> tuple[list[str], float] | None:
        return analytics.shortest_path(await self._graph(ns), from_node, to_node, weighted)

    async def page_rank(self, ns: str, damping: float, iterations: int) -> dict[str, float]:
        return analytics.page_rank(nx.DiGraph(await self._graph(ns)), damping, iterations)

    async def components(self, ns: str) -> list[list[str]]:
        return analytics.components(await self._graph(ns))
