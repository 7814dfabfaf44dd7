"""Redis sorted sets under namespaced keys: ZADD, ZREM, ZSCORE, ZRANGE (BYSCORE/BYLEX/REV/
LIMIT), ZRANK/ZREVRANK, ZUNION/ZINTER (Redis >= 6.2) with WEIGHTS and AGGREGATE."""

from __future__ import annotations

import math
from typing import Any

from prism_plugin.contracts.sortedset.operations import combine_scores
from prism_redis import keys as rk
from prism_redis.connection import RedisConnection

ZSET = "zset"
Scored = list[tuple[bytes, float]]

# ZRANGE BYLEX refuses WITHSCORES: range and scores in one script, so both see the same state.
# KEYS[1]; ARGV: the ZRANGE arguments after the key. Returns [member, score, ...].
LEX_WITH_SCORES_LUA = """
local members = redis.call('ZRANGE', KEYS[1], unpack(ARGV))
local out = {}
for i = 1, #members do
  out[2 * i - 1] = members[i]
  out[2 * i] = redis.call('ZSCORE', KEYS[1], members[i])
end
return out
"""

# Every key's members and scores in one script, so the keys are read as one state.
# KEYS: the sorted sets. Returns one [member, score, ...] list per key.
SNAPSHOT_LUA = """
local out = {}
for i = 1, #KEYS do
  out[i] = redis.call('ZRANGE', KEYS[i], 0, -1, 'WITHSCORES')
end
return out
"""


def _nan_prone(weights: list[float]) -> bool:
    """A weight 0 or +-inf can make weight * score NaN (0 * inf), which ZINTER turns into 0 only
    for the key it visits first (Redis 7.0): for any other key it merges the NaN, so MIN/MAX
    drop that term and SUM zeroes the total."""
    return any(w == 0 or math.isinf(w) for w in weights)


def _number(value: float) -> str:
    """A score as Redis parses it: "inf", "-inf", or the shortest repr."""
    return repr(float(value))


def _score_bound(bound: tuple[float, bool]) -> str:
    value, exclusive = bound
    return ("(" if exclusive else "") + _number(value)


def _limit(offset: int, limit: int) -> list[Any]:
    if not offset and not limit:
        return []
    return ["LIMIT", offset, limit or -1]


def _pairs(reply: Any) -> Scored:
    """WITHSCORES replies: pairs already, or a flat [member, score, ...] list."""
    items = list(reply or [])
    if items and isinstance(items[0], (list, tuple)):
        return [(bytes(m), float(s)) for m, s in items]
    return [(bytes(items[i]), float(items[i + 1])) for i in range(0, len(items), 2)]


class RedisSortedSets:
    def __init__(self, conn: RedisConnection):
        self.conn = conn

    def _key(self, ns: str, key: str) -> bytes:
        return rk.key(ns, ZSET, key)

    async def _zrange(self, *args: Any) -> Scored:
        return _pairs(await self.conn.client.execute_command("ZRANGE", *args, "WITHSCORES"))

    # sortedset_basic
    async def add(self, ns: str, key: str, members: list[tuple[bytes, float]]) -> int:
        mapping = dict(members)  # a member given twice takes its last score, as ZADD does
        args = [a for member, score in mapping.items() for a in (_number(score), member)]
        name = self._key(ns, key)
        return await self.conn.write(ns, name, "ZADD", name, *args)

    async def remove(self, ns: str, key: str, members: list[bytes]) -> int:
        return await self.conn.client.zrem(self._key(ns, key), *members)

    async def score(self, ns: str, key: str, member: bytes) -> float | None:
        return await self.conn.client.zscore(self._key(ns, key), member)

    # sortedset_range
    async def range(self, ns: str, key: str, start: int, stop: int, reverse: bool) -> Scored:
        return await self._zrange(self._key(ns, key), start, stop, *(["REV"] if reverse else []))

    async def range_by_score(
        self, ns: str, key: str, low: tuple[float, bool], high: tuple[float, bool], offset: int, limit: int, reverse: bool
    ) -> Scored:
        ends = [_score_bound(high), _score_bound(low), "BYSCORE", "REV"] if reverse else [_score_bound(low), _score_bound(high), "BYSCORE"]
        return await self._zrange(self._key(ns, key), *ends, *_limit(offset, limit))

    # sortedset_rank
    async def rank(self, ns: str, key: str, member: bytes, reverse: bool) -> int | None:
        rank = self.conn.client.zrevrank if reverse else self.conn.client.zrank
        return await rank(self._key(ns, key), member)

    # sortedset_operations
    async def combine(self, ns: str, keys: list[str], weights: list[float], aggregate: str, intersect: bool) -> Scored:
        names = [self._key(ns, k) for k in keys]
        if intersect and _nan_prone(weights):
            held = await self.conn.client.register_script(SNAPSHOT_LUA)(keys=names)
            return combine_scores([dict(_pairs(scores)) for scores in held], weights, aggregate, intersect)
        reply = await self.conn.client.execute_command(
            "ZINTER" if intersect else "ZUNION",
            len(names),
            *names,
            "WEIGHTS",
            *(_number(w) for w in weights),
            "AGGREGATE",
            aggregate,
            "WITHSCORES",
        )
        return _pairs(reply)

    # sortedset_lex
    async def range_by_lex(self, ns: str, key: str, low: bytes, high: bytes, offset: int, limit: int, reverse: bool) -> Scored:
        ends = [high, low, "BYLEX", "REV"] if reverse else [low, high, "BYLEX"]
        script = self.conn.client.register_script(LEX_WITH_SCORES_LUA)
        return _pairs(await script(keys=[self._key(ns, key)], args=[*ends, *_limit(offset, limit)]))
