"""Graphs as rows of prism.graph_nodes and prism.graph_edges (namespace as UTF-8 bytea, ids as
text COLLATE "C", so "ascending node id" is code point order).

graph_query's `sql` runs the caller's text as one prepared statement (never spliced, never
several), on a connection of its own logged in as the namespace's own role (prism_graph_ns_<hash
of the secret and the namespace>, a member of prism_graph_reader), in a read-only transaction
under a statement timeout: it may read only the views prism_graph.nodes, edges and parameters,
which show the rows of the namespace whose tag (sha256 of a secret the role cannot read and of
the namespace) the plugin set for the transaction; it cannot read the tables, write, or become
another role. A role per namespace, because PostgreSQL shows a session's query text
(pg_stat_activity) and lets it be cancelled or terminated only to its own role: one namespace's
query cannot see or stop another's. DropNamespace drops the namespace's role.

graph_analytics reads the namespace's graph in one read-only snapshot (at most
MAX_ANALYTICS_ROWS nodes and edges, else RESOURCE_EXHAUSTED) and runs networkx's algorithms
on it in the plugin. A traversal reads the edges reachable from its start (a recursive CTE over
node ids, so linear in what it reaches; at most MAX_ANALYTICS_ROWS of them) and orders the visit
with the same networkx code as MemStore (an order walked in SQL one move per step copied arrays
of the whole path and timed out on 5,000 nodes). Edges die with their nodes (ON DELETE
CASCADE, and DeleteNode deletes them itself to count them)."""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any, Sequence, TypeAlias

import grpc
import psycopg
from psycopg import sql as pgsql
from psycopg.types.json import Jsonb

from prism_plugin import lazy
from prism_plugin.contracts.graph import networkx_analytics as analytics
from prism_plugin.contracts.graph.basic import EdgeData, NodeData
from prism_plugin.contracts.graph.query import json_cell
from prism_plugin.conventions import Limits
from prism_plugin.status import StatusError, already_exists, failed_precondition, invalid, resource_exhausted, shown
from prism_postgres.connection import SCHEMA_LOCK, PostgresConnection, Schema

if TYPE_CHECKING:
    import networkx as nx
else:
    nx = lazy.module("networkx")

TABLES = Schema(
    ddl="""
CREATE TABLE IF NOT EXISTS prism.graph_nodes (
  namespace bytea NOT NULL,
  id text COLLATE "C" NOT NULL,
  labels text[] COLLATE "C" NOT NULL,
  properties jsonb NOT NULL,
  PRIMARY KEY (namespace, id)
);
CREATE TABLE IF NOT EXISTS prism.graph_edges (
  namespace bytea NOT NULL,
  id text COLLATE "C" NOT NULL,
  from_node text COLLATE "C" NOT NULL,
  to_node text COLLATE "C" NOT NULL,
  label text COLLATE "C" NOT NULL,
  weight double precision NOT NULL,
  properties jsonb NOT NULL,
  PRIMARY KEY (namespace, id),
  FOREIGN KEY (namespace, from_node) REFERENCES prism.graph_nodes (namespace, id) ON DELETE CASCADE,
  FOREIGN KEY (namespace, to_node) REFERENCES prism.graph_nodes (namespace, id) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS graph_edges_out ON prism.graph_edges (namespace, from_node, to_node);
CREATE INDEX IF NOT EXISTS graph_edges_in ON prism.graph_edges (namespace, to_node, from_node);
CREATE TABLE IF NOT EXISTS prism.graph_query_secret (
  singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  secret bytea NOT NULL
);
INSERT INTO prism.graph_query_secret (secret) VALUES (uuid_send(gen_random_uuid()) || uuid_send(gen_random_uuid()))
ON CONFLICT DO NOTHING;
CREATE OR REPLACE FUNCTION prism.graph_query_namespace() RETURNS bytea
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
  SELECT ns.n FROM (SELECT decode(current_setting('prism.graph_ns', true), 'hex') AS n) ns, prism.graph_query_secret s
  WHERE decode(current_setting('prism.graph_tag', true), 'hex') = sha256(s.secret || sha256(ns.n))
$$;
CREATE SCHEMA IF NOT EXISTS prism_graph;
CREATE OR REPLACE VIEW prism_graph.nodes WITH (security_barrier) AS
  SELECT id, labels, properties FROM prism.graph_nodes WHERE namespace = prism.graph_query_namespace();
CREATE OR REPLACE VIEW prism_graph.edges WITH (security_barrier) AS
  SELECT id, from_node, to_node, label, weight, properties FROM prism.graph_edges WHERE namespace = prism.graph_query_namespace();
CREATE OR REPLACE VIEW prism_graph.parameters AS
  SELECT coalesce(nullif(current_setting('prism.graph_parameters', true), ''), '{}')::jsonb AS value
""",
    tables=("graph_edges", "graph_nodes"),
    on_drop=lambda conn, space: drop_namespace_role(conn, space),  # defined below, with the roles
)

