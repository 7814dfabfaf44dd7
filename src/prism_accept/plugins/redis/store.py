"""RedisStore: keyvalue as Redis strings, lists as Redis lists, under namespaced keys.

Multi-key conditions (transaction commit, compare-and-swap) run as Lua scripts, which Redis
executes atomically. Every call has a socket timeout; blocking pops use their own client whose
wait is bounded by the request's timeout.
"""

from __future__ import annotations

import asyncio
from typing import AsyncIterator

import grpc
import redis.asyncio as aioredis
import redis.exceptions

from prism_accept.plugins.redis import keys as rk
from prism_accept.plugins.status import StatusError

KV, LIST = "kv", "list"
SCAN_PAGE = 1000
SOCKET_TIMEOUT_S = 5.0

# KEYS: expected keys, then written keys. ARGV[1]: number of expected keys; then per expected
# key a flag ('1' present / '0' absent) and its value; then per written key 's'/'d' and a value.
COMMIT_LUA = """
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
for i = n + 1, #KEYS do
  if ARGV[a] == 's' then redis.call('SET', KEYS[i], ARGV[a + 1]) else redis.call('DEL', KEYS[i]) end
  a = a + 2
end
return 1
"""

# KEYS[1]; ARGV: '1' compare with ARGV[2] / '0' only if absent; ARGV[3] the new value.
CAS_LUA = """
local cur = redis.call('GET', KEYS[1])
if ARGV[1] == '0' then
  if cur then return {0, cur} end
elseif (not cur) or cur ~= ARGV[2] then
  if cur then return {0, cur} end
  return {0}
end
redis.call('SET', KEYS[1], ARGV[3])
return {1, ARGV[3]}
"""

CAD_LUA = """
local cur = redis.call('GET', KEYS[1])
if cur and cur == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return {1}
end
if cur then return {0, cur} end
return {0}
"""


