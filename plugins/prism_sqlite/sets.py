"""Sets as rows of set_members, one per (namespace, set, member): namespaces and set names as
UTF-8 BLOBs, members as BLOBs (BLOBs compare with memcmp: byte-exact, no collation, no LIKE). A
set with no rows is a missing (empty) set.

Every write is one IMMEDIATE transaction on the plugin's writer connection (SQLite has one
writer at a time), so a pop never returns a member another pop took; reads of several
statements are one deferred transaction (one snapshot), a single statement runs outside one.
"""

from __future__ import annotations

import sqlite3

from prism_sqlite.connection import Schema, SqliteConnection, utf8

TABLES = Schema(
    ddl="""
CREATE TABLE IF NOT EXISTS set_members (
  namespace BLOB NOT NULL,
  name BLOB NOT NULL,
  member BLOB NOT NULL,
  PRIMARY KEY (namespace, name, member)
) WITHOUT ROWID
""",
    drop=("DELETE FROM set_members WHERE namespace = ?1",),
)

INT64_MAX = 2**63 - 1
SET = "namespace = ?1 AND name = ?2"
ADD = "INSERT INTO set_members (namespace, name, member) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING"
REMOVE = f"DELETE FROM set_members WHERE {SET} AND member = ?3"
CONTAINS = f"SELECT 1 FROM set_members WHERE {SET} AND member = ?3"
MEMBERS = f"SELECT member FROM set_members WHERE {SET}"
SIZE = f"SELECT count(*) FROM set_members WHERE {SET}"
RANDOM = f"SELECT member FROM set_members WHERE {SET} ORDER BY random() LIMIT ?3"


def _of_any(n: int) -> str:
    """The rows of the sets ?2 .. ?(n+1) (distinct names) of namespace ?1."""
    return f"namespace = ?1 AND name IN ({', '.join(f'?{i + 2}' for i in range(n))})"


# Each (set, member) is one row: a member of every one of the n distinct sets has n rows.
UNION = "SELECT DISTINCT member FROM set_members WHERE {sets}"
INTERSECTION = "SELECT member FROM set_members WHERE {sets} GROUP BY member HAVING count(*) = {n}"
# The first set (?2) and the others in one scan, grouped by member: a member whose rows are all
# of the first set is in none of the others (the caller answers nothing when the first is among them).
DIFFERENCE = "SELECT member FROM set_members WHERE {sets} GROUP BY member HAVING max(name != ?2) = 0"


def _column(rows: list[tuple[bytes]]) -> list[bytes]:
    return [bytes(row[0]) for row in rows]


def _add(conn: sqlite3.Connection, ns: bytes, name: bytes, members: list[bytes]) -> int:
    added = 0
    for m in members:
        added += conn.execute(ADD, (ns, name, m)).rowcount
    return added


def _remove(conn: sqlite3.Connection, ns: bytes, name: bytes, members: list[bytes]) -> int:
    removed = 0
    for m in members:
        removed += conn.execute(REMOVE, (ns, name, m)).rowcount
    return removed


def _are_members(conn: sqlite3.Connection, ns: bytes, name: bytes, members: list[bytes]) -> list[bool]:
    return [conn.execute(CONTAINS, (ns, name, m)).fetchone() is not None for m in members]


def _pop(conn: sqlite3.Connection, ns: bytes, name: bytes, count: int) -> list[bytes]:
    members = _column(conn.execute(RANDOM, (ns, name, count)).fetchall())
    for m in members:
        conn.execute(REMOVE, (ns, name, m))
    return members


def _rows(conn: sqlite3.Connection, statement: str, params: tuple[object, ...]) -> list[bytes]:
    return _column(conn.execute(statement, params).fetchall())


class SqliteSets:
    def __init__(self, conn: SqliteConnection):
        self.conn = conn

    async def _read(self, statement: str, *params: object) -> list[bytes]:
        return await self.conn.run(_rows, statement, params, transaction="")

    async def _operation(self, statement: str, ns: str, names: list[str]) -> list[bytes]:
        distinct = list(dict.fromkeys(utf8(n) for n in names))  # the first name stays first (?2)
        sql = statement.format(sets=_of_any(len(distinct)), n=len(distinct))
        return await self._read(sql, utf8(ns), *distinct)

    # set_basic
    async def add(self, ns: str, name: str, members: list[bytes]) -> int:
        return await self.conn.run(_add, utf8(ns), utf8(name), sorted({bytes(m) for m in members}))

    async def remove(self, ns: str, name: str, members: list[bytes]) -> int:
        return await self.conn.run(_remove, utf8(ns), utf8(name), sorted({bytes(m) for m in members}))

    async def contains(self, ns: str, name: str, member: bytes) -> bool:
        return bool(await self._read(CONTAINS, utf8(ns), utf8(name), bytes(member)))

    async def members(self, ns: str, name: str) -> list[bytes]:
        return await self._read(MEMBERS, utf8(ns), utf8(name))

    # set_cardinality
    async def size(self, ns: str, name: str) -> int:
        row = await self.conn.run(lambda conn: conn.execute(SIZE, (utf8(ns), utf8(name))).fetchone(), transaction="")
        return int(row[0])

    async def are_members(self, ns: str, name: str, members: list[bytes]) -> list[bool]:
        return await self.conn.run(_are_members, utf8(ns), utf8(name), [bytes(m) for m in members], transaction="BEGIN")

    # set_operations: one statement each, so the sets are read as one state
    async def union(self, ns: str, names: list[str]) -> list[bytes]:
        return await self._operation(UNION, ns, names)

    async def intersection(self, ns: str, names: list[str]) -> list[bytes]:
        return await self._operation(INTERSECTION, ns, names)

    async def difference(self, ns: str, names: list[str]) -> list[bytes]:
        if names[0] in names[1:]:
            return []
        return await self._operation(DIFFERENCE, ns, names)

    # set_random: distinct members by construction (rows of the set), in random order
    async def random_members(self, ns: str, name: str, count: int) -> list[bytes]:
        return await self._read(RANDOM, utf8(ns), utf8(name), min(count, INT64_MAX))

    async def pop_random_members(self, ns: str, name: str, count: int) -> list[bytes]:
        return await self.conn.run(_pop, utf8(ns), utf8(name), min(count, INT64_MAX))
