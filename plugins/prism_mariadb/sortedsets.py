"""Sorted sets as rows of prism_zset_members, one per (namespace, key, member). MariaDB's DOUBLE
holds no infinity (nor NaN, which the SDK refuses), and the contract's scores include +-inf, so a
score is kept as a BIGINT order key: the IEEE-754 bits of the double (-0.0 read as 0.0), the
negative ones flipped so that integer order is numeric order, +-inf included (`order_key`,
`score_of`). The order is (score, member): members are LONGBLOB, compared byte by byte, so ties
order by member bytes and lexicographic ranges are byte ranges with no collation (no LIKE). As
for sets, the primary key holds sha256(member), since an InnoDB key holds at most 3072 bytes.

A read of several statements (a count and the rows) is one REPEATABLE READ transaction, one
snapshot; a write is one transaction. Union and Intersection read the keys' members in one
statement and combine them with the SDK's arithmetic (combine_scores).
"""

from __future__ import annotations

import struct
from typing import Any

from prism_mariadb import ranks
from prism_mariadb.connection import MariaDBConnection, Schema, Session
from prism_mariadb.keyvalue import placeholders, utf8
from prism_mariadb.sets import BATCH, digest, name_of
from prism_plugin.contracts.sortedset.operations import combine_scores
from prism_plugin.contracts.sortedset.range import ScoreBound

TABLES = Schema(
    ddl="""
CREATE TABLE IF NOT EXISTS prism_zset_members (
  namespace VARBINARY(1024) NOT NULL,
  `key` VARBINARY(1024) NOT NULL,
  member_hash BINARY(32) NOT NULL,
  member LONGBLOB NOT NULL,
  score BIGINT NOT NULL,
  PRIMARY KEY (namespace, `key`, member_hash),
  KEY prism_zset_order (namespace, `key`, score)
) ENGINE=InnoDB
""",
    tables=("prism_zset_members",),
)

Scored = list[tuple[bytes, float]]
INT64_MAX = 2**63 - 1
LOW_BITS = 2**63 - 1
KEY = "namespace = %(ns)s AND `key` = %(k)s"
# A sort by a BLOB compares its first max_sort_length bytes (1024 by default): members sharing
# a longer prefix would order arbitrarily. 64 KiB is what a 2 MiB sort buffer takes (MariaDB
# refuses a sort whose buffer holds too few keys of that length, 256 KiB already).
SORTED = "SET STATEMENT max_sort_length = 65536 FOR "
ORDER = {False: "ORDER BY score, member", True: "ORDER BY score DESC, member DESC"}

INSERT_NEW = "INSERT IGNORE INTO prism_zset_members (namespace, `key`, member_hash, member, score) VALUES {rows}"
UPSERT = (
    "INSERT INTO prism_zset_members (namespace, `key`, member_hash, member, score) VALUES {rows}"
    " ON DUPLICATE KEY UPDATE score = VALUES(score)"
)
REMOVE = "DELETE FROM prism_zset_members WHERE namespace = %s AND `key` = %s AND member_hash IN {hashes}"
SCORE = f"SELECT score FROM prism_zset_members WHERE {KEY} AND member_hash = %(h)s"
SIZE = f"SELECT COUNT(*) FROM prism_zset_members WHERE {KEY}"
RANGE = {r: f"{SORTED}SELECT member, score FROM prism_zset_members WHERE {KEY} {ORDER[r]} LIMIT %(lo)s, %(take)s" for r in (False, True)}
# Members before (after, reverse) the member in the order: its rank.
RANK = {
    reverse: f"""
SELECT (SELECT COUNT(*) FROM prism_zset_members o WHERE o.namespace = m.namespace AND o.`key` = m.`key`
        AND (o.score {op} m.score OR (o.score = m.score AND o.member {op} m.member)))
FROM prism_zset_members m WHERE m.namespace = %(ns)s AND m.`key` = %(k)s AND m.member_hash = %(h)s
"""
    for reverse, op in ((False, "<"), (True, ">"))
}
WINDOWED = (
    f"{SORTED}SELECT member, score FROM prism_zset_members WHERE {KEY} AND {{low}} AND {{high}} {{order}}" " LIMIT %(offset)s, %(limit)s"
)
MEMBERS_OF = "SELECT `key`, member, score FROM prism_zset_members WHERE namespace = %s AND `key` IN {keys}"


def order_key(score: float) -> int:
    """A signed 64-bit integer whose order is the scores' numeric order (+-inf at the ends)."""
    bits = struct.unpack(">q", struct.pack(">d", score + 0.0))[0]  # + 0.0: -0.0 is 0.0
    return bits if bits >= 0 else bits ^ LOW_BITS


def score_of(key: int) -> float:
    bits = key if key >= 0 else key ^ LOW_BITS
    return float(struct.unpack(">d", struct.pack(">q", bits))[0])


def _scored(rows: list[tuple[Any, ...]]) -> Scored:
    return [(bytes(m), score_of(int(s))) for m, s in rows]


def _score_condition(bound: ScoreBound, lower: bool) -> str:
    exclusive = bound[1]
    op = (">" if exclusive else ">=") if lower else ("<" if exclusive else "<=")
    return f"score {op} %({'lo' if lower else 'hi'})s"


