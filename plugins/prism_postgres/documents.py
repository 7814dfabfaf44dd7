"""Documents as jsonb rows of prism.documents, keyed by (namespace, collection, id) (UTF-8 bytea,
so ids compare by code point). Filters and sorts are translated to SQL over jsonb with every
value bound as a parameter; prism.document_at(body, path) reads a path through objects only.
An index of document_indexing is a real expression index on prism.documents, partial on its
namespace and collection: a unique one is a UNIQUE index, so PostgreSQL itself refuses a
duplicate, concurrent writers included. prism.document_indexes records each index (with its
PostgreSQL name) in the transaction that creates it; DropNamespace finds a namespace's indexes
in the catalog by their predicate, so none outlives it, whatever happened to the plugin.

jsonb holds no U+0000 in text, so a document, filter or path holding one is INVALID_ARGUMENT
(declared as a deviation of the postgres registry entry).
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any, TypeAlias

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from prism_plugin.contracts.document.filters import ORDERING, AllOf, AnyOf, Condition, Filter
from prism_plugin.contracts.document.indexing import IndexSpec
from prism_plugin.contracts.document.query import Group, Query
from prism_plugin.contracts.document.values import JSON, Path, merge_patch, project
from prism_plugin.status import already_exists, invalid, shown
from prism_postgres.connection import SCHEMA, PostgresConnection, Schema

Conn: TypeAlias = psycopg.AsyncConnection[Any]


def _pg_name(ns: bytes, collection: bytes, name: bytes) -> str:
    digest = hashlib.sha256()
    for part in (ns, collection, name):
        digest.update(len(part).to_bytes(8, "big") + part)
    return f"document_index_{digest.hexdigest()[:40]}"


async def drop_namespace_indexes(conn: Conn, ns: bytes) -> None:
    """DropNamespace's hook: every index on prism.documents whose predicate names the namespace,
    found in the catalog (so even one that prism.document_indexes no longer records goes)."""
    predicate = f"((namespace = '\\x{ns.hex()}'::bytea) AND "
    cur = await conn.execute(
        "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
        " WHERE i.indrelid = 'prism.documents'::regclass AND starts_with(pg_get_expr(i.indpred, i.indrelid), %s)",
        (predicate,),
    )
    for (pg_name,) in await cur.fetchall():
        await conn.execute(sql.SQL("DROP INDEX IF EXISTS {}").format(sql.Identifier(SCHEMA, pg_name)))


# document_at: the value at a path, NULL when missing or when a step is not an object (so
# "tags.0" never indexes an array, as #> alone would). IMMUTABLE: usable in index expressions.
TABLES = Schema(
    ddl="""
