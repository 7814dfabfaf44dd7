"""Sorted sets as rows of prism.zset_members, one per (namespace, key, member) with a float8
score (+-Infinity included; the SDK refuses NaN). The order is (score, member): bytea compares
byte by byte, so ties order by member bytes, and lexicographic ranges are byte ranges with no
collation. As for sets, the primary key holds sha256(member), since a btree entry cannot hold a
large member.

Every operation is one statement in autocommit mode (one snapshot). Union and Intersection read
the keys' members in one statement and combine them with the SDK's arithmetic (combine_scores):
PostgreSQL's float8 operators raise on an overflow (1e308 * 2) where the contract's IEEE
arithmetic gives an infinity.
"""

from __future__ import annotations

from typing import Any, TypeAlias

import psycopg

from prism_plugin.contracts.sortedset.operations import combine_scores
from prism_plugin.contracts.sortedset.range import ScoreBound
from prism_postgres import ranks
from prism_postgres.connection import PostgresConnection, Schema
from prism_postgres.keyvalue import utf8

TABLES = Schema(
    ddl="""
CREATE TABLE IF NOT EXISTS prism.zset_members (
  namespace bytea NOT NULL,
  key bytea NOT NULL,
  member bytea NOT NULL,
  member_hash bytea GENERATED ALWAYS AS (sha256(member)) STORED,
  score float8 NOT NULL,
  PRIMARY KEY (namespace, key, member_hash)
);
CREATE INDEX IF NOT EXISTS zset_members_order ON prism.zset_members (namespace, key, score);
""",
    tables=("zset_members",),
)

Scored = list[tuple[bytes, float]]
KEY = "namespace = %(ns)s AND key = %(k)s"
ORDER = {False: "ORDER BY score, member", True: "ORDER BY score DESC, member DESC"}

# A row's xmax is 0 when this statement inserted it, and set when it updated a row it locked.
ADD = """
INSERT INTO prism.zset_members AS z (namespace, key, member, score)
SELECT %(ns)s, %(k)s, t.m, t.s FROM unnest(%(members)s::bytea[], %(scores)s::float8[]) AS t(m, s)
ON CONFLICT (namespace, key, member_hash) DO UPDATE SET score = excluded.score
RETURNING z.xmax = 0
"""
REMOVE = f"""
DELETE FROM prism.zset_members WHERE {KEY} AND member_hash = ANY(ARRAY(SELECT sha256(m) FROM unnest(%(members)s::bytea[]) AS m))
RETURNING 1
"""
SCORE = f"SELECT score FROM prism.zset_members WHERE {KEY} AND member_hash = sha256(%(member)s)"

RANGE = {
    reverse: f"""
WITH size AS (SELECT count(*) AS n FROM prism.zset_members WHERE {KEY}), win AS ({ranks.WINDOW})
SELECT member, score FROM prism.zset_members WHERE {KEY} {ORDER[reverse]}
OFFSET (SELECT lo FROM win) LIMIT (SELECT take FROM win)
"""
    for reverse in (False, True)
}
# Members before (after, reverse) the member in the order: its rank.
RANK = {
    reverse: f"""
SELECT (SELECT count(*) FROM prism.zset_members o WHERE o.namespace = %(ns)s AND o.key = %(k)s
        AND (o.score, o.member) {'>' if reverse else '<'} (m.score, m.member))
FROM prism.zset_members m WHERE m.namespace = %(ns)s AND m.key = %(k)s AND m.member_hash = sha256(%(member)s)
"""
    for reverse in (False, True)
}
# LIMIT NULL is LIMIT ALL.
WINDOWED = f"SELECT member, score FROM prism.zset_members WHERE {KEY} AND {{low}} AND {{high}} {{order}} OFFSET %(offset)s LIMIT %(limit)s"
MEMBERS_OF = "SELECT key, member, score FROM prism.zset_members WHERE namespace = %(ns)s AND key = ANY(%(keys)s::bytea[])"

Conn: TypeAlias = "psycopg.AsyncConnection[Any]"


