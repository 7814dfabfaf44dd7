"""Redis sets under namespaced keys, with Redis's own set commands."""

from __future__ import annotations

from prism_redis import keys as rk
from prism_redis.connection import RedisConnection

SET = "set"


class RedisSets:
    def __init__(self, conn: RedisConnection):
        self.conn = conn

    def _key(self, ns: str, name: str) -> bytes:
        return rk.key(ns, SET, name)

    def _keys(self, ns: str, names: list[str]) -> list[bytes]:
        return [self._key(ns, n) for n in names]

    # set_basic
    async def add(self, ns: str, name: str, members: list[bytes]) -> int:
        key = self._key(ns, name)
        return await self.conn.write(ns, key, "SADD", key, *members)

    async def remove(self, ns: str, name: str, members: list[bytes]) -> int:
        return await self.conn.client.srem(self._key(ns, name), *members)

    async def contains(self, ns: str, name: str, member: bytes) -> bool:
        return bool(await self.conn.client.sismember(self._key(ns, name), member))

    async def members(self, ns: str, name: str) -> list[bytes]:
        return list(await self.conn.client.smembers(self._key(ns, name)))

    # set_operations
    async def union(self, ns: str, names: list[str]) -> list[bytes]:
        return list(await self.conn.client.sunion(self._keys(ns, names)))

    async def intersection(self, ns: str, names: list[str]) -> list[bytes]:
        return list(await self.conn.client.sinter(self._keys(ns, names)))

    async def difference(self, ns: str, names: list[str]) -> list[bytes]:
        return list(await self.conn.client.sdiff(self._keys(ns, names)))

    # set_cardinality
    async def size(self, ns: str, name: str) -> int:
        return await self.conn.client.scard(self._key(ns, name))

    async def are_members(self, ns: str, name: str, members: list[bytes]) -> list[bool]:
        return [bool(a) for a in await self.conn.client.smismember(self._key(ns, name), members)]

    # set_random
    async def random_members(self, ns: str, name: str, count: int) -> list[bytes]:
        return list(await self.conn.client.srandmember(self._key(ns, name), count) or [])

    async def pop_random_members(self, ns: str, name: str, count: int) -> list[bytes]:
        return list(await self.conn.client.spop(self._key(ns, name), count) or [])
