"""graph_query's `sqlite` language: the caller's text is one SQLite statement run on a read-only
connection of its own (`mode=ro`, `PRAGMA query_only`, its own thread), never spliced and never
several, interrupted at the call's deadline by the progress handler.

What the text may name is decided by sqlite3's authorizer at prepare time: the TEMP views
`nodes`, `edges` and `parameters`; they read the namespace's rows through TEMP views whose names
hold a random token of the connection (never shown to the caller), and only from within those
inner views may the tables graph_nodes and graph_edges be read and the functions giving the
request's namespace and parameters be called (the authorizer names the innermost view or CTE of
each access, and a caller's CTE cannot take a name it does not know). Besides these: SELECT,
recursive CTEs, json_each and json_tree, and the functions of FUNCTIONS; everything else
(writes, DDL, PRAGMA, ATTACH, transactions, the schema tables, other functions) is refused at
prepare time, and a text must begin with SELECT, VALUES or WITH (so neither EXPLAIN, which
would show the inner views' names, nor VACUUM INTO runs). Strings and BLOBs built by the query
are bounded by SQLITE_LIMIT_LENGTH; the answer by max_response_bytes, as it is read."""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import sqlite3
from typing import Any, Sequence
from urllib.parse import quote

from prism_plugin.contracts.graph.query import json_cell
from prism_plugin.conventions import Limits
from prism_plugin.status import invalid, resource_exhausted, unavailable
from prism_sqlite.connection import Database, SqliteConnection, deadline_exceeded, utf8

FETCH_ROWS = 1000
RELATIONS = ("nodes", "edges", "parameters")
NAMESPACE_FUNCTION = "prism_graph_namespace"
PARAMETERS_FUNCTION = "prism_graph_parameters"
# Pure functions of their arguments (and the clock): no I/O, no extension loading, no
# zeroblob/randomblob (whose size is the caller's).
FUNCTIONS = frozenset(
    """
json json_array json_array_length json_extract json_insert json_object json_patch json_remove
json_replace json_set json_type json_valid json_quote json_group_array json_group_object
count sum total avg min max group_concat
abs coalesce ifnull iif nullif lower upper length substr substring trim ltrim rtrim replace instr
round typeof like glob hex quote unicode char printf format sign
likely unlikely likelihood
date time datetime julianday strftime unixepoch
row_number rank dense_rank percent_rank cume_dist ntile lag lead first_value last_value nth_value
acos asin atan atan2 ceil ceiling cos degrees exp floor ln log log10 log2 mod pi pow power radians sin sqrt tan trunc
""".split()
)
TABLE_FUNCTIONS = frozenset({"json_each", "json_tree"})
# The first keyword of a query (after whitespace and comments); anything else is refused.
_LEADING = re.compile(r"(?:\s+|--[^\n]*(?:\n|$)|/\*.*?(?:\*/|$))*", re.S)
QUERY_KEYWORDS = ("select", "values", "with")
# SQLite primary result codes that are the caller's text, not the database's trouble.
SQLITE_ERROR, SQLITE_NOMEM, SQLITE_READONLY, SQLITE_INTERRUPT, SQLITE_BUSY, SQLITE_LOCKED = 1, 7, 8, 9, 5, 6
SQLITE_TOOBIG, SQLITE_AUTH, SQLITE_MISMATCH, SQLITE_RANGE = 18, 23, 20, 25


def first_keyword(text: str) -> str:
    rest = text[_LEADING.match(text).end() :]  # type: ignore[union-attr]
    match = re.match(r"[A-Za-z]+", rest)
    return match.group(0).lower() if match else ""


def read_only_uri(path: str, uri: bool) -> str:
    """The database file as a read-only SQLite URI."""
    if not uri:
        return f"file:{quote(path)}?mode=ro"
    return f"{path}{'&' if '?' in path else '?'}mode=ro"


