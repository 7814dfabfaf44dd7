"""Documents as rows of prism_documents, one per (namespace, collection, id), the body as JSON
text (MariaDB's JSON type: LONGTEXT checked by JSON_VALID) written by Python's json module, so
every double round-trips exactly. Names are UTF-8 VARBINARY: ids sort byte by byte, which is
code point order, the contract's last tie-break.

Find and Aggregate select the collection's rows in id order (narrowed in SQL by the filter's
plain conditions, `prefilter`) and evaluate the filter, the sort and the projection in Python
(prism_plugin.contracts.document.evaluation): MariaDB's JSON functions compare through
collations and convert numbers (JSON_VALUE answers text, JSON_EXTRACT compares a JSON number
as a DOUBLE but a string under the connection's collation), so no SQL form keeps the
contract's type order and code point order exactly.

A unique index is enforced by MariaDB itself: each document's values under each unique index of
its collection are a row of prism_document_unique whose primary key is (namespace, collection,
SHA-256 of the index name and the canonical values), written in the same transaction as the
document; a second document with the same values is refused by that key, concurrent writers
included. Every write takes the collection's row of prism_document_collections in share mode and
CreateIndex and DropIndex take it exclusively, so an index is never created past a write it did
not see, and no write claims a slot of an index being dropped (or for a document being deleted
while an index is created)."""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from typing import Any

import pymysql

from prism_mariadb.connection import MariaDBConnection, Schema, Session
from prism_plugin.contracts.document.evaluation import canon, is_number, matches, sort_key
from prism_plugin.contracts.document.filters import AllOf, Condition, Filter
from prism_plugin.contracts.document.indexing import IndexSpec
from prism_plugin.contracts.document.query import Group, Query
from prism_plugin.contracts.document.values import JSON, Path, get, merge_patch, project
from prism_plugin.status import already_exists, shown

DUPLICATE_KEY = 1062  # ER_DUP_ENTRY

TABLES = Schema(
    ddl="""
CREATE TABLE IF NOT EXISTS prism_documents (
  namespace VARBINARY(1024) NOT NULL,
  collection VARBINARY(1024) NOT NULL,
  id VARBINARY(1024) NOT NULL,
  body JSON NOT NULL,
  PRIMARY KEY (namespace, collection, id)
) ENGINE=InnoDB;
CREATE TABLE IF NOT EXISTS prism_document_collections (
  namespace VARBINARY(1024) NOT NULL,
  collection VARBINARY(1024) NOT NULL,
  PRIMARY KEY (namespace, collection)
) ENGINE=InnoDB;
CREATE TABLE IF NOT EXISTS prism_document_indexes (
  namespace VARBINARY(1024) NOT NULL,
  collection VARBINARY(1024) NOT NULL,
  name VARBINARY(1024) NOT NULL,
  fields JSON NOT NULL,
  is_unique BOOLEAN NOT NULL,
  PRIMARY KEY (namespace, collection, name)
) ENGINE=InnoDB;
CREATE TABLE IF NOT EXISTS prism_document_unique (
  namespace VARBINARY(1024) NOT NULL,
  collection VARBINARY(1024) NOT NULL,
  slot BINARY(32) NOT NULL,
  name VARBINARY(1024) NOT NULL,
  id VARBINARY(1024) NOT NULL,
  PRIMARY KEY (namespace, collection, slot),
  KEY prism_document_unique_owner (namespace, collection, id)
) ENGINE=InnoDB
""",
    tables=("prism_document_unique", "prism_document_indexes", "prism_documents", "prism_document_collections"),
)

COLL = "namespace = %s AND collection = %s"
LOCK_SHARED = f"SELECT 1 FROM prism_document_collections WHERE {COLL} LOCK IN SHARE MODE"
LOCK_EXCLUSIVE = f"SELECT 1 FROM prism_document_collections WHERE {COLL} FOR UPDATE"
ENSURE_COLLECTION = "INSERT IGNORE INTO prism_document_collections (namespace, collection) VALUES (%s, %s)"
UNIQUE_INDEXES = f"SELECT name, fields FROM prism_document_indexes WHERE {COLL} AND is_unique"