async def _fetchall(conn: Conn, statement: Any, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    return await (await conn.execute(statement, params)).fetchall()


def _scored(rows: list[tuple[Any, ...]]) -> Scored:
    return [(bytes(m), float(s)) for m, s in rows]


def _score_condition(bound: ScoreBound, lower: bool, param: str) -> str:
    exclusive = bound[1]
    op = (">" if exclusive else ">=") if lower else ("<" if exclusive else "<=")
    return f"score {op} %({param})s::float8"


def _lex_condition(bound: bytes, lower: bool, param: str) -> str:
    """ "-" and "+" are the ends: below everything and above everything."""
    if bound in (b"-", b"+"):
        return "true" if (bound == b"-") == lower else "false"
    inclusive = bound[:1] == b"["
    op = (">=" if inclusive else ">") if lower else ("<=" if inclusive else "<")
    return f"member {op} %({param})s::bytea"


class PostgresSortedSets:
    def __init__(self, conn: PostgresConnection):
        self.conn = conn

    async def _rows(self, statement: str, ns: str, key: str, **params: Any) -> list[tuple[Any, ...]]:
        return await self.conn.run(_fetchall, statement, {"ns": utf8(ns), "k": utf8(key), **params})

    # sortedset_basic
    async def add(self, ns: str, key: str, members: list[tuple[bytes, float]]) -> int:
        scores = dict((bytes(m), float(s)) for m, s in members)  # a member given twice takes its last score
        ordered = sorted(scores)  # one lock order for concurrent Adds
        rows = await self._rows(ADD, ns, key, members=ordered, scores=[scores[m] for m in ordered])
        return sum(1 for (inserted,) in rows if inserted)

    async def remove(self, ns: str, key: str, members: list[bytes]) -> int:
        return len(await self._rows(REMOVE, ns, key, members=sorted({bytes(m) for m in members})))

    async def score(self, ns: str, key: str, member: bytes) -> float | None:
        rows = await self._rows(SCORE, ns, key, member=bytes(member))
        return float(rows[0][0]) if rows else None

    # sortedset_range
    async def range(self, ns: str, key: str, start: int, stop: int, reverse: bool) -> Scored:
        return _scored(await self._rows(RANGE[reverse], ns, key, **ranks.ends(start, stop)))

    async def range_by_score(self, ns: str, key: str, low: ScoreBound, high: ScoreBound, offset: int, limit: int, reverse: bool) -> Scored:
        statement = WINDOWED.format(low=_score_condition(low, True, "lo"), high=_score_condition(high, False, "hi"), order=ORDER[reverse])
        rows = await self._rows(statement, ns, key, lo=low[0], hi=high[0], offset=offset, limit=limit or None)
        return _scored(rows)

    # sortedset_rank
    async def rank(self, ns: str, key: str, member: bytes, reverse: bool) -> int | None:
        rows = await self._rows(RANK[reverse], ns, key, member=bytes(member))
        return int(rows[0][0]) if rows else None

    # sortedset_operations
    async def combine(self, ns: str, keys: list[str], weights: list[float], aggregate: str, intersect: bool) -> Scored:
        names = [utf8(k) for k in keys]
        rows = await self.conn.run(_fetchall, MEMBERS_OF, {"ns": utf8(ns), "keys": sorted(set(names))})
        held: dict[bytes, dict[bytes, float]] = {name: {} for name in names}
        for name, member, score in rows:
            held[bytes(name)][bytes(member)] = float(score)
        return combine_scores([held[name] for name in names], weights, aggregate, intersect)

    # sortedset_lex
    async def range_by_lex(self, ns: str, key: str, low: bytes, high: bytes, offset: int, limit: int, reverse: bool) -> Scored:
        statement = WINDOWED.format(low=_lex_condition(low, True, "lo"), high=_lex_condition(high, False, "hi"), order=ORDER[reverse])
        rows = await self._rows(statement, ns, key, lo=low[1:], hi=high[1:], offset=offset, limit=limit or None)
        return _scored(rows)