class Sandbox:
    """The read-only connection of one database file, its views and its authorizer. The
    namespace and parameters are the running query's: one query at a time, on its thread."""

    def __init__(self, path: str, uri: bool) -> None:
        self.db = Database(read_only_uri(path, uri), uri=True, read_only=True)
        token = secrets.token_hex(16)
        self.inner = {name: f"prism_graph_{token}_{name}" for name in RELATIONS}
        self.namespace = b""
        self.parameters = "{}"

    def prepare(self, conn: sqlite3.Connection) -> None:
        conn.text_factory = lambda data: data.decode("utf-8", "surrogatepass")
        conn.create_function(NAMESPACE_FUNCTION, 0, lambda: self.namespace)
        conn.create_function(PARAMETERS_FUNCTION, 0, lambda: self.parameters)
        inner, ns = self.inner, f"namespace = {NAMESPACE_FUNCTION}()"
        for statement in (
            f'CREATE TEMP VIEW "{inner["nodes"]}" AS SELECT CAST(id AS TEXT) AS id, labels, properties FROM main.graph_nodes WHERE {ns}',
            f'CREATE TEMP VIEW "{inner["edges"]}" AS SELECT CAST(id AS TEXT) AS id, CAST(from_node AS TEXT) AS from_node, '
            f"CAST(to_node AS TEXT) AS to_node, CAST(label AS TEXT) AS label, weight, properties FROM main.graph_edges WHERE {ns}",
            f'CREATE TEMP VIEW "{inner["parameters"]}" AS SELECT {PARAMETERS_FUNCTION}() AS value',
            *(f'CREATE TEMP VIEW {name} AS SELECT * FROM temp."{inner[name]}"' for name in RELATIONS),
        ):
            conn.execute(statement)
        conn.execute("PRAGMA query_only = ON")
        conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, Limits().max_response_bytes)
        conn.setlimit(sqlite3.SQLITE_LIMIT_ATTACHED, 0)
        # The table-valued functions' first use declares their schema (which the authorizer
        # would see as writes of sqlite_master): done here, before it is set.
        for name in TABLE_FUNCTIONS:
            conn.execute(f"SELECT * FROM {name}('[]')").fetchall()
        for name in RELATIONS:
            conn.execute(f"SELECT * FROM {name} LIMIT 0").fetchall()

    def authorize(self, action: int, arg1: str | None, arg2: str | None, database: str | None, within: str | None) -> int:
        inner = self.inner.values()
        if action == sqlite3.SQLITE_SELECT or action == sqlite3.SQLITE_RECURSIVE:
            allowed = True
        elif action == sqlite3.SQLITE_READ:
            if database is None:  # a CTE's or a subquery's columns, themselves read as authorized
                allowed = True
            elif database == "temp":
                allowed = arg1 in RELATIONS or (arg1 in inner and within in RELATIONS)
            elif database == "main":
                allowed = arg1 in TABLE_FUNCTIONS or (arg1 in ("graph_nodes", "graph_edges") and within in inner)
            else:
                allowed = False
        elif action == sqlite3.SQLITE_FUNCTION:
            name = (arg2 or "").lower()
            allowed = name in FUNCTIONS or (name in (NAMESPACE_FUNCTION, PARAMETERS_FUNCTION) and within in inner)
        else:
            allowed = False
        return sqlite3.SQLITE_OK if allowed else sqlite3.SQLITE_DENY

    def run(self, conn: sqlite3.Connection, ns: str, text: str, parameters: dict[str, Any]) -> tuple[list[str], list[Sequence[Any]]]:
        if first_keyword(text) not in QUERY_KEYWORDS:
            raise invalid("sqlite: only a query is served (a statement beginning with SELECT, VALUES or WITH)")
        self.namespace, self.parameters = utf8(ns), json.dumps(parameters, ensure_ascii=False)
        conn.set_authorizer(self.authorize)
        try:
            cursor = conn.execute(text)
            if cursor.description is None:
                raise invalid("sqlite: the statement returns no rows (only queries are served)")
            columns = [column[0] for column in cursor.description]
            rows = fetch_within_limit(cursor)
        except sqlite3.Error as e:
            raise refused(e) from None
        finally:
            conn.set_authorizer(None)
            self.namespace, self.parameters = b"", "{}"
        return columns, rows


def fetch_within_limit(cursor: sqlite3.Cursor) -> list[Any]:
    """Every row, a page at a time, measured as the answer measures them (JSON cells):
    RESOURCE_EXHAUSTED past max_response_bytes, never a silent row cap."""
    limit = Limits().max_response_bytes
    rows: list[Any] = []
    size = 0
    while chunk := cursor.fetchmany(FETCH_ROWS):
        size += sum(len(json_cell(value)) for row in chunk for value in row)
        if size > limit:
            raise resource_exhausted(f"the answer exceeds max_response_bytes={limit}")
        rows.extend(chunk)
    return rows


def refused(e: sqlite3.Error) -> Exception:
    """The status of an error running the caller's text: the text's fault is INVALID_ARGUMENT."""
    code = (getattr(e, "sqlite_errorcode", None) or 0) & 0xFF
    message = f"sqlite: {type(e).__name__}: {str(e)[:200]}"
    if code == SQLITE_INTERRUPT:
        return deadline_exceeded()
    if code in (SQLITE_BUSY, SQLITE_LOCKED):
        return unavailable(f"SQLite database busy: {e}")
    if code in (SQLITE_TOOBIG, SQLITE_NOMEM):
        return resource_exhausted(message)
    if isinstance(e, sqlite3.ProgrammingError) or code in (0, SQLITE_ERROR, SQLITE_AUTH, SQLITE_READONLY, SQLITE_MISMATCH, SQLITE_RANGE):
        return invalid(message)  # syntax, unknown names, refused by the authorizer, several statements, placeholders
    return e


class SqliteGraphQuery:
    """The sandbox of the connector's current database file, opened on first use."""

    def __init__(self, conn: SqliteConnection) -> None:
        self.conn = conn
        self._sandbox: Sandbox | None = None
        self._opening = asyncio.Lock()
        conn.closers.append(self.close)

    async def query(self, ns: str, text: str, parameters: dict[str, Any]) -> tuple[list[str], list[Sequence[Any]]]:
        self.conn.db  # FAILED_PRECONDITION before Initialize
        async with self._opening:
            sandbox = self._sandbox
            if sandbox is None:
                sandbox = Sandbox(self.conn.path, self.conn.uri)
                try:
                    await sandbox.db.open(sandbox.prepare)
                except sqlite3.Error as e:
                    await sandbox.db.close()
                    raise unavailable(f"cannot open the SQLite database read-only: {type(e).__name__}: {e}") from None
                self._sandbox = sandbox
        return await sandbox.db.run(sandbox.run, ns, text, parameters, transaction="")

    async def close(self) -> None:
        sandbox, self._sandbox = self._sandbox, None
        if sandbox is not None:
            await sandbox.db.close()