Conn: TypeAlias = "psycopg.AsyncConnection[Any]"

ADD_NODE = "INSERT INTO prism.graph_nodes (namespace, id, labels, properties) VALUES (%(ns)s, %(id)s, %(labels)s, %(properties)s)"
ADD_EDGE = """
INSERT INTO prism.graph_edges (namespace, id, from_node, to_node, label, weight, properties)
VALUES (%(ns)s, %(id)s, %(from)s, %(to)s, %(label)s, %(weight)s, %(properties)s)
"""
# A batch is one statement (so all or nothing under autocommit): the columns as arrays, a node's
# labels as a jsonb list each (text[] arrays of arrays must be rectangular).
ADD_NODES = """
INSERT INTO prism.graph_nodes (namespace, id, labels, properties)
SELECT %(ns)s, t.id,
  ARRAY(SELECT l.label FROM jsonb_array_elements_text(t.labels) WITH ORDINALITY AS l(label, i) ORDER BY l.i), t.properties
FROM unnest(%(ids)s::text[], %(labels)s::jsonb[], %(properties)s::jsonb[]) AS t(id, labels, properties)
"""
ADD_EDGES = """
INSERT INTO prism.graph_edges (namespace, id, from_node, to_node, label, weight, properties)
SELECT %(ns)s, t.* FROM unnest(
  %(ids)s::text[], %(from)s::text[], %(to)s::text[], %(labels)s::text[], %(weights)s::float8[], %(properties)s::jsonb[]
) AS t(id, from_node, to_node, label, weight, properties)
"""
GET_NODE = "SELECT labels, properties FROM prism.graph_nodes WHERE namespace = %(ns)s AND id = %(id)s"
GET_EDGE = "SELECT from_node, to_node, label, weight, properties FROM prism.graph_edges WHERE namespace = %(ns)s AND id = %(id)s"
DELETE_NODE = """
WITH edges AS (
  DELETE FROM prism.graph_edges WHERE namespace = %(ns)s AND (from_node = %(id)s OR to_node = %(id)s) RETURNING 1
), node AS (
  DELETE FROM prism.graph_nodes WHERE namespace = %(ns)s AND id = %(id)s RETURNING 1
)
SELECT (SELECT count(*) FROM node), (SELECT count(*) FROM edges)
"""
DELETE_EDGE = "DELETE FROM prism.graph_edges WHERE namespace = %(ns)s AND id = %(id)s RETURNING 1"
HAS_NODE = "SELECT 1 FROM prism.graph_nodes WHERE namespace = %(ns)s AND id = %(id)s"