def _lex_condition(bound: bytes, lower: bool) -> str:
    """ "-" and "+" are the ends: below everything and above everything."""
    if bound in (b"-", b"+"):
        return "TRUE" if (bound == b"-") == lower else "FALSE"
    inclusive = bound[:1] == b"["
    op = (">=" if inclusive else ">") if lower else ("<=" if inclusive else "<")
    return f"member {op} %({'lo' if lower else 'hi'})s"


async def _add(s: Session, ns: bytes, k: bytes, rows: list[tuple[bytes, bytes, int]]) -> int:
    added = 0
    for i in range(0, len(rows), BATCH):
        part = rows[i : i + BATCH]
        values = ", ".join(["(%s, %s, %s, %s, %s)"] * len(part))
        args = [x for h, m, score in part for x in (ns, k, h, m, score)]
        added += await s.execute(INSERT_NEW.format(rows=values), args)
        await s.execute(UPSERT.format(rows=values), args)
    return added


async def _range(s: Session, p: dict[str, Any], start: int, stop: int, reverse: bool) -> Scored:
    n = int((await s.fetchone(SIZE, p) or (0,))[0])
    lo, take = ranks.window(start, stop, n)
    if not take:
        return []
    return _scored(await s.fetchall(RANGE[reverse], {**p, "lo": lo, "take": take}))


class MariaDBSortedSets:
    def __init__(self, conn: MariaDBConnection):
        self.conn = conn

    @staticmethod
    def _params(ns: str, key: str, **more: Any) -> dict[str, Any]:
        return {"ns": utf8(ns), "k": name_of(key), **more}

    async def _rows(self, statement: str, p: dict[str, Any]) -> list[tuple[Any, ...]]:
        return await self.conn.run(lambda s: s.fetchall(statement, p))

    # sortedset_basic
    async def add(self, ns: str, key: str, members: list[tuple[bytes, float]]) -> int:
        scores = dict((bytes(m), float(s)) for m, s in members)  # a member given twice takes its last score
        rows = sorted((digest(m), m, order_key(s)) for m, s in scores.items())  # one lock order
        p = self._params(ns, key)
        return await self.conn.run(lambda s: s.transaction(lambda t: _add(t, p["ns"], p["k"], rows)))

    async def remove(self, ns: str, key: str, members: list[bytes]) -> int:
        hashes = sorted({digest(bytes(m)) for m in members})
        p = self._params(ns, key)

        async def simple(s: Session) -> int:
            removed = 0
            for i in range(0, len(hashes), BATCH):
                part = hashes[i : i + BATCH]
                removed += await s.execute(REMOVE.format(hashes=placeholders(len(part))), [p["ns"], p["k"], *part])
            return removed

        if len(hashes) <= BATCH:
            return await self.conn.run(simple)
        return await self.conn.run(lambda s: s.transaction(simple))

    async def score(self, ns: str, key: str, member: bytes) -> float | None:
        rows = await self._rows(SCORE, self._params(ns, key, h=digest(bytes(member))))
        return score_of(int(rows[0][0])) if rows else None

    # sortedset_range
    async def range(self, ns: str, key: str, start: int, stop: int, reverse: bool) -> Scored:
        p = self._params(ns, key)
        return await self.conn.run(lambda s: s.transaction(lambda t: _range(t, p, start, stop, reverse), level="REPEATABLE READ"))

    async def range_by_score(self, ns: str, key: str, low: ScoreBound, high: ScoreBound, offset: int, limit: int, reverse: bool) -> Scored:
        statement = WINDOWED.format(low=_score_condition(low, True), high=_score_condition(high, False), order=ORDER[reverse])
        p = self._params(ns, key, lo=order_key(low[0]), hi=order_key(high[0]), offset=offset, limit=min(limit, INT64_MAX) or INT64_MAX)
        return _scored(await self._rows(statement, p))

    # sortedset_rank
    async def rank(self, ns: str, key: str, member: bytes, reverse: bool) -> int | None:
        rows = await self._rows(RANK[reverse], self._params(ns, key, h=digest(bytes(member))))
        return int(rows[0][0]) if rows else None

    # sortedset_operations
    async def combine(self, ns: str, keys: list[str], weights: list[float], aggregate: str, intersect: bool) -> Scored:
        names = [name_of(k) for k in keys]
        distinct = sorted(set(names))
        sql = MEMBERS_OF.format(keys=placeholders(len(distinct)))
        rows = await self.conn.run(lambda s: s.fetchall(sql, [utf8(ns), *distinct]))
        held: dict[bytes, dict[bytes, float]] = {name: {} for name in names}
        for name, member, score in rows:
            held[bytes(name)][bytes(member)] = score_of(int(score))
        return combine_scores([held[name] for name in names], weights, aggregate, intersect)

    # sortedset_lex
    async def range_by_lex(self, ns: str, key: str, low: bytes, high: bytes, offset: int, limit: int, reverse: bool) -> Scored:
        statement = WINDOWED.format(low=_lex_condition(low, True), high=_lex_condition(high, False), order=ORDER[reverse])
        p = self._params(ns, key, lo=low[1:], hi=high[1:], offset=offset, limit=min(limit, INT64_MAX) or INT64_MAX)
        return _scored(await self._rows(statement, p))
