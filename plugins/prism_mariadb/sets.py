"""Sets as rows of prism_set_members, one per (namespace, set, member). Namespaces and set names
are UTF-8 VARBINARY (byte-exact, no collation), members LONGBLOB of any length: an InnoDB key
holds at most 3072 bytes, so the primary key holds sha256(member), computed by the plugin. A set
with no rows is a missing (empty) set; no LIKE anywhere, members compare as bytes.

A read is one statement in autocommit mode (one snapshot); Add and Remove are one statement each
(inputs sorted, so concurrent writes to one set lock its rows in one order); a pop is a READ
COMMITTED transaction that locks the rows it picks (`FOR UPDATE`, waiting for another pop's, so
two pops never return one member) and deletes them.
"""

from __future__ import annotations

import hashlib
from typing import Any

from prism_mariadb.connection import MariaDBConnection, Schema, Session
from prism_mariadb.keyvalue import placeholders, utf8
from prism_plugin.status import invalid

TABLES = Schema(
    ddl="""
CREATE TABLE IF NOT EXISTS prism_set_members (
  namespace VARBINARY(1024) NOT NULL,
  name VARBINARY(1024) NOT NULL,
  member_hash BINARY(32) NOT NULL,
  member LONGBLOB NOT NULL,
  PRIMARY KEY (namespace, name, member_hash)
) ENGINE=InnoDB
""",
    tables=("prism_set_members",),
)

INT64_MAX = 2**63 - 1
MAX_NAME_BYTES = 1024  # the VARBINARY columns' width
SET = "namespace = %s AND name = %s"

ADD = "INSERT IGNORE INTO prism_set_members (namespace, name, member_hash, member) VALUES {rows}"
REMOVE = f"DELETE FROM prism_set_members WHERE {SET} AND member_hash IN {{hashes}}"
CONTAINS = f"SELECT 1 FROM prism_set_members WHERE {SET} AND member_hash = %s"
MEMBERS = f"SELECT member FROM prism_set_members WHERE {SET}"
SIZE = f"SELECT COUNT(*) FROM prism_set_members WHERE {SET}"
PRESENT = f"SELECT member_hash FROM prism_set_members WHERE {SET} AND member_hash IN {{hashes}}"

OF_ANY = "namespace = %s AND name IN {names}"
# Each (set, member) is one row: a member of every one of the n distinct sets has n rows.
UNION = f"SELECT MIN(member) FROM prism_set_members WHERE {OF_ANY} GROUP BY member_hash"
INTERSECTION = f"SELECT MIN(member) FROM prism_set_members WHERE {OF_ANY} GROUP BY member_hash HAVING COUNT(*) = %s"
# The first set and the others in one scan, grouped by member: a member whose rows are all of
# the first set is in none of the others (the caller answers nothing when the first is among them).
DIFFERENCE = f"SELECT MIN(member) FROM prism_set_members WHERE {OF_ANY} GROUP BY member_hash HAVING MAX(name <> %s) = 0"

# Distinct members by construction (rows of the set), in random order.
RANDOM = f"SELECT member FROM prism_set_members WHERE {SET} ORDER BY RAND() LIMIT %s"
PICK = f"SELECT member_hash, member FROM prism_set_members WHERE {SET} ORDER BY RAND() LIMIT %s FOR UPDATE"

BATCH = 1000  # rows per INSERT or IN list


def digest(member: bytes) -> bytes:
    return hashlib.sha256(member).digest()


def name_of(name: str) -> bytes:
    encoded = utf8(name)
    if len(encoded) > MAX_NAME_BYTES:
        raise invalid(f"a name holds at most {MAX_NAME_BYTES} bytes of UTF-8, got {len(encoded)}")
    return encoded


def _column(rows: list[tuple[Any, ...]]) -> list[bytes]:
    return [bytes(row[0]) for row in rows]


def _parts(items: list[Any]) -> list[list[Any]]:
    return [items[i : i + BATCH] for i in range(0, len(items), BATCH)]


async def _add(s: Session, ns: bytes, name: bytes, members: list[tuple[bytes, bytes]]) -> int:
    added = 0
    for part in _parts(members):
        args = [x for h, m in part for x in (ns, name, h, m)]
        added += await s.execute(ADD.format(rows=", ".join(["(%s, %s, %s, %s)"] * len(part))), args)
    return added