# The edges a traversal may follow: those (of the labels asked for, all when none) between the
# nodes reachable from %(start)s in its direction. The recursive part keeps node ids only
# (UNION drops those seen), so the walk is linear in the edges it reaches.
_LABELS = "(cardinality(%(labels)s::text[]) = 0 OR e.label = ANY(%(labels)s::text[]))"
_STEP = {
    "outgoing": "SELECT e.to_node FROM prism.graph_edges e WHERE e.namespace = %(ns)s AND e.from_node = r.n AND {labels}",
    "incoming": "SELECT e.from_node FROM prism.graph_edges e WHERE e.namespace = %(ns)s AND e.to_node = r.n AND {labels}",
}
_STEP["both"] = f"{_STEP['outgoing']} UNION ALL {_STEP['incoming']}"
_FROM_REACHED = {
    "outgoing": "e.from_node IN (SELECT n FROM reach)",
    "incoming": "e.to_node IN (SELECT n FROM reach)",
    "both": "(e.from_node IN (SELECT n FROM reach) OR e.to_node IN (SELECT n FROM reach))",
}
REACHABLE_EDGES = {
    direction: f"""
WITH RECURSIVE reach(n) AS (
  SELECT %(start)s::text COLLATE "C"
  UNION
  SELECT nb.n FROM reach r, LATERAL ({step.format(labels=_LABELS)}) nb(n)
)
SELECT e.from_node, e.to_node FROM prism.graph_edges e
WHERE e.namespace = %(ns)s AND {_FROM_REACHED[direction]} AND {_LABELS}
LIMIT %(cap)s
"""
    for direction, step in _STEP.items()
}