class RedisStore:
    def __init__(self) -> None:
        self._client: aioredis.Redis | None = None
        self._blocking: aioredis.Redis | None = None

    @property
    def client(self) -> aioredis.Redis:
        if self._client is None:
            raise StatusError(grpc.StatusCode.FAILED_PRECONDITION, "plugin not initialized: call PluginLifecycle.Initialize")
        return self._client

    # lifecycle
    async def connect(self, settings: dict[str, str]) -> str:
        url = settings["url"]
        try:
            self._client = aioredis.Redis.from_url(url, socket_timeout=SOCKET_TIMEOUT_S, socket_connect_timeout=2.0)
            self._blocking = aioredis.Redis.from_url(url, socket_timeout=None, socket_connect_timeout=2.0)
            info = await self._client.info("server")
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError) as e:
            raise StatusError(grpc.StatusCode.UNAVAILABLE, f"cannot reach Redis at {url}: {e}") from e
        except ValueError as e:
            raise StatusError(grpc.StatusCode.INVALID_ARGUMENT, f"bad Redis URL {url!r}: {e}") from e
        self._commit = self._client.register_script(COMMIT_LUA)
        self._cas = self._client.register_script(CAS_LUA)
        self._cad = self._client.register_script(CAD_LUA)
        return f"redis {info.get('redis_version', '?')}"

    async def drop_namespace(self, namespace: str) -> None:
        batch = []
        async for k in self.client.scan_iter(match=rk.match_prefix(rk.namespace_prefix(namespace)), count=SCAN_PAGE):
            batch.append(k)
            if len(batch) >= SCAN_PAGE:
                await self.client.unlink(*batch)
                batch = []
        if batch:
            await self.client.unlink(*batch)

    async def close(self) -> None:
        for c in (self._client, self._blocking):
            if c is not None:
                await c.aclose()

    # keyvalue
    async def kv_set(self, ns, key, value, ttl_ms=None):
        await self.client.set(rk.key(ns, KV, key), value, px=ttl_ms)

    async def kv_get(self, ns, key):
        return await self.client.get(rk.key(ns, KV, key))

    async def kv_delete(self, ns, key):
        return bool(await self.client.delete(rk.key(ns, KV, key)))

    async def kv_exists(self, ns, key):
        return bool(await self.client.exists(rk.key(ns, KV, key)))

    async def _scan_keys(self, ns: str, prefix: str) -> AsyncIterator[bytes]:
        """Each matching Redis key once (SCAN may repeat keys)."""
        seen: set[bytes] = set()
        match = rk.match_prefix(rk.key(ns, KV, prefix))
        async for k in self.client.scan_iter(match=match, count=SCAN_PAGE):
            if k not in seen:
                seen.add(k)
                yield k

    async def kv_scan(self, ns, prefix, limit, with_values):
        strip = len(rk.model_prefix(ns, KV))
        page: list[bytes] = []
        sent = 0

        async def flush():
            values = await self.client.mget(page) if with_values else [b""] * len(page)
            return [(k[strip:].decode(), v) for k, v in zip(page, values) if v is not None]

        async for k in self._scan_keys(ns, prefix):
            page.append(k)
            if len(page) >= SCAN_PAGE:
                for key, value in await flush():
                    yield key, value if with_values else None
                    sent += 1
                    if limit and sent >= limit:
                        return
                page = []
        if page:
            for key, value in await flush():
                yield key, value if with_values else None
                sent += 1
                if limit and sent >= limit:
                    return

    async def kv_count(self, ns, prefix):
        return sum([1 async for _ in self._scan_keys(ns, prefix)])

    async def kv_expire(self, ns, key, ttl_ms):
        return bool(await self.client.pexpire(rk.key(ns, KV, key), ttl_ms))

    async def kv_ttl(self, ns, key):
        ttl = await self.client.pttl(rk.key(ns, KV, key))
        if ttl == -2:
            return None
        return -1 if ttl == -1 else ttl

    async def kv_persist(self, ns, key):
        return bool(await self.client.persist(rk.key(ns, KV, key)))

    async def kv_commit(self, ns, expected, writes):
        keys = [rk.key(ns, KV, k) for k in expected] + [rk.key(ns, KV, k) for k in writes]
        args: list[bytes | str | int] = [len(expected)]
        for value in expected.values():
            args += ["0", b""] if value is None else ["1", value]
        for value in writes.values():
            args += ["d", b""] if value is None else ["s", value]
        return bool(await self._commit(keys=keys, args=args))

    async def kv_batch_set(self, ns, entries):
        await self.client.mset({rk.key(ns, KV, k): v for k, v in entries.items()})

    async def kv_batch_get(self, ns, keys):
        return await self.client.mget([rk.key(ns, KV, k) for k in keys])

    async def kv_batch_delete(self, ns, keys):
        return await self.client.delete(*[rk.key(ns, KV, k) for k in keys])

    async def kv_compare_and_swap(self, ns, key, expected, new):
        args = ["0", b"", new] if expected is None else ["1", expected, new]
        result = await self._cas(keys=[rk.key(ns, KV, key)], args=args)
        return bool(result[0]), (result[1] if len(result) > 1 else None)

    async def kv_compare_and_delete(self, ns, key, expected):
        result = await self._cad(keys=[rk.key(ns, KV, key)], args=[expected])
        return bool(result[0]), (result[1] if len(result) > 1 else None)

    # list
    async def list_push(self, ns, key, values, left):
        push = self.client.lpush if left else self.client.rpush
        return await push(rk.key(ns, LIST, key), *values)

    async def list_pop(self, ns, key, count, left):
        pop = self.client.lpop if left else self.client.rpop
        return await pop(rk.key(ns, LIST, key), count) or []

    async def list_length(self, ns, key):
        return await self.client.llen(rk.key(ns, LIST, key))

    async def list_index(self, ns, key, index):
        return await self.client.lindex(rk.key(ns, LIST, key), index)

    async def list_set(self, ns, key, index, value):
        try:
            await self.client.lset(rk.key(ns, LIST, key), index, value)
        except redis.exceptions.ResponseError as e:
            if "index out of range" in str(e) or "no such key" in str(e):
                return False
            raise
        return True

    async def list_insert(self, ns, key, before, pivot, value):
        length = await self.client.linsert(rk.key(ns, LIST, key), "BEFORE" if before else "AFTER", pivot, value)
        return None if length <= 0 else length

    async def list_remove(self, ns, key, value, count):
        return await self.client.lrem(rk.key(ns, LIST, key), count, value)

    async def list_range(self, ns, key, start, stop):
        return await self.client.lrange(rk.key(ns, LIST, key), start, stop)

    async def list_trim(self, ns, key, start, stop):
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.ltrim(rk.key(ns, LIST, key), start, stop)
            pipe.llen(rk.key(ns, LIST, key))
            _, length = await pipe.execute()
        return length

    async def list_blocking_pop(self, ns, keys, timeout_s, left):
        assert self._blocking is not None
        names = [rk.key(ns, LIST, k) for k in keys]
        pop = self._blocking.blpop if left else self._blocking.brpop
        # BLPOP's 0 means "forever": never send it. Redis takes fractional seconds.
        timeout = max(timeout_s, 0.01)
        got = await asyncio.wait_for(pop(names, timeout=timeout), timeout + SOCKET_TIMEOUT_S)
        if got is None:
            return None
        strip = len(rk.model_prefix(ns, LIST))
        return got[0][strip:].decode(), got[1]