async def _remove(s: Session, ns: bytes, name: bytes, hashes: list[bytes]) -> int:
    removed = 0
    for part in _parts(hashes):
        removed += await s.execute(REMOVE.format(hashes=placeholders(len(part))), [ns, name, *part])
    return removed


async def _pop(s: Session, ns: bytes, name: bytes, count: int) -> list[bytes]:
    rows = await s.fetchall(PICK, (ns, name, count))
    hashes = sorted(bytes(h) for h, _ in rows)
    await _remove(s, ns, name, hashes)
    return [bytes(m) for _, m in rows]


class MariaDBSets:
    def __init__(self, conn: MariaDBConnection):
        self.conn = conn

    async def _rows(self, statement: str, args: list[Any]) -> list[tuple[Any, ...]]:
        return await self.conn.run(lambda s: s.fetchall(statement, args))

    async def _operation(self, statement: str, ns: str, names: list[str], *more: Any) -> list[bytes]:
        distinct = sorted({name_of(n) for n in names})
        sql = statement.format(names=placeholders(len(distinct)))
        return _column(await self._rows(sql, [utf8(ns), *distinct, *more]))

    # set_basic
    async def add(self, ns: str, name: str, members: list[bytes]) -> int:
        rows = sorted({digest(bytes(m)): bytes(m) for m in members}.items())
        n, k = utf8(ns), name_of(name)
        if len(rows) <= BATCH:
            return await self.conn.run(_add, n, k, rows)
        return await self.conn.run(lambda s: s.transaction(lambda t: _add(t, n, k, rows)))

    async def remove(self, ns: str, name: str, members: list[bytes]) -> int:
        hashes = sorted({digest(bytes(m)) for m in members})
        n, k = utf8(ns), name_of(name)
        if len(hashes) <= BATCH:
            return await self.conn.run(_remove, n, k, hashes)
        return await self.conn.run(lambda s: s.transaction(lambda t: _remove(t, n, k, hashes)))

    async def contains(self, ns: str, name: str, member: bytes) -> bool:
        return bool(await self._rows(CONTAINS, [utf8(ns), name_of(name), digest(bytes(member))]))

    async def members(self, ns: str, name: str) -> list[bytes]:
        return _column(await self._rows(MEMBERS, [utf8(ns), name_of(name)]))

    # set_cardinality
    async def size(self, ns: str, name: str) -> int:
        return int((await self._rows(SIZE, [utf8(ns), name_of(name)]))[0][0])

    async def are_members(self, ns: str, name: str, members: list[bytes]) -> list[bool]:
        asked = [digest(bytes(m)) for m in members]
        distinct = sorted(set(asked))
        n, k = utf8(ns), name_of(name)

        async def read(s: Session) -> set[bytes]:
            found: set[bytes] = set()
            for part in _parts(distinct):
                rows = await s.fetchall(PRESENT.format(hashes=placeholders(len(part))), [n, k, *part])
                found.update(bytes(h) for (h,) in rows)
            return found

        if not distinct:
            return []
        if len(distinct) <= BATCH:
            found = await self.conn.run(read)
        else:  # one snapshot for every part
            found = await self.conn.run(lambda s: s.transaction(read, level="REPEATABLE READ"))
        return [h in found for h in asked]

    # set_operations: one statement each, so the sets are read as one state
    async def union(self, ns: str, names: list[str]) -> list[bytes]:
        return await self._operation(UNION, ns, names)

    async def intersection(self, ns: str, names: list[str]) -> list[bytes]:
        return await self._operation(INTERSECTION, ns, names, len({utf8(n) for n in names}))

    async def difference(self, ns: str, names: list[str]) -> list[bytes]:
        if names[0] in names[1:]:
            return []
        return await self._operation(DIFFERENCE, ns, names, name_of(names[0]))

    # set_random
    async def random_members(self, ns: str, name: str, count: int) -> list[bytes]:
        return _column(await self._rows(RANDOM, [utf8(ns), name_of(name), min(count, INT64_MAX)]))

    async def pop_random_members(self, ns: str, name: str, count: int) -> list[bytes]:
        n, k = utf8(ns), name_of(name)
        return await self.conn.run(lambda s: s.transaction(lambda t: _pop(t, n, k, min(count, INT64_MAX))))