def _utf8(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


def _text(text: str) -> str:
    """PostgreSQL text holds no NUL character: such an id or label is refused up front."""
    if "\x00" in text:
        raise invalid(f"{shown(text)}: PostgreSQL text cannot hold a NUL character")
    return text


def _json(values: dict[str, Any]) -> Jsonb:
    if "\\u0000" in json.dumps(values):
        raise invalid("properties: PostgreSQL jsonb cannot hold a NUL character")
    return Jsonb(values)


async def _one(conn: Conn, sql: Any, params: dict[str, Any]) -> tuple[Any, ...] | None:
    return await (await conn.execute(sql, params)).fetchone()


READER = "prism_graph_reader"
QUERY_TIMEOUT_MS = 3000  # below the plugin's own call bound (connection.CALL_TIMEOUT_S)
CONNECT_TIMEOUT_S = 2
FETCH_ROWS = 1000  # rows read from the server at a time
SECRET = "SELECT secret FROM prism.graph_query_secret"
SET_SCOPE = """
SELECT set_config('prism.graph_ns', %(ns)s, true), set_config('prism.graph_tag', %(tag)s, true),
       set_config('prism.graph_parameters', %(parameters)s, true)
"""
GRANTS = [
    "GRANT USAGE ON SCHEMA prism_graph TO prism_graph_reader",
    "GRANT SELECT ON prism_graph.nodes, prism_graph.edges, prism_graph.parameters TO prism_graph_reader",
    "ALTER ROLE prism_graph_reader NOLOGIN",  # the group: each namespace logs in as a role of its own
]
NAMESPACE_ROLE = "prism_graph_ns_"  # + 24 hex digits of sha256(secret, namespace)
# SQLSTATE classes that are the instance's trouble, not the caller's text (57: the query was
# cancelled or its session terminated by an operator).
NOT_THE_QUERY = ("08", "53", "57", "58", "XX")


def namespace_role(secret: bytes, space: bytes) -> tuple[str, str]:
    """The login role of one namespace's queries, and its password (derived, so every plugin
    process agrees)."""
    digest = hashlib.sha256(secret + b"\0role\0" + space).hexdigest()
    return NAMESPACE_ROLE + digest[:24], hashlib.sha256(secret + b"\0password\0" + space).hexdigest()


async def drop_namespace_role(conn: Conn, space: bytes) -> None:
    """DropNamespace: the namespace's query role goes with its rows."""
    row = await _one(conn, SECRET, {})
    if row is None:
        return
    role, _ = namespace_role(bytes(row[0]), space)
    await conn.execute(pgsql.SQL("DROP ROLE IF EXISTS {}").format(pgsql.Identifier(role)))


MAX_ANALYTICS_ROWS = 100_000
SNAPSHOT = "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"
ALL_NODES = "SELECT id FROM prism.graph_nodes WHERE namespace = %(ns)s LIMIT %(cap)s"
ALL_EDGES = "SELECT from_node, to_node, weight FROM prism.graph_edges WHERE namespace = %(ns)s LIMIT %(cap)s"


class PostgresGraph:
    languages: Sequence[str] = ("sql",)

    def __init__(self, conn: PostgresConnection):
        self.conn = conn
        self._secret: bytes | None = None

    # graph_basic
    async def add_node(self, ns: str, node: NodeData) -> None:
        lazy.warm(nx)  # traversals and analytics need it
        params = {
            "ns": _utf8(ns),
            "id": _text(node.id),
            "labels": [_text(label) for label in node.labels],
            "properties": _json(node.properties),
        }

        async def work(conn: Conn) -> None:
            try:
                await conn.execute(ADD_NODE, params)
            except psycopg.errors.UniqueViolation:
                raise already_exists(f"node {shown(node.id)} exists") from None

        await self.conn.run(work)

    async def add_edge(self, ns: str, edge: EdgeData) -> None:
        params = {
            "ns": _utf8(ns),
            "id": _text(edge.id),
            "from": _text(edge.from_node),
            "to": _text(edge.to_node),
            "label": _text(edge.label),
            "weight": edge.weight,
            "properties": _json(edge.properties),
        }

        async def work(conn: Conn) -> None:
            try:
                await conn.execute(ADD_EDGE, params)
            except psycopg.errors.UniqueViolation:
                raise already_exists(f"edge {shown(edge.id)} exists") from None
            except psycopg.errors.ForeignKeyViolation:
                raise failed_precondition(
                    f"edge {shown(edge.id)}: node {shown(edge.from_node)} or {shown(edge.to_node)} does not exist"
                ) from None

        await self.conn.run(work)

    async def add_nodes(self, ns: str, nodes: list[NodeData]) -> None:
        lazy.warm(nx)  # traversals and analytics need it
        params = {
            "ns": _utf8(ns),
            "ids": [_text(node.id) for node in nodes],
            "labels": [Jsonb([_text(label) for label in node.labels]) for node in nodes],
            "properties": [_json(node.properties) for node in nodes],
        }

        async def work(conn: Conn) -> None:
            try:
                await conn.execute(ADD_NODES, params)
            except psycopg.errors.UniqueViolation:
                raise already_exists(f"a node of the batch of {len(nodes)} exists; none was added") from None

        await self.conn.run(work)

    async def add_edges(self, ns: str, edges: list[EdgeData]) -> None:
        params = {
            "ns": _utf8(ns),
            "ids": [_text(edge.id) for edge in edges],
            "from": [_text(edge.from_node) for edge in edges],
            "to": [_text(edge.to_node) for edge in edges],
            "labels": [_text(edge.label) for edge in edges],
            "weights": [edge.weight for edge in edges],
            "properties": [_json(edge.properties) for edge in edges],
        }

        async def work(conn: Conn) -> None:
            try:
                await conn.execute(ADD_EDGES, params)
            except psycopg.errors.UniqueViolation:
                raise already_exists(f"an edge of the batch of {len(edges)} exists; none was added") from None
            except psycopg.errors.ForeignKeyViolation:
                raise failed_precondition(
                    f"an edge of the batch of {len(edges)} joins a node that does not exist; none was added"
                ) from None

        await self.conn.run(work)

    async def get_node(self, ns: str, node_id: str) -> NodeData | None:
        if "\x00" in node_id:
            return None
        row = await self.conn.run(_one, GET_NODE, {"ns": _utf8(ns), "id": node_id})
        return None if row is None else NodeData(node_id, tuple(row[0]), row[1])

    async def get_edge(self, ns: str, edge_id: str) -> EdgeData | None:
        if "\x00" in edge_id:
            return None
        row = await self.conn.run(_one, GET_EDGE, {"ns": _utf8(ns), "id": edge_id})
        return None if row is None else EdgeData(edge_id, row[0], row[1], row[2], row[3], row[4])

    async def delete_node(self, ns: str, node_id: str) -> int | None:
        if "\x00" in node_id:
            return None
        row = await self.conn.run(_one, DELETE_NODE, {"ns": _utf8(ns), "id": node_id})
        return None if row is None or not row[0] else int(row[1])

    async def delete_edge(self, ns: str, edge_id: str) -> bool:
        if "\x00" in edge_id:
            return False
        return await self.conn.run(_one, DELETE_EDGE, {"ns": _utf8(ns), "id": edge_id}) is not None

    # graph_traversal
    async def _walked(self, ns: str, start: str, direction: str, labels: frozenset[str]) -> nx.DiGraph | None:
        """The edges a traversal from start follows, oriented as it follows them (None: no start)."""
        if "\x00" in start:
            return None
        params = {"ns": _utf8(ns), "start": start, "labels": sorted(_text(label) for label in labels), "cap": MAX_ANALYTICS_ROWS + 1}

        async def work(conn: Conn) -> list[Any] | None:
            if await _one(conn, HAS_NODE, {"ns": params["ns"], "id": start}) is None:
                return None
            return await (await conn.execute(REACHABLE_EDGES[direction], params)).fetchall()

        try:
            edges = await self.conn.run(work)
        except psycopg.errors.QueryCanceled:  # the server's statement timeout: too big a walk, not an outage
            raise StatusError(grpc.StatusCode.DEADLINE_EXCEEDED, "the traversal ran longer than the statement timeout") from None
        if edges is None:
            return None
        if len(edges) > MAX_ANALYTICS_ROWS:
            raise resource_exhausted(f"graph_traversal: more than {MAX_ANALYTICS_ROWS} edges reachable from {shown(start)}")
        return analytics.followed([start], edges, direction)

    async def breadth_first(self, ns: str, start: str, direction: str, max_depth: int, labels: frozenset[str]) -> list[str] | None:
        walked = await self._walked(ns, start, direction, labels)
        return None if walked is None else analytics.breadth_first(walked, start, max_depth)

    async def depth_first(self, ns: str, start: str, direction: str, max_depth: int, labels: frozenset[str]) -> list[str] | None:
        walked = await self._walked(ns, start, direction, labels)
        return None if walked is None else analytics.depth_first(walked, start, max_depth)

    # graph_query
    async def query(self, ns: str, language: str, text: str, parameters: dict[str, Any]) -> tuple[list[str], list[Sequence[Any]]]:
        space = _utf8(ns)
        try:
            secret, conninfo = await self.conn.run(self._reader_setup, space)
        except psycopg.errors.InsufficientPrivilege:
            raise failed_precondition(
                f"graph_query needs a PostgreSQL user that may create roles (CREATEROLE): {READER} and one per namespace"
            ) from None
        scope = {
            "ns": space.hex(),
            "tag": hashlib.sha256(secret + hashlib.sha256(space).digest()).hexdigest(),
            "parameters": json.dumps(parameters),
        }
        try:
            async with await psycopg.AsyncConnection.connect(conninfo, connect_timeout=CONNECT_TIMEOUT_S) as reader:
                await reader.set_read_only(True)
                async with reader.transaction(force_rollback=True):
                    await reader.execute(SET_SCOPE, scope)
                    cursor = psycopg.AsyncRawCursor(reader)
                    await cursor.execute(text, prepare=True)  # one statement, no placeholders spliced
                    if cursor.description is None:
                        raise invalid("sql: the statement returns no rows (only queries are served)")
                    columns = [column.name for column in cursor.description]
                    rows = await self._fetch_within_limit(cursor)
        except psycopg.errors.QueryCanceled:
            raise StatusError(grpc.StatusCode.DEADLINE_EXCEEDED, f"sql: the query ran longer than {QUERY_TIMEOUT_MS} ms") from None
        except psycopg.Error as e:
            if e.sqlstate is None or e.sqlstate[:2] in NOT_THE_QUERY:
                raise
            raise invalid(f"sql: {type(e).__name__}: {str(e).splitlines()[0][:200] if str(e) else e.sqlstate}") from None
        return columns, rows

    @staticmethod
    async def _fetch_within_limit(cursor: Any) -> list[Any]:
        """Every row, read a page at a time and measured as the answer measures them (JSON
        cells), so the only bound is the declared one: RESOURCE_EXHAUSTED past
        max_response_bytes, never a silent or undeclared row cap."""
        limit = Limits().max_response_bytes
        rows: list[Any] = []
        size = 0
        while True:
            chunk = await cursor.fetchmany(FETCH_ROWS)
            if not chunk:
                break
            size += sum(len(json_cell(value)) for row in chunk for value in row)
            if size > limit:
                raise resource_exhausted(f"the answer exceeds max_response_bytes={limit}")
            rows.extend(chunk)
        return rows

    async def _reader_setup(self, conn: Conn, space: bytes) -> tuple[bytes, str]:
        """The tag secret, and how to connect as the namespace's reader role: the group
        prism_graph_reader (granted the views) is set up on first use, the namespace's role (a
        member of it) the first time the namespace queries."""
        if self._secret is None:
            async with conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
                row = await _one(conn, SECRET, {})
                if row is None:
                    raise failed_precondition("graph_query: the plugin's schema is missing its secret; Initialize again")
                exists = await _one(conn, "SELECT 1 FROM pg_roles WHERE rolname = %(r)s", {"r": READER})
                if not exists:
                    await conn.execute(pgsql.SQL("CREATE ROLE {} NOLOGIN").format(pgsql.Identifier(READER)))
                for grant in GRANTS:
                    await conn.execute(grant)
            self._secret = bytes(row[0])
        role, password = namespace_role(self._secret, space)
        # asked every time: DropNamespace (from any plugin process) drops the role
        if await _one(conn, "SELECT 1 FROM pg_roles WHERE rolname = %(r)s", {"r": role}) is None:
            async with conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
                if await _one(conn, "SELECT 1 FROM pg_roles WHERE rolname = %(r)s", {"r": role}) is None:
                    create = pgsql.SQL("CREATE ROLE {} LOGIN PASSWORD {} IN ROLE {}")
                    await conn.execute(create.format(pgsql.Identifier(role), pgsql.Literal(password), pgsql.Identifier(READER)))
        options = f"-c statement_timeout={QUERY_TIMEOUT_MS} -c search_path=prism_graph -c default_transaction_read_only=on"
        return self._secret, psycopg.conninfo.make_conninfo(conn.info.dsn, user=role, password=password, options=options)

    # graph_analytics
    async def _graph(self, ns: str) -> nx.MultiDiGraph:
        params = {"ns": _utf8(ns), "cap": MAX_ANALYTICS_ROWS + 1}

        async def work(conn: Conn) -> tuple[list[Any], list[Any]]:
            async with conn.transaction():
                await conn.execute(SNAPSHOT)
                nodes = await (await conn.execute(ALL_NODES, params)).fetchall()
                edges = await (await conn.execute(ALL_EDGES, params)).fetchall()
            return nodes, edges

        nodes, edges = await self.conn.run(work)
        if len(nodes) > MAX_ANALYTICS_ROWS or len(edges) > MAX_ANALYTICS_ROWS:
            raise resource_exhausted(f"graph_analytics: the namespace holds more than {MAX_ANALYTICS_ROWS} nodes or edges")
        graph = nx.MultiDiGraph()
        graph.add_nodes_from(row[0] for row in nodes)
        graph.add_edges_from((u, v, {"weight": w}) for u, v, w in edges)
        return graph

    async def shortest_path(self, ns: str, from_node: str, to_node: str, weighted: bool) -> tuple[list[str], float] | None:
        return analytics.shortest_path(await self._graph(ns), from_node, to_node, weighted)

    async def page_rank(self, ns: str, damping: float, iterations: int) -> dict[str, float]:
        return analytics.page_rank(nx.DiGraph(await self._graph(ns)), damping, iterations)

    async def components(self, ns: str) -> list[list[str]]:
        return analytics.components(await self._graph(ns))
