"""Redis lists under namespaced keys; blocking pops on their own client, bounded by the
request's timeout."""

from __future__ import annotations

import asyncio

import redis.exceptions

from prism_redis import keys as rk
from prism_redis.connection import SOCKET_TIMEOUT_S, RedisConnection

LIST = "list"


INT64_MAX = 2**63 - 1


def lrem_count(count: int) -> int:
    """LREM's count inside the range every server documents: Redis from 8.0 and Valkey 8 refuse
    INT64_MIN (its negation overflows; redis/redis#12465), and any count beyond a list's length
    removes the same as -INT64_MAX (from the tail, every occurrence)."""
    return max(count, -INT64_MAX)


class RedisLists:
    def __init__(self, conn: RedisConnection):
        self.conn = conn

    def _key(self, ns: str, key: str) -> bytes:
        return rk.key(ns, LIST, key)

    # list_basic
    async def push(self, ns: str, key: str, values: list[bytes], left: bool) -> int:
        k = self._key(ns, key)
        return await self.conn.write(ns, k, "LPUSH" if left else "RPUSH", k, *values)

    async def pop(self, ns: str, key: str, count: int, left: bool) -> list[bytes]:
        pop = self.conn.client.lpop if left else self.conn.client.rpop
        return await pop(self._key(ns, key), count) or []

    async def length(self, ns: str, key: str) -> int:
        return await self.conn.client.llen(self._key(ns, key))

    # list_indexing
    async def index(self, ns: str, key: str, index: int) -> bytes | None:
        return await self.conn.client.lindex(self._key(ns, key), index)

    async def set_index(self, ns: str, key: str, index: int, value: bytes) -> bool:
        try:
            await self.conn.client.lset(self._key(ns, key), index, value)
        except redis.exceptions.ResponseError as e:
            if "index out of range" in str(e) or "no such key" in str(e):
                return False
            raise
        return True

    async def insert(self, ns: str, key: str, before: bool, pivot: bytes, value: bytes) -> tuple[bool, int]:
        length = await self.conn.client.linsert(self._key(ns, key), "BEFORE" if before else "AFTER", pivot, value)
        if length <= 0:
            return False, await self.length(ns, key)
        return True, length

    async def remove(self, ns: str, key: str, value: bytes, count: int) -> int:
        return await self.conn.client.lrem(self._key(ns, key), lrem_count(count), value)

    # list_range
    async def range(self, ns: str, key: str, start: int, stop: int) -> list[bytes]:
        return await self.conn.client.lrange(self._key(ns, key), start, stop)

    async def trim(self, ns: str, key: str, start: int, stop: int) -> int:
        async with self.conn.client.pipeline(transaction=True) as pipe:
            pipe.ltrim(self._key(ns, key), start, stop)
            pipe.llen(self._key(ns, key))
            _, length = await pipe.execute()
        return length

    # list_blocking
    async def blocking_pop(self, ns: str, keys: list[str], timeout_s: float, left: bool) -> tuple[str, bytes] | None:
        if timeout_s <= 0:
            return None
        names = [self._key(ns, k) for k in keys]
        pop = self.conn.blocking.blpop if left else self.conn.blocking.brpop
        # BLPOP's 0 means "forever": never send it. Redis takes fractional seconds.
        timeout = max(timeout_s, 0.01)
        got = await asyncio.wait_for(pop(names, timeout=timeout), timeout + SOCKET_TIMEOUT_S)
        if got is None:
            return None
        strip = len(rk.model_prefix(ns, LIST))
        return got[0][strip:].decode(), got[1]
