"""Documents as JSON text rows of `documents`, keyed by (namespace, collection, id) as UTF-8 BLOBs
(ids compare by code point). Filters and sorts are translated to SQL over SQLite's JSON functions
(json_type, json_extract) with every value bound as a parameter. A path is a JSON path of quoted
object keys (`$."a"."b"`), which SQLite resolves through objects only (an array answers NULL),
as the contract wants; SQLite's path syntax has no escape, so a key holding `"` is
INVALID_ARGUMENT.

A value is compared by its JSON type and its SQL value (json_type tells JSON null from a missing
path, true from 1). An index of document_indexing is a real expression index on `documents`
over those two expressions per field, partial on its namespace and collection: a unique one is a
UNIQUE index, so SQLite itself refuses a duplicate (a missing field is NULL: unconstrained).
Bodies are stored with sorted keys, so equal objects are equal text.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import uuid
from typing import Any

from prism_plugin.contracts.document.filters import ORDERING, AllOf, AnyOf, Condition, Filter
from prism_plugin.contracts.document.indexing import IndexSpec
from prism_plugin.contracts.document.query import Group, Query
from prism_plugin.contracts.document.values import JSON, Path, merge_patch, project
from prism_plugin.status import already_exists, invalid, shown
from prism_sqlite import functions
from prism_sqlite.connection import Schema, SqliteConnection, text, utf8


def _index_name(ns: bytes, collection: bytes, name: bytes) -> str:
    digest = hashlib.sha256()
    for part in (ns, collection, name):
        digest.update(len(part).to_bytes(8, "big") + part)
    return f"document_index_{digest.hexdigest()[:40]}"


def drop_namespace_indexes(conn: sqlite3.Connection, ns: bytes) -> None:
    """DropNamespace's hook: every index the namespace's rows of document_indexes name."""
    for (sql_name,) in conn.execute("SELECT sql_name FROM document_indexes WHERE namespace = ?", (ns,)).fetchall():
        conn.execute(f'DROP INDEX IF EXISTS "{sql_name}"')


TABLES = Schema(
    ddl="""
