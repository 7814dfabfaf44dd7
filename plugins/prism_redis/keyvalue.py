"""Redis keyvalue: Redis strings under namespaced keys, each also in its namespace's index
(keys.py). Multi-key conditions (commit, compare-and-swap) run as Lua scripts, which Redis
executes atomically; plain writes and their index update go in one MULTI."""

from __future__ import annotations

from typing import AsyncIterator

from prism_redis import keys as rk
from prism_redis.connection import RedisConnection

KV = "kv"

# KEYS: expected keys, then written keys, then the index. ARGV[1]: number of expected keys; then
# per expected key a flag ('1' present / '0' absent) and its value; then per written key 's'/'d'
# and a value.
COMMIT_LUA = """
local idx = KEYS[#KEYS]
local n = tonumber(ARGV[1])
local a = 2
for i = 1, n do
  local cur = redis.call('GET', KEYS[i])
  if ARGV[a] == '0' then
    if cur then return 0 end
  elseif (not cur) or cur ~= ARGV[a + 1] then
    return 0
  end
  a = a + 2
end
for i = n + 1, #KEYS - 1 do
  if ARGV[a] == 's' then
    redis.call('SET', KEYS[i], ARGV[a + 1])
    redis.call('ZADD', idx, 0, KEYS[i])
  else
    redis.call('DEL', KEYS[i])
    redis.call('ZREM', idx, KEYS[i])
  end
  a = a + 2
end
return 1
"""

# KEYS[1], the index; ARGV: '1' compare with ARGV[2] / '0' only if absent; ARGV[3] the new value.
CAS_LUA = """
local cur = redis.call('GET', KEYS[1])
if ARGV[1] == '0' then
  if cur then return {0, cur} end
elseif (not cur) or cur ~= ARGV[2] then
  if cur then return {0, cur} end
  return {0}
end
redis.call('SET', KEYS[1], ARGV[3])
redis.call('ZADD', KEYS[2], 0, KEYS[1])
return {1, ARGV[3]}
"""

CAD_LUA = """
local cur = redis.call('GET', KEYS[1])
if cur and cur == ARGV[1] then
  redis.call('DEL', KEYS[1])
  redis.call('ZREM', KEYS[2], KEYS[1])
  return {1}
end
if cur then return {0, cur} end
return {0}
"""


# KEYS[1] the index, then keys it named that a read found missing (expired): drop those still
# missing now (a key written again meanwhile stays indexed).
FORGET_LUA = """
local removed = 0
for i = 2, #KEYS do
  if redis.call('EXISTS', KEYS[i]) == 0 then removed = removed + redis.call('ZREM', KEYS[1], KEYS[i]) end
end
return removed
"""


class RedisKeyValue:
    def __init__(self, conn: RedisConnection):
        self.conn = conn

    def _key(self, ns: str, key: str) -> bytes:
        return rk.key(ns, KV, key)

    async def _script(self, source: str, keys: list[bytes], args: list) -> object:
        """EVALSHA with a fallback to EVAL (redis-py's Script does both)."""
        return await self.conn.client.register_script(source)(keys=keys, args=args)

    # keyvalue_basic
    async def set(self, ns: str, key: str, value: bytes) -> None:
        k = self._key(ns, key)
        await self.conn.write(ns, k, "SET", k, value)

    async def get(self, ns: str, key: str) -> bytes | None:
        return await self.conn.client.get(self._key(ns, key))

    async def delete(self, ns: str, key: str) -> bool:
        return bool(await self.conn.delete(ns, self._key(ns, key)))

    async def exists(self, ns: str, key: str) -> bool:
        return bool(await self.conn.client.exists(self._key(ns, key)))

    # keyvalue_scan: ranges of the namespace's index, never a SCAN of the database
    async def scan(self, ns: str, prefix: str, limit: int, with_values: bool) -> AsyncIterator[tuple[str, bytes | None]]:
        strip = len(rk.model_prefix(ns, KV))
        sent = 0
        async for page in self.conn.indexed(ns, self._key(ns, prefix)):
            if with_values:
                values = await self.conn.client.mget(page)
            else:
                async with self.conn.client.pipeline(transaction=False) as pipe:
                    for k in page:
                        pipe.exists(k)
                    values = [b"" if found else None for found in await pipe.execute()]
            gone = [k for k, v in zip(page, values) if v is None]
            if gone:
                await self._script(FORGET_LUA, [rk.index(ns), *gone], [])
            for k, v in zip(page, values):
                if v is None:
                    continue
                yield k[strip:].decode(), v if with_values else None
                sent += 1
                if limit and sent >= limit:
                    return

    async def count(self, ns: str, prefix: str) -> int:
        total = 0
        async for page in self.conn.indexed(ns, self._key(ns, prefix)):
            total += await self.conn.client.exists(*page)
        return total

    # keyvalue_ttl
    async def set_with_ttl(self, ns: str, key: str, value: bytes, ttl_ms: int) -> None:
        k = self._key(ns, key)
        await self.conn.write(ns, k, "SET", k, value, "PX", ttl_ms)

    async def expire(self, ns: str, key: str, ttl_ms: int) -> bool:
        return bool(await self.conn.client.pexpire(self._key(ns, key), ttl_ms))

    async def remaining_ttl(self, ns: str, key: str) -> int | None:
        ttl = await self.conn.client.pttl(self._key(ns, key))
        if ttl == -2:
            return None
        return -1 if ttl == -1 else ttl

    async def persist(self, ns: str, key: str) -> bool:
        return bool(await self.conn.client.persist(self._key(ns, key)))

    # keyvalue_transactional, through OptimisticTransactions
    async def commit_if_unchanged(self, ns: str, expected: dict[str, bytes | None], writes: dict[str, bytes | None]) -> bool:
        keys = [self._key(ns, k) for k in expected] + [self._key(ns, k) for k in writes] + [rk.index(ns)]
        args: list[bytes | str | int] = [len(expected)]
        for value in expected.values():
            args += ["0", b""] if value is None else ["1", value]
        for value in writes.values():
            args += ["d", b""] if value is None else ["s", value]
        return bool(await self._script(COMMIT_LUA, keys, args))

    # keyvalue_batch
    async def batch_set(self, ns: str, entries: dict[str, bytes]) -> None:
        mapping = {self._key(ns, k): v for k, v in entries.items()}
        async with self.conn.client.pipeline(transaction=True) as pipe:
            pipe.mset(mapping)
            pipe.zadd(rk.index(ns), dict.fromkeys(mapping, 0))
            await pipe.execute()

    async def batch_get(self, ns: str, keys: list[str]) -> list[bytes | None]:
        return await self.conn.client.mget([self._key(ns, k) for k in keys])

    async def batch_delete(self, ns: str, keys: list[str]) -> int:
        return await self.conn.delete(ns, *[self._key(ns, k) for k in keys])

    # keyvalue_cas
    async def compare_and_swap(self, ns: str, key: str, expected: bytes | None, new: bytes) -> tuple[bool, bytes | None]:
        args = ["0", b"", new] if expected is None else ["1", expected, new]
        result = await self._script(CAS_LUA, [self._key(ns, key), rk.index(ns)], args)
        assert isinstance(result, list)
        return bool(result[0]), (result[1] if len(result) > 1 else None)

    async def compare_and_delete(self, ns: str, key: str, expected: bytes) -> tuple[bool, bytes | None]:
        result = await self._script(CAD_LUA, [self._key(ns, key), rk.index(ns)], [expected])
        assert isinstance(result, list)
        return bool(result[0]), (result[1] if len(result) > 1 else None)