# The conditions MariaDB answers itself, as a necessary condition the plugin then refines: a
# path of plain keys (no JSON path escaping to get wrong) that is present (JSON_CONTAINS_PATH,
# which never looks into arrays), or equal to a string of printable ASCII (JSON_VALUE compared
# byte by byte: the body holds such a string verbatim; a number with the same text matches too,
# and is then refused by the plugin's own evaluation).
PLAIN_KEY = re.compile(r"[A-Za-z0-9_]+")
PLAIN_STRING = re.compile(r"[ !#-\[\]-~]*")  # printable ASCII but '"' and '\\'


def prefilter(filter_: Filter, params: list[Any]) -> str:
    """SQL that every document matching `filter_` satisfies (TRUE when nothing applies)."""
    parts = []
    for c in filter_.parts if isinstance(filter_, AllOf) else ():
        if not isinstance(c, Condition) or not all(PLAIN_KEY.fullmatch(key) for key in c.path):
            continue
        path = "$" + "".join(f'."{key}"' for key in c.path)
        if c.op == "$exists" and c.value is True:
            parts.append("JSON_CONTAINS_PATH(body, 'one', %s)")
            params.append(path)
        elif c.op == "$eq" and isinstance(c.value, str) and PLAIN_STRING.fullmatch(c.value):
            parts.append("JSON_VALUE(body, %s) = %s COLLATE utf8mb4_bin")
            params += [path, c.value]
    return " AND ".join(parts) or "TRUE"