CREATE TABLE IF NOT EXISTS documents (
  namespace BLOB NOT NULL,
  collection BLOB NOT NULL,
  id BLOB NOT NULL,
  body TEXT NOT NULL,
  PRIMARY KEY (namespace, collection, id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS document_indexes (
  namespace BLOB NOT NULL,
  collection BLOB NOT NULL,
  name BLOB NOT NULL,
  fields TEXT NOT NULL,
  is_unique INTEGER NOT NULL,
  sql_name TEXT NOT NULL,
  PRIMARY KEY (namespace, collection, name)
) WITHOUT ROWID
""",
    functions=functions.register,
    on_drop=drop_namespace_indexes,
    drop=("DELETE FROM documents WHERE namespace = ?1", "DELETE FROM document_indexes WHERE namespace = ?1"),
)

# The JSON type of a value as json_type names it.
NUMBER = ("integer", "real")
SQL_OPS = {"$gt": ">", "$gte": ">=", "$lt": "<", "$lte": "<="}
# missing < null < numbers < strings < false < true < arrays < objects (false/true: one rank, then the value)
TYPE_RANK = (
    "CASE json_type(body, {p}) WHEN 'null' THEN 1 WHEN 'integer' THEN 2 WHEN 'real' THEN 2 WHEN 'text' THEN 3"
    " WHEN 'false' THEN 4 WHEN 'true' THEN 4 WHEN 'array' THEN 5 WHEN 'object' THEN 6 ELSE 0 END"
)
# The value of an index field (and of an equality): JSON null as 0 beside its type, so that two
# nulls are equal in a UNIQUE index; missing: the type is NULL (unconstrained).
INDEXED_VALUE = "CASE json_type(body, {p}) WHEN 'null' THEN 0 ELSE json_extract(body, {p}) END"


def dumps(value: JSON) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def json_path(path: Path) -> str:
    for key in path:
        if '"' in key or "\x00" in key:
            raise invalid(f"path key {shown(key)} holds '\"' or U+0000, which SQLite's JSON paths cannot name")
    return "$" + "".join(f'."{key}"' for key in path)


def literal(value: str) -> str:
    """A SQL string literal (DDL takes no parameters)."""
    return "'" + value.replace("'", "''") + "'"


def _type_of(value: JSON) -> tuple[str, ...]:
    if value is None:
        return ("null",)
    if value is True:
        return ("true",)
    if value is False:
        return ("false",)
    if isinstance(value, (int, float)):
        return NUMBER
    if isinstance(value, str):
        return ("text",)
    return ("array",) if isinstance(value, list) else ("object",)


def _sql_value(value: JSON) -> Any:
    """What json_extract answers for a value of that JSON type (INDEXED_VALUE for null)."""
    if value is None:
        return 0
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (int, float, str)):
        return value
    return dumps(value)


def _equal(path: Path, value: JSON, params: list[Any]) -> str:
    p = json_path(path)
    types = _type_of(value)
    params.extend([p, *types, p, p, _sql_value(value)])
    placeholders = ", ".join("?" for _ in types)
    return f"(json_type(body, ?) IN ({placeholders}) AND {INDEXED_VALUE.format(p='?')} = ?)"


def where(filter_: Filter, params: list[Any]) -> str:
    """The filter as a SQL condition over `body`; values go to `params` (in order)."""
    if isinstance(filter_, (AllOf, AnyOf)):
        if not filter_.parts:
            return "1"
        joiner = " AND " if isinstance(filter_, AllOf) else " OR "
        return "(" + joiner.join(where(f, params) for f in filter_.parts) + ")"
    return _condition(filter_, params)


def _condition(c: Condition, params: list[Any]) -> str:
    if c.op == "$exists":
        params.append(json_path(c.path))
        return f"(json_type(body, ?) IS {'NOT ' if c.value else ''}NULL)"
    if c.op == "$eq":
        return _equal(c.path, c.value, params)
    if c.op == "$ne":
        return f"(NOT coalesce({_equal(c.path, c.value, params)}, 0))"
    if c.op == "$in":
        if not c.value:
            return "0"
        return "(" + " OR ".join(_equal(c.path, v, params) for v in c.value) + ")"
    assert c.op in ORDERING
    p = json_path(c.path)
    types = ("text",) if isinstance(c.value, str) else NUMBER
    params.extend([p, *types, p, c.value])
    placeholders = ", ".join("?" for _ in types)
    return f"(json_type(body, ?) IN ({placeholders}) AND json_extract(body, ?) {SQL_OPS[c.op]} ?)"


def order_by(sort: tuple[tuple[Path, bool], ...], params: list[Any]) -> str:
    """Type rank, then the value within its type (numbers, strings in BINARY: code point order,
    false before true), per path; then id."""
    terms = []
    for path, descending in sort:
        direction = "DESC" if descending else "ASC"
        p = json_path(path)
        params.extend([p] * 3)
        terms.append(TYPE_RANK.format(p="?") + f" {direction}")
        terms.append(
            "CASE WHEN json_type(body, ?) IN ('integer', 'real', 'text', 'true', 'false') THEN json_extract(body, ?) END" + f" {direction}"
        )
    return ", ".join([*terms, "id ASC"])


def _refused(e: sqlite3.IntegrityError, id: str, batch: bool = False) -> Exception:
    if "documents.namespace" in str(e) and "documents.id" in str(e):  # the primary key
        if batch:
            return already_exists("a document of the batch has an id that exists in its collection")
        return already_exists(f"document {shown(id)} exists")
    return already_exists("a document breaks a unique index of its collection")


def _value_of(json_type: str | None, value: Any) -> JSON:
    if json_type in ("array", "object"):
        return json.loads(value)
    if json_type == "true":
        return True
    if json_type == "false":
        return False
    if json_type in NUMBER:
        return float(value)
    return value  # text, or None for null


class SqliteDocuments:
    def __init__(self, conn: SqliteConnection) -> None:
        self.conn = conn

    # document_basic
    async def insert(self, ns: str, collection: str, id: str, body: dict[str, JSON]) -> str:
        id = id or uuid.uuid4().hex

        def work(conn: sqlite3.Connection) -> str:
            try:
                conn.execute(
                    "INSERT INTO documents (namespace, collection, id, body) VALUES (?, ?, ?, ?)",
                    (utf8(ns), utf8(collection), utf8(id), dumps(body)),
                )
            except sqlite3.IntegrityError as e:
                raise _refused(e, id) from e
            return id

        return await self.conn.run(work)

    async def insert_many(self, ns: str, collection: str, docs: list[tuple[str, dict[str, JSON]]]) -> list[str]:
        """Every row in one transaction (all or nothing); the primary key and the unique indexes
        refuse a duplicate, within the batch too."""
        ids = [id or uuid.uuid4().hex for id, _ in docs]
        rows = [(utf8(ns), utf8(collection), utf8(id), dumps(body)) for id, (_, body) in zip(ids, docs)]

        def work(conn: sqlite3.Connection) -> list[str]:
            try:
                conn.executemany("INSERT INTO documents (namespace, collection, id, body) VALUES (?, ?, ?, ?)", rows)
            except sqlite3.IntegrityError as e:
                raise _refused(e, "", batch=True) from e
            return ids

        return await self.conn.run(work)

    async def get(self, ns: str, collection: str, id: str) -> dict[str, JSON] | None:
        def work(conn: sqlite3.Connection) -> Any:
            return conn.execute(
                "SELECT body FROM documents WHERE namespace = ? AND collection = ? AND id = ?", (utf8(ns), utf8(collection), utf8(id))
            ).fetchone()

        row = await self.conn.run(work, transaction="")
        return None if row is None else json.loads(row[0])

    async def update(self, ns: str, collection: str, id: str, body: dict[str, JSON], merge: bool) -> dict[str, JSON] | None:
        key = (utf8(ns), utf8(collection), utf8(id))

        def work(conn: sqlite3.Connection) -> dict[str, JSON] | None:
            row = conn.execute("SELECT body FROM documents WHERE namespace = ? AND collection = ? AND id = ?", key).fetchone()
            if row is None:
                return None
            new = merge_patch(json.loads(row[0]), body) if merge else body
            try:
                conn.execute("UPDATE documents SET body = ? WHERE namespace = ? AND collection = ? AND id = ?", (dumps(new), *key))
            except sqlite3.IntegrityError as e:
                raise _refused(e, id) from e
            return new

        return await self.conn.run(work)

    async def delete(self, ns: str, collection: str, id: str) -> bool:
        def work(conn: sqlite3.Connection) -> bool:
            return (
                conn.execute(
                    "DELETE FROM documents WHERE namespace = ? AND collection = ? AND id = ?", (utf8(ns), utf8(collection), utf8(id))
                ).rowcount
                > 0
            )

        return await self.conn.run(work)

    # document_query
    async def find(self, ns: str, collection: str, query: Query) -> list[tuple[str, dict[str, JSON]]]:
        params: list[Any] = [utf8(ns), utf8(collection)]
        condition = where(query.filter, params)
        order = order_by(query.sort, params)
        params += [-1 if query.limit is None else query.limit, query.skip]
        statement = (
            f"SELECT id, body FROM documents WHERE namespace = ? AND collection = ? AND {condition} ORDER BY {order} LIMIT ? OFFSET ?"
        )

        def work(conn: sqlite3.Connection) -> list[Any]:
            return conn.execute(statement, params).fetchall()

        rows = await self.conn.run(work, transaction="BEGIN")
        return [(text(id), project(json.loads(body), list(query.projection))) for id, body in rows]

    async def aggregate(self, ns: str, collection: str, filter: Filter, group_by: Path, function: str, field: Path | None) -> list[Group]:
        g = json_path(group_by)
        params: list[Any] = [g, g]
        number = "NULL"
        if field is not None:
            f = json_path(field)
            number = "CASE WHEN json_type(body, ?) IN ('integer', 'real') THEN json_extract(body, ?) END"
            params += [f, f]
        params += [utf8(ns), utf8(collection)]
        condition = where(filter, params)
        statement = (
            "SELECT t, v, count(*), prism_exact_sum(n), prism_exact_avg(n)"
            f" FROM (SELECT json_type(body, ?) AS t, json_extract(body, ?) AS v, {number} AS n FROM documents"
            f" WHERE namespace = ? AND collection = ? AND {condition}) GROUP BY t, v"
        )

        def work(conn: sqlite3.Connection) -> list[Any]:
            return conn.execute(statement, params).fetchall()

        groups = []
        for json_type, value, count, total, mean in await self.conn.run(work, transaction="BEGIN"):
            present, key = json_type is not None, _value_of(json_type, value)
            if function == "count":
                groups.append(Group(present, key, float(count)))
            elif function == "sum":
                groups.append(Group(present, key, float(total or 0.0)))
            elif mean is not None:
                groups.append(Group(present, key, mean))
        return groups

    # document_indexing
    async def create_index(self, ns: str, collection: str, index: IndexSpec) -> None:
        key = (utf8(ns), utf8(collection), utf8(index.name))
        sql_name = _index_name(*key)
        expressions = []
        for path in index.fields:
            p = literal(json_path(path))
            expressions += [f"json_type(body, {p})", INDEXED_VALUE.format(p=p)]
        ddl = (
            f'CREATE {"UNIQUE " if index.unique else ""}INDEX "{sql_name}" ON documents ({", ".join(expressions)})'
            f" WHERE namespace = x'{key[0].hex()}' AND collection = x'{key[1].hex()}'"
        )

        def work(conn: sqlite3.Connection) -> None:
            try:
                conn.execute(
                    "INSERT INTO document_indexes (namespace, collection, name, fields, is_unique, sql_name) VALUES (?, ?, ?, ?, ?, ?)",
                    (*key, json.dumps([list(p) for p in index.fields]), int(index.unique), sql_name),
                )
            except sqlite3.IntegrityError as e:
                raise already_exists(f"index {shown(index.name)} exists on collection {shown(collection)}") from e
            try:
                conn.execute(ddl)
            except sqlite3.IntegrityError as e:
                raise already_exists(f"documents of collection {shown(collection)} already break unique index {shown(index.name)}") from e

        await self.conn.run(work)

    async def drop_index(self, ns: str, collection: str, name: str) -> bool:
        def work(conn: sqlite3.Connection) -> bool:
            row = conn.execute(
                "DELETE FROM document_indexes WHERE namespace = ? AND collection = ? AND name = ? RETURNING sql_name",
                (utf8(ns), utf8(collection), utf8(name)),
            ).fetchone()
            if row is None:
                return False
            conn.execute(f'DROP INDEX IF EXISTS "{row[0]}"')
            return True

        return await self.conn.run(work)

    async def list_indexes(self, ns: str, collection: str) -> list[IndexSpec]:
        def work(conn: sqlite3.Connection) -> list[Any]:
            return conn.execute(
                "SELECT name, fields, is_unique FROM document_indexes WHERE namespace = ? AND collection = ?", (utf8(ns), utf8(collection))
            ).fetchall()

        rows = await self.conn.run(work, transaction="")
        return [IndexSpec(text(name), tuple(tuple(f) for f in json.loads(fields)), bool(unique)) for name, fields, unique in rows]