CREATE TABLE IF NOT EXISTS prism.documents (
  namespace bytea NOT NULL,
  collection bytea NOT NULL,
  id bytea NOT NULL,
  body jsonb NOT NULL,
  PRIMARY KEY (namespace, collection, id)
);
CREATE INDEX IF NOT EXISTS documents_body ON prism.documents USING gin (body jsonb_path_ops);
CREATE TABLE IF NOT EXISTS prism.document_indexes (
  namespace bytea NOT NULL,
  collection bytea NOT NULL,
  name bytea NOT NULL,
  fields text[] NOT NULL,
  is_unique boolean NOT NULL,
  pg_name text NOT NULL,
  PRIMARY KEY (namespace, collection, name)
);
CREATE OR REPLACE FUNCTION prism.document_at(doc jsonb, path text[]) RETURNS jsonb
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT CASE WHEN (SELECT bool_and(jsonb_typeof(doc #> path[1:i]) = 'object')
                    FROM generate_series(1, cardinality(path) - 1) AS i) IS NOT FALSE
              THEN doc #> path END
$$
""",
    tables=("documents", "document_indexes"),
    on_drop=drop_namespace_indexes,
)

AT = "prism.document_at(body, %s::text[])"
TYPE_RANK = (
    "CASE WHEN {} IS NULL THEN 0 ELSE CASE jsonb_typeof({}) WHEN 'null' THEN 1 WHEN 'number' THEN 2"
    " WHEN 'string' THEN 3 WHEN 'boolean' THEN 4 WHEN 'array' THEN 5 ELSE 6 END END"
)
SQL_OPS = {"$gt": ">", "$gte": ">=", "$lt": "<", "$lte": "<="}


def _utf8(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


def _no_nul(value: JSON, what: str) -> None:
    """jsonb and text cannot hold U+0000."""
    if isinstance(value, str):
        if "\x00" in value:
            raise invalid(f"{what} holds U+0000, which PostgreSQL jsonb cannot store")
    elif isinstance(value, dict):
        for k, v in value.items():
            _no_nul(k, what)
            _no_nul(v, what)
    elif isinstance(value, list):
        for v in value:
            _no_nul(v, what)


def _path(path: Path, params: list[Any]) -> str:
    _no_nul(list(path), "a path")
    params.append(list(path))
    return AT


def _nested(path: Path, value: JSON) -> JSON:
    """{"a": {"b": value}} for path a.b: what a body holding value there contains (@>)."""
    for key in reversed(path):
        value = {key: value}
    return value


def where(filter_: Filter, params: list[Any]) -> str:
    """The filter as a SQL condition over `body`; values go to `params`. A condition may be NULL
    where its field is missing: only AND and OR combine conditions (no NOT), so NULL counts as
    false exactly as the grammar's false would, and the bare `expression = value` forms stay
    usable by the expression indexes of document_indexing."""
    if isinstance(filter_, (AllOf, AnyOf)):
        if not filter_.parts:
            return "TRUE"
        joiner = " AND " if isinstance(filter_, AllOf) else " OR "
        return "(" + joiner.join(where(f, params) for f in filter_.parts) + ")"
    return _condition(filter_, params)


def _condition(c: Condition, params: list[Any]) -> str:
    _no_nul(c.value, "a filter")
    if c.op == "$exists":
        return f"({_path(c.path, params)} IS {'NOT ' if c.value else ''}NULL)"
    if c.op == "$eq":
        params.append(Jsonb(_nested(c.path, c.value)))  # a necessary condition the GIN index answers
        e = _path(c.path, params)
        params.append(Jsonb(c.value))
        return f"(body @> %s AND {e} = %s::jsonb)"
    if c.op == "$ne":
        e = _path(c.path, params)
        params.append(Jsonb(c.value))
        return f"({e} IS DISTINCT FROM %s::jsonb)"
    if c.op == "$in":
        e = _path(c.path, params)
        params.append([Jsonb(v) for v in c.value])
        return f"({e} = ANY(%s::jsonb[]))"
    assert c.op in ORDERING
    first = _path(c.path, params)
    second = _path(c.path, params)
    op = SQL_OPS[c.op]
    if isinstance(c.value, str):
        params.append(c.value)
        return f"(jsonb_typeof({first}) = 'string' AND ({second} #>> '{{}}') COLLATE \"C\" {op} %s)"
    # jsonb compares two numbers by value (numeric: exact for every double)
    params.append(Jsonb(float(c.value)))
    return f"(jsonb_typeof({first}) = 'number' AND {second} {op} %s::jsonb)"


def order_by(sort: tuple[tuple[Path, bool], ...], params: list[Any]) -> str:
    """Type rank, then the value within its type, per path; then id (bytea: code point order)."""
    terms = []
    for path, descending in sort:
        direction = "DESC" if descending else "ASC"
        terms.append(_expr(TYPE_RANK, 2, path, params) + f" {direction}")
        terms.append(_expr("CASE WHEN jsonb_typeof({}) = 'number' THEN ({})::numeric END", 2, path, params) + f" {direction}")
        terms.append(
            _expr("(CASE WHEN jsonb_typeof({}) = 'string' THEN {} #>> '{{}}' END) COLLATE \"C\"", 2, path, params) + f" {direction}"
        )
        terms.append(_expr("CASE WHEN jsonb_typeof({}) = 'boolean' THEN ({})::boolean END", 2, path, params) + f" {direction}")
    return ", ".join([*terms, "id ASC"])


def _expr(template: str, uses: int, path: Path, params: list[Any]) -> str:
    return template.format(*(_path(path, params) for _ in range(uses)))


class PostgresDocuments:
    def __init__(self, conn: PostgresConnection) -> None:
        self.conn = conn

    # document_basic
    async def insert(self, ns: str, collection: str, id: str, body: dict[str, JSON]) -> str:
        _no_nul(body, "the document")
        id = id or uuid.uuid4().hex

        async def work(conn: Conn) -> str:
            try:
                await conn.execute(
                    "INSERT INTO prism.documents (namespace, collection, id, body) VALUES (%s, %s, %s, %s)",
                    (_utf8(ns), _utf8(collection), _utf8(id), Jsonb(body)),
                )
            except psycopg.errors.UniqueViolation as e:
                raise _refused(e, id) from e
            return id

        return await self.conn.run(work)

    async def insert_many(self, ns: str, collection: str, docs: list[tuple[str, dict[str, JSON]]]) -> list[str]:
        """One INSERT of every row (one statement: all or nothing); the primary key and the unique
        indexes of document_indexing refuse a duplicate, within the batch too."""
        for _, body in docs:
            _no_nul(body, "a document")
        ids = [id or uuid.uuid4().hex for id, _ in docs]

        async def work(conn: Conn) -> list[str]:
            try:
                await conn.execute(
                    "INSERT INTO prism.documents (namespace, collection, id, body)"
                    " SELECT %s, %s, id, body FROM unnest(%s::bytea[], %s::jsonb[]) AS batch (id, body)",
                    (_utf8(ns), _utf8(collection), [_utf8(id) for id in ids], [Jsonb(body) for _, body in docs]),
                )
            except psycopg.errors.UniqueViolation as e:
                if e.diag.constraint_name == "documents_pkey":
                    raise already_exists(f"a document of the batch has an id that exists in collection {shown(collection)}") from e
                raise already_exists("a document of the batch breaks a unique index of its collection") from e
            return ids

        return await self.conn.run(work)

    async def get(self, ns: str, collection: str, id: str) -> dict[str, JSON] | None:
        async def work(conn: Conn):
            cur = await conn.execute(
                "SELECT body FROM prism.documents WHERE namespace = %s AND collection = %s AND id = %s",
                (_utf8(ns), _utf8(collection), _utf8(id)),
            )
            row = await cur.fetchone()
            return None if row is None else row[0]

        return await self.conn.run(work)

    async def update(self, ns: str, collection: str, id: str, body: dict[str, JSON], merge: bool) -> dict[str, JSON] | None:
        _no_nul(body, "the document")
        key = (_utf8(ns), _utf8(collection), _utf8(id))

        async def work(conn: Conn):
            try:
                async with conn.transaction():
                    new = body
                    if merge:
                        cur = await conn.execute(
                            "SELECT body FROM prism.documents WHERE namespace = %s AND collection = %s AND id = %s FOR UPDATE", key
                        )
                        row = await cur.fetchone()
                        if row is None:
                            return None
                        new = merge_patch(row[0], body)
                    cur = await conn.execute(
                        "UPDATE prism.documents SET body = %s WHERE namespace = %s AND collection = %s AND id = %s RETURNING body",
                        (Jsonb(new), *key),
                    )
                    row = await cur.fetchone()
                    return None if row is None else row[0]
            except psycopg.errors.UniqueViolation as e:
                raise _refused(e, id) from e

        return await self.conn.run(work)

    async def delete(self, ns: str, collection: str, id: str) -> bool:
        async def work(conn: Conn) -> bool:
            cur = await conn.execute(
                "DELETE FROM prism.documents WHERE namespace = %s AND collection = %s AND id = %s",
                (_utf8(ns), _utf8(collection), _utf8(id)),
            )
            return cur.rowcount > 0

        return await self.conn.run(work)

    # document_query
    async def find(self, ns: str, collection: str, query: Query) -> list[tuple[str, dict[str, JSON]]]:
        params: list[Any] = [_utf8(ns), _utf8(collection)]
        condition = where(query.filter, params)
        order = order_by(query.sort, params)
        params += [query.limit, query.skip]
        statement = (
            f"SELECT id, body FROM prism.documents WHERE namespace = %s AND collection = %s AND {condition}"
            f" ORDER BY {order} LIMIT %s OFFSET %s"
        )

        async def work(conn: Conn):
            cur = await conn.execute(statement.encode(), params)
            return await cur.fetchall()

        rows = await self.conn.run(work)
        return [(bytes(id).decode("utf-8"), project(body, list(query.projection))) for id, body in rows]

    async def aggregate(self, ns: str, collection: str, filter: Filter, group_by: Path, function: str, field: Path | None) -> list[Group]:
        params: list[Any] = []
        key = _path(group_by, params)
        number = "NULL::numeric"
        if field is not None:
            number = _expr("CASE WHEN jsonb_typeof({}) = 'number' THEN ({})::numeric END", 2, field, params)
        params += [_utf8(ns), _utf8(collection)]
        condition = where(filter, params)
        statement = (
            f"SELECT g IS NOT NULL, g, count(*), sum(n), count(n) FROM (SELECT {key} AS g, {number} AS n FROM prism.documents"
            f" WHERE namespace = %s AND collection = %s AND {condition}) AS matching GROUP BY g"
        )

        async def work(conn: Conn):
            cur = await conn.execute(statement.encode(), params)
            return await cur.fetchall()

        groups = []
        for present, value, count, total, numbers in await self.conn.run(work):  # value None: JSON null
            if function == "count":
                groups.append(Group(present, value, float(count)))
            elif function == "sum":
                groups.append(Group(present, value, float(total or 0)))
            elif numbers:
                groups.append(Group(present, value, float(total) / numbers))
        return groups

    # document_indexing
    async def create_index(self, ns: str, collection: str, index: IndexSpec) -> None:
        _no_nul([list(p) for p in index.fields], "an index field")
        key = (_utf8(ns), _utf8(collection), _utf8(index.name))
        pg_name = _pg_name(*key)
        expressions = sql.SQL(", ").join(
            sql.SQL("(prism.document_at(body, {}::text[]))").format(sql.Literal(list(path))) for path in index.fields
        )
        # DDL takes no parameters: the values are quoted by psycopg (sql.Literal), never pasted.
        ddl = sql.SQL(
            "CREATE {unique}INDEX {name} ON prism.documents ({expressions}) WHERE namespace = {ns} AND collection = {coll}"
        ).format(
            unique=sql.SQL("UNIQUE " if index.unique else ""),
            name=sql.Identifier(pg_name),
            expressions=expressions,
            ns=sql.Literal(key[0]),
            coll=sql.Literal(key[1]),
        )

        async def work(conn: Conn) -> None:
            try:
                async with conn.transaction():
                    await conn.execute(
                        "INSERT INTO prism.document_indexes (namespace, collection, name, fields, is_unique, pg_name)"
                        " VALUES (%s, %s, %s, %s, %s, %s)",
                        (*key, [".".join(p) for p in index.fields], index.unique, pg_name),
                    )
                    await conn.execute(ddl)
            except psycopg.errors.UniqueViolation as e:
                if e.diag.constraint_name == "document_indexes_pkey":
                    raise already_exists(f"index {shown(index.name)} exists on collection {shown(collection)}") from e
                raise already_exists(f"documents of collection {shown(collection)} already break unique index {shown(index.name)}") from e

        await self.conn.run(work)

    async def drop_index(self, ns: str, collection: str, name: str) -> bool:
        async def work(conn: Conn) -> bool:
            async with conn.transaction():
                cur = await conn.execute(
                    "DELETE FROM prism.document_indexes WHERE namespace = %s AND collection = %s AND name = %s RETURNING pg_name",
                    (_utf8(ns), _utf8(collection), _utf8(name)),
                )
                row = await cur.fetchone()
                if row is None:
                    return False
                await conn.execute(sql.SQL("DROP INDEX IF EXISTS {}").format(sql.Identifier(SCHEMA, row[0])))
                return True

        return await self.conn.run(work)

    async def list_indexes(self, ns: str, collection: str) -> list[IndexSpec]:
        async def work(conn: Conn):
            cur = await conn.execute(
                "SELECT name, fields, is_unique FROM prism.document_indexes WHERE namespace = %s AND collection = %s",
                (_utf8(ns), _utf8(collection)),
            )
            return await cur.fetchall()

        rows = await self.conn.run(work)
        return [IndexSpec(bytes(name).decode("utf-8"), tuple(tuple(f.split(".")) for f in fields), unique) for name, fields, unique in rows]


def _refused(e: psycopg.errors.UniqueViolation, id: str) -> Exception:
    if e.diag.constraint_name == "documents_pkey":
        return already_exists(f"document {shown(id)} exists")
    return already_exists("the document breaks a unique index of its collection")