def _utf8(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


def _text(data: Any) -> str:
    return bytes(data).decode("utf-8", "surrogatepass")


def _json(value: JSON) -> str:
    return json.dumps(value, ensure_ascii=True, allow_nan=False, separators=(",", ":"))


def _canonical(value: Any) -> Any:
    """canon's tuples as JSON-dumpable lists."""
    return [_canonical(v) for v in value] if isinstance(value, tuple) else value


def _slot(name: bytes, fields: list[Path], body: dict[str, JSON]) -> bytes | None:
    """The unique slot the body takes under an index; None when a field is missing (unconstrained)."""
    values = [get(body, path) for path in fields]
    if not all(present for present, _ in values):
        return None
    key = _json([_canonical(canon(v)) for _, v in values]).encode()
    return hashlib.sha256(len(name).to_bytes(4, "big") + name + key).digest()


def _is_duplicate(e: BaseException) -> bool:
    return isinstance(e, pymysql.err.IntegrityError) and bool(e.args) and e.args[0] == DUPLICATE_KEY


async def _lock(s: Session, lock: str, ns: bytes, coll: bytes) -> None:
    """The collection's row locked (made first if missing: INSERT IGNORE only then, as a taken
    key makes it a warning)."""
    if not await s.fetchall(lock, (ns, coll)):
        await s.execute(ENSURE_COLLECTION, (ns, coll))
        await s.fetchall(lock, (ns, coll))


async def _lock_shared(s: Session, ns: bytes, coll: bytes) -> list[tuple[bytes, list[Path]]]:
    """The collection locked against CreateIndex; its unique indexes as (name, fields)."""
    await _lock(s, LOCK_SHARED, ns, coll)
    rows = await s.fetchall(UNIQUE_INDEXES, (ns, coll))
    return [(bytes(name), [tuple(f.split(".")) for f in json.loads(fields)]) for name, fields in rows]


async def _claim(
    s: Session,
    ns: bytes,
    coll: bytes,
    indexes: list[tuple[bytes, list[Path]]],
    docs: list[tuple[bytes, dict[str, JSON]]],
    refusal: str = "the document breaks a unique index of its collection",
) -> None:
    """The unique slots of the documents, in one statement; ALREADY_EXISTS when one is taken."""
    rows: list[Any] = []
    for id, body in docs:
        for name, fields in indexes:
            slot = _slot(name, fields, body)
            if slot is not None:
                rows.append((ns, coll, slot, name, id))
    if not rows:
        return
    marks = ", ".join(["(%s, %s, %s, %s, %s)"] * len(rows))
    try:
        await s.execute(
            f"INSERT INTO prism_document_unique (namespace, collection, slot, name, id) VALUES {marks}",
            [v for row in rows for v in row],
        )
    except pymysql.err.IntegrityError as e:
        if _is_duplicate(e):
            raise already_exists(refusal) from None
        raise


class MariaDBDocuments:
    def __init__(self, conn: MariaDBConnection) -> None:
        self.conn = conn

    # document_basic
    async def insert(self, ns: str, collection: str, id: str, body: dict[str, JSON]) -> str:
        return (await self.insert_many(ns, collection, [(id, body)], one=True))[0]

    async def insert_many(self, ns: str, collection: str, docs: list[tuple[str, dict[str, JSON]]], one: bool = False) -> list[str]:
        """One transaction: one INSERT of every document (the primary key refuses an existing id),
        then one of every unique slot; a refusal rolls back both."""
        ids = [id or uuid.uuid4().hex for id, _ in docs]
        key = (_utf8(ns), _utf8(collection))
        rows = [(_utf8(id), body) for id, (_, body) in zip(ids, docs)]

        async def work(s: Session) -> list[str]:
            indexes = await _lock_shared(s, *key)
            marks = ", ".join(["(%s, %s, %s, %s)"] * len(rows))
            try:
                await s.execute(
                    f"INSERT INTO prism_documents (namespace, collection, id, body) VALUES {marks}",
                    [v for id, body in rows for v in (*key, id, _json(body))],
                )
            except pymysql.err.IntegrityError as e:
                if _is_duplicate(e):
                    if one:
                        raise already_exists(f"document {shown(ids[0])} exists") from None
                    raise already_exists(f"a document of the batch has an id that exists in collection {shown(collection)}") from None
                raise
            await _claim(s, *key, indexes, rows)
            return ids

        return await self.conn.run(lambda s: s.transaction(work))

    async def get(self, ns: str, collection: str, id: str) -> dict[str, JSON] | None:
        async def work(s: Session) -> Any:
            return await s.fetchone(f"SELECT body FROM prism_documents WHERE {COLL} AND id = %s", (_utf8(ns), _utf8(collection), _utf8(id)))

        row = await self.conn.run(work)
        return None if row is None else json.loads(row[0])

    async def update(self, ns: str, collection: str, id: str, body: dict[str, JSON], merge: bool) -> dict[str, JSON] | None:
        key = (_utf8(ns), _utf8(collection))
        doc = _utf8(id)

        async def work(s: Session) -> dict[str, JSON] | None:
            indexes = await _lock_shared(s, *key)
            row = await s.fetchone(f"SELECT body FROM prism_documents WHERE {COLL} AND id = %s FOR UPDATE", (*key, doc))
            if row is None:
                return None
            new = merge_patch(json.loads(row[0]), body) if merge else body
            await s.execute(f"UPDATE prism_documents SET body = %s WHERE {COLL} AND id = %s", (_json(new), *key, doc))
            await s.execute(f"DELETE FROM prism_document_unique WHERE {COLL} AND id = %s", (*key, doc))
            await _claim(s, *key, indexes, [(doc, new)])
            return new

        return await self.conn.run(lambda s: s.transaction(work))

    async def delete(self, ns: str, collection: str, id: str) -> bool:
        key = (_utf8(ns), _utf8(collection), _utf8(id))

        async def work(s: Session) -> bool:
            await _lock(s, LOCK_SHARED, *key[:2])  # no CreateIndex claims a slot for it meanwhile
            found = await s.execute(f"DELETE FROM prism_documents WHERE {COLL} AND id = %s", key)
            await s.execute(f"DELETE FROM prism_document_unique WHERE {COLL} AND id = %s", key)
            return found > 0

        return bool(await self.conn.run(lambda s: s.transaction(work)))

    # document_query
    async def _matching(self, ns: str, collection: str, filter_: Filter) -> list[tuple[str, dict[str, JSON]]]:
        params: list[Any] = [_utf8(ns), _utf8(collection)]
        statement = f"SELECT id, body FROM prism_documents WHERE {COLL} AND {prefilter(filter_, params)} ORDER BY id"

        async def work(s: Session) -> list[tuple[Any, ...]]:
            return await s.fetchall(statement, params)

        found = []
        for id, text in await self.conn.run(work):
            body = json.loads(text)
            if matches(body, filter_):
                found.append((_text(id), body))
        return found

    async def find(self, ns: str, collection: str, query: Query) -> list[tuple[str, dict[str, JSON]]]:
        found = await self._matching(ns, collection, query.filter)  # in id order: the last tie-break
        for path, descending in reversed(query.sort):  # stable sorts, the first path last
            found.sort(key=lambda doc: sort_key(*get(doc[1], path)), reverse=descending)
        end = None if query.limit is None else query.skip + query.limit
        return [(id, project(body, list(query.projection))) for id, body in found[query.skip : end]]

    async def aggregate(self, ns: str, collection: str, filter: Filter, group_by: Path, function: str, field: Path | None) -> list[Group]:
        groups: dict[Any, tuple[bool, JSON, list[dict[str, JSON]]]] = {}
        for _, body in await self._matching(ns, collection, filter):
            present, key = get(body, group_by)
            groups.setdefault(canon(key) if present else None, (present, key, []))[2].append(body)
        out = []
        for present, key, bodies in groups.values():
            if function == "count":
                out.append(Group(present, key, float(len(bodies))))
                continue
            assert field is not None
            numbers = [float(v) for has, v in (get(b, field) for b in bodies) if has and is_number(v)]
            if function == "sum":
                out.append(Group(present, key, float(sum(numbers))))
            elif numbers:
                out.append(Group(present, key, sum(numbers) / len(numbers)))
        return out

    # document_indexing
    async def create_index(self, ns: str, collection: str, index: IndexSpec) -> None:
        """Under the collection's exclusive lock: the index's row, then (unique) every document's
        slot; a slot taken twice refuses the index and rolls back both."""
        key = (_utf8(ns), _utf8(collection))
        name = _utf8(index.name)
        fields = [".".join(p) for p in index.fields]

        async def work(s: Session) -> None:
            await _lock(s, LOCK_EXCLUSIVE, *key)
            try:
                await s.execute(
                    "INSERT INTO prism_document_indexes (namespace, collection, name, fields, is_unique) VALUES (%s, %s, %s, %s, %s)",
                    (*key, name, json.dumps(fields), index.unique),
                )
            except pymysql.err.IntegrityError as e:
                if _is_duplicate(e):
                    raise already_exists(f"index {shown(index.name)} exists on collection {shown(collection)}") from None
                raise
            if not index.unique:
                return
            rows = await s.fetchall(f"SELECT id, body FROM prism_documents WHERE {COLL}", key)
            docs = [(bytes(id), json.loads(body)) for id, body in rows]
            refusal = f"documents of collection {shown(collection)} already break unique index {shown(index.name)}"
            await _claim(s, *key, [(name, list(index.fields))], docs, refusal)

        await self.conn.run(lambda s: s.transaction(work))

    async def drop_index(self, ns: str, collection: str, name: str) -> bool:
        key = (_utf8(ns), _utf8(collection), _utf8(name))

        async def work(s: Session) -> bool:
            await _lock(s, LOCK_EXCLUSIVE, *key[:2])  # no writer claims a slot of it meanwhile
            found = await s.execute(f"DELETE FROM prism_document_indexes WHERE {COLL} AND name = %s", key)
            await s.execute(f"DELETE FROM prism_document_unique WHERE {COLL} AND name = %s", key)
            return found > 0

        return bool(await self.conn.run(lambda s: s.transaction(work)))

    async def list_indexes(self, ns: str, collection: str) -> list[IndexSpec]:
        async def work(s: Session) -> list[tuple[Any, ...]]:
            return await s.fetchall(
                f"SELECT name, fields, is_unique FROM prism_document_indexes WHERE {COLL}", (_utf8(ns), _utf8(collection))
            )

        rows = await self.conn.run(work)
        return [
            IndexSpec(_text(name), tuple(tuple(f.split(".")) for f in json.loads(fields)), bool(unique)) for name, fields, unique in rows
        ]
