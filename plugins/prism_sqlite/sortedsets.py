"""Sorted sets as rows of zset_members, one per (namespace, key, member) with a REAL score
(+-Infinity included; the SDK refuses NaN, which SQLite would store as NULL). The order is
(score, member): BLOBs compare with memcmp, so ties order by member bytes, and lexicographic
ranges are byte ranges with no collation (no LIKE anywhere).

Every write is one IMMEDIATE transaction on the plugin's writer connection; a read of several
statements (a count and the rows, a score and its rank) is one deferred transaction, one
snapshot. Union and Intersection read the keys' members in one statement and combine them with
the SDK's arithmetic (combine_scores).
"""

from __future__ import annotations

import sqlite3
from typing import Any

from prism_plugin.contracts.sortedset.operations import combine_scores
from prism_plugin.contracts.sortedset.range import ScoreBound
from prism_sqlite import ranks
from prism_sqlite.connection import Schema, SqliteConnection, utf8

TABLES = Schema(
    ddl="""
CREATE TABLE IF NOT EXISTS zset_members (
  namespace BLOB NOT NULL,
  key BLOB NOT NULL,
  member BLOB NOT NULL,
  score REAL NOT NULL,
  PRIMARY KEY (namespace, key, member)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS zset_members_order ON zset_members (namespace, key, score, member)
""",
    drop=("DELETE FROM zset_members WHERE namespace = ?1",),
)

Scored = list[tuple[bytes, float]]
INT64_MAX = 2**63 - 1
KEY = "namespace = :ns AND key = :k"
ORDER = {False: "ORDER BY score, member", True: "ORDER BY score DESC, member DESC"}

UPDATE = f"UPDATE zset_members SET score = :s WHERE {KEY} AND member = :m"
INSERT = "INSERT INTO zset_members (namespace, key, member, score) VALUES (:ns, :k, :m, :s)"
REMOVE = f"DELETE FROM zset_members WHERE {KEY} AND member = :m"
SCORE = f"SELECT score FROM zset_members WHERE {KEY} AND member = :m"
SIZE = f"SELECT count(*) FROM zset_members WHERE {KEY}"
RANGE = {r: f"SELECT member, score FROM zset_members WHERE {KEY} {ORDER[r]} LIMIT :take OFFSET :lo" for r in (False, True)}
# Members before (after, reverse) the member in the order: its rank.
BEFORE = {
    False: f"SELECT count(*) FROM zset_members WHERE {KEY} AND (score < :s OR (score = :s AND member < :m))",
    True: f"SELECT count(*) FROM zset_members WHERE {KEY} AND (score > :s OR (score = :s AND member > :m))",
}
# LIMIT -1 is no limit.
WINDOWED = f"SELECT member, score FROM zset_members WHERE {KEY} AND {{low}} AND {{high}} {{order}} LIMIT :limit OFFSET :offset"


def _score_condition(bound: ScoreBound, lower: bool) -> str:
    exclusive = bound[1]
    op = (">" if exclusive else ">=") if lower else ("<" if exclusive else "<=")
    return f"score {op} {':lo' if lower else ':hi'}"


def _lex_condition(bound: bytes, lower: bool) -> str:
    """ "-" and "+" are the ends: below everything and above everything."""
    if bound in (b"-", b"+"):
        return "1" if (bound == b"-") == lower else "0"
    inclusive = bound[:1] == b"["
    op = (">=" if inclusive else ">") if lower else ("<=" if inclusive else "<")
    return f"member {op} {':lo' if lower else ':hi'}"


def _scored(rows: list[tuple[Any, ...]]) -> Scored:
    return [(bytes(m), float(s)) for m, s in rows]


def _add(conn: sqlite3.Connection, p: dict[str, Any], scores: dict[bytes, float]) -> int:
    added = 0
    for m in sorted(scores):
        q = {**p, "m": m, "s": scores[m]}
        if conn.execute(UPDATE, q).rowcount == 0:
            conn.execute(INSERT, q)
            added += 1
    return added


def _remove(conn: sqlite3.Connection, p: dict[str, Any], members: list[bytes]) -> int:
    return sum(conn.execute(REMOVE, {**p, "m": m}).rowcount for m in members)


