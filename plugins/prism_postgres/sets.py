"""Sets as rows of prism.set_members, one per (namespace, set, member). Namespaces and set names
are UTF-8 bytea, members bytea of any length: a btree holds no entry above a third of a page
(2704 bytes), so the primary key holds sha256(member), a generated column, as PostgreSQL's
documentation advises for large values. A set with no rows is a missing (empty) set.

Every operation is one statement in autocommit mode (a statement reads one snapshot); inputs
are sorted, so concurrent writes to one set take its rows' locks in one order.
"""

from __future__ import annotations

from typing import Any, TypeAlias

import psycopg

from prism_postgres.connection import PostgresConnection, Schema
from prism_postgres.keyvalue import utf8

TABLES = Schema(
    ddl="""
CREATE TABLE IF NOT EXISTS prism.set_members (
  namespace bytea NOT NULL,
  name bytea NOT NULL,
  member bytea NOT NULL,
  member_hash bytea GENERATED ALWAYS AS (sha256(member)) STORED,
  PRIMARY KEY (namespace, name, member_hash)
);
""",
    tables=("set_members",),
)

SET = "namespace = %(ns)s AND name = %(name)s"
HASHES = "ARRAY(SELECT sha256(m) FROM unnest(%(members)s::bytea[]) AS m)"

ADD = """
INSERT INTO prism.set_members (namespace, name, member)
SELECT %(ns)s, %(name)s, m FROM unnest(%(members)s::bytea[]) AS m
ON CONFLICT (namespace, name, member_hash) DO NOTHING RETURNING 1
"""
REMOVE = f"DELETE FROM prism.set_members WHERE {SET} AND member_hash = ANY({HASHES}) RETURNING 1"
CONTAINS = f"SELECT 1 FROM prism.set_members WHERE {SET} AND member_hash = sha256(%(member)s)"
MEMBERS = f"SELECT member FROM prism.set_members WHERE {SET}"
SIZE = f"SELECT count(*) FROM prism.set_members WHERE {SET}"
ARE_MEMBERS = f"""
SELECT EXISTS (SELECT 1 FROM prism.set_members WHERE {SET} AND member_hash = sha256(asked.m))
FROM unnest(%(members)s::bytea[]) WITH ORDINALITY AS asked(m, i) ORDER BY asked.i
"""

OF_ANY = "namespace = %(ns)s AND name = ANY(%(names)s::bytea[])"
UNION = f"SELECT member FROM prism.set_members WHERE {OF_ANY} GROUP BY member_hash, member"
# Each (set, member) is one row: a member of every one of the n distinct sets has n rows.
INTERSECTION = f"SELECT member FROM prism.set_members WHERE {OF_ANY} GROUP BY member_hash, member HAVING count(*) = %(n)s"
# The first set and the others in one scan, grouped by member: a member whose rows are all of
# the first set is in none of the others (the caller answers nothing when the first is among the
# others). One scan whatever the planner's estimates: an anti join planned for a table whose
# statistics predate the rows runs as a nested loop, quadratic in the sets' sizes.
DIFFERENCE = f"""
SELECT member FROM prism.set_members WHERE {OF_ANY} GROUP BY member_hash, member HAVING bool_and(name = %(first)s)
"""

# Distinct members by construction (rows of the set), in random order; count fits LIMIT's bigint.
RANDOM = f"SELECT member FROM prism.set_members WHERE {SET} ORDER BY random() LIMIT %(count)s"
# Rows another pop holds are skipped: two concurrent pops never return the same member.
POP = f"""
DELETE FROM prism.set_members WHERE {SET} AND member_hash = ANY(ARRAY(
  SELECT member_hash FROM prism.set_members WHERE {SET} ORDER BY random() LIMIT %(count)s FOR UPDATE SKIP LOCKED
)) RETURNING member
"""

Conn: TypeAlias = "psycopg.AsyncConnection[Any]"


async def _fetchall(conn: Conn, statement: Any, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    return await (await conn.execute(statement, params)).fetchall()


def _column(rows: list[tuple[Any, ...]]) -> list[bytes]:
    return [bytes(row[0]) for row in rows]


class PostgresSets:
    def __init__(self, conn: PostgresConnection):
        self.conn = conn

    async def _rows(self, statement: str, ns: str, name: str, **params: Any) -> list[tuple[Any, ...]]:
        return await self.conn.run(_fetchall, statement, {"ns": utf8(ns), "name": utf8(name), **params})

    async def _operation(self, statement: str, ns: str, names: list[str], **params: Any) -> list[bytes]:
        encoded = [utf8(n) for n in names]
        rows = await self.conn.run(_fetchall, statement, {"ns": utf8(ns), "names": sorted(set(encoded)), **params})
        return _column(rows)

    # set_basic
    async def add(self, ns: str, name: str, members: list[bytes]) -> int:
        return len(await self._rows(ADD, ns, name, members=sorted({bytes(m) for m in members})))

    async def remove(self, ns: str, name: str, members: list[bytes]) -> int:
        return len(await self._rows(REMOVE, ns, name, members=sorted({bytes(m) for m in members})))

    async def contains(self, ns: str, name: str, member: bytes) -> bool:
        return bool(await self._rows(CONTAINS, ns, name, member=bytes(member)))

    async def members(self, ns: str, name: str) -> list[bytes]:
        return _column(await self._rows(MEMBERS, ns, name))

    # set_cardinality
    async def size(self, ns: str, name: str) -> int:
        return int((await self._rows(SIZE, ns, name))[0][0])

    async def are_members(self, ns: str, name: str, members: list[bytes]) -> list[bool]:
        return [bool(row[0]) for row in await self._rows(ARE_MEMBERS, ns, name, members=[bytes(m) for m in members])]

    # set_operations: one statement each, so the sets are read as one state
    async def union(self, ns: str, names: list[str]) -> list[bytes]:
        return await self._operation(UNION, ns, names)

    async def intersection(self, ns: str, names: list[str]) -> list[bytes]:
        return await self._operation(INTERSECTION, ns, names, n=len(set(names)))

    async def difference(self, ns: str, names: list[str]) -> list[bytes]:
        if names[0] in names[1:]:
            return []
        return await self._operation(DIFFERENCE, ns, names, first=utf8(names[0]))

    # set_random
    async def random_members(self, ns: str, name: str, count: int) -> list[bytes]:
        return _column(await self._rows(RANDOM, ns, name, count=count))

    async def pop_random_members(self, ns: str, name: str, count: int) -> list[bytes]:
        return _column(await self._rows(POP, ns, name, count=count))