def _range(conn: sqlite3.Connection, p: dict[str, Any], start: int, stop: int, reverse: bool) -> Scored:
    lo, take = ranks.window(start, stop, int(conn.execute(SIZE, p).fetchone()[0]))
    if not take:
        return []
    return _scored(conn.execute(RANGE[reverse], {**p, "lo": lo, "take": take}).fetchall())


def _rank(conn: sqlite3.Connection, p: dict[str, Any], reverse: bool) -> int | None:
    row = conn.execute(SCORE, p).fetchone()
    if row is None:
        return None
    return int(conn.execute(BEFORE[reverse], {**p, "s": row[0]}).fetchone()[0])


def _rows(conn: sqlite3.Connection, statement: str, p: dict[str, Any]) -> list[tuple[Any, ...]]:
    return conn.execute(statement, p).fetchall()


class SqliteSortedSets:
    def __init__(self, conn: SqliteConnection):
        self.conn = conn

    @staticmethod
    def _params(ns: str, key: str, **more: Any) -> dict[str, Any]:
        return {"ns": utf8(ns), "k": utf8(key), **more}

    async def _windowed(self, low: str, high: str, ns: str, key: str, offset: int, limit: int, reverse: bool, **bounds: Any) -> Scored:
        statement = WINDOWED.format(low=low, high=high, order=ORDER[reverse])
        p = self._params(ns, key, offset=min(offset, INT64_MAX), limit=min(limit, INT64_MAX) or -1, **bounds)
        return _scored(await self.conn.run(_rows, statement, p, transaction=""))

    # sortedset_basic
    async def add(self, ns: str, key: str, members: list[tuple[bytes, float]]) -> int:
        scores = dict((bytes(m), float(s)) for m, s in members)  # a member given twice takes its last score
        return await self.conn.run(_add, self._params(ns, key), scores)

    async def remove(self, ns: str, key: str, members: list[bytes]) -> int:
        return await self.conn.run(_remove, self._params(ns, key), sorted({bytes(m) for m in members}))

    async def score(self, ns: str, key: str, member: bytes) -> float | None:
        rows = await self.conn.run(_rows, SCORE, self._params(ns, key, m=bytes(member)), transaction="")
        return float(rows[0][0]) if rows else None

    # sortedset_range
    async def range(self, ns: str, key: str, start: int, stop: int, reverse: bool) -> Scored:
        return await self.conn.run(_range, self._params(ns, key), start, stop, reverse, transaction="BEGIN")

    async def range_by_score(self, ns: str, key: str, low: ScoreBound, high: ScoreBound, offset: int, limit: int, reverse: bool) -> Scored:
        conditions = _score_condition(low, True), _score_condition(high, False)
        return await self._windowed(*conditions, ns, key, offset, limit, reverse, lo=float(low[0]), hi=float(high[0]))

    # sortedset_rank
    async def rank(self, ns: str, key: str, member: bytes, reverse: bool) -> int | None:
        return await self.conn.run(_rank, self._params(ns, key, m=bytes(member)), reverse, transaction="BEGIN")

    # sortedset_operations
    async def combine(self, ns: str, keys: list[str], weights: list[float], aggregate: str, intersect: bool) -> Scored:
        names = [utf8(k) for k in keys]
        distinct = list(dict.fromkeys(names))
        placeholders = ", ".join(f"?{i + 2}" for i in range(len(distinct)))
        statement = f"SELECT key, member, score FROM zset_members WHERE namespace = ?1 AND key IN ({placeholders})"

        def work(conn: sqlite3.Connection) -> list[tuple[Any, ...]]:
            return conn.execute(statement, (utf8(ns), *distinct)).fetchall()

        held: dict[bytes, dict[bytes, float]] = {name: {} for name in distinct}
        for name, member, score in await self.conn.run(work, transaction=""):
            held[bytes(name)][bytes(member)] = float(score)
        return combine_scores([held[name] for name in names], weights, aggregate, intersect)

    # sortedset_lex
    async def range_by_lex(self, ns: str, key: str, low: bytes, high: bytes, offset: int, limit: int, reverse: bool) -> Scored:
        conditions = _lex_condition(low, True), _lex_condition(high, False)
        return await self._windowed(*conditions, ns, key, offset, limit, reverse, lo=bytes(low[1:]), hi=bytes(high[1:]))
