"""The Redis plugin's connection: two clients (one for blocking pops, whose waits must not hold
up other calls), each call bounded by a socket timeout."""

from __future__ import annotations

from typing import Any, AsyncIterator

import redis.asyncio as aioredis
import redis.exceptions

from prism_plugin.status import failed_precondition, invalid, unavailable
from prism_plugin.urls import redact_text, redacted, refusal
from prism_redis import keys as rk

SCAN_PAGE = 1000
SOCKET_TIMEOUT_S = 5.0
CONNECT_TIMEOUT_S = 2.0


class RedisConnection:
    def __init__(self) -> None:
        self._client: aioredis.Redis | None = None
        self._blocking: aioredis.Redis | None = None

    @property
    def client(self) -> aioredis.Redis:
        if self._client is None:
            raise failed_precondition("plugin not initialized: call PluginLifecycle.Initialize")
        return self._client

    @property
    def blocking(self) -> aioredis.Redis:
        if self._blocking is None:
            raise failed_precondition("plugin not initialized: call PluginLifecycle.Initialize")
        return self._blocking

    async def connect(self, settings: dict[str, str]) -> str:
        await self.close()  # a second Initialize replaces the first one's pools
        url = settings["url"]
        shown = redacted(url)
        why = refusal(url)
        if why is not None:
            raise invalid(f"bad Redis URL: {why}")
        try:
            client = aioredis.Redis.from_url(url, socket_timeout=SOCKET_TIMEOUT_S, socket_connect_timeout=CONNECT_TIMEOUT_S)
            blocking = aioredis.Redis.from_url(url, socket_timeout=None, socket_connect_timeout=CONNECT_TIMEOUT_S)
        except ValueError as e:
            raise invalid(f"bad Redis URL {shown}: {redact_text(str(e))}") from None
        try:
            info = await client.info("server")
            await blocking.ping()
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError) as e:
            await _close(client, blocking)
            raise unavailable(f"cannot reach Redis at {shown}: {type(e).__name__}: {redact_text(str(e))[:200]}") from e
        except redis.exceptions.ResponseError as e:
            await _close(client, blocking)
            raise invalid(f"Redis at {shown} answered INFO or PING with an error: {redact_text(str(e))[:200]}") from None
        except redis.exceptions.RedisError as e:
            await _close(client, blocking)
            raise unavailable(f"{shown} does not answer as a Redis server: {type(e).__name__}") from e
        self._client, self._blocking = client, blocking
        return server_identity(info)

    async def indexed(self, ns: str, prefix: bytes) -> AsyncIterator[list[bytes]]:
        """Pages of the keys of a namespace's index that start with `prefix` (full Redis keys),
        in byte order; a key may have expired or been emptied since it was indexed."""
        low, high = rk.lex_range(prefix)
        while True:
            page = await self.client.zrangebylex(rk.index(ns), low, high, start=0, num=SCAN_PAGE)
            if page:
                yield page
            if len(page) < SCAN_PAGE:
                return
            low = b"(" + page[-1]

    async def write(self, ns: str, key: bytes, *command: Any) -> Any:
        """Run a command that may create `key`, and index the key, in one MULTI: every key the
        plugin creates is in its namespace's index (keys.py)."""
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.execute_command(*command)
            pipe.zadd(rk.index(ns), {key: 0})
            result, _ = await pipe.execute()
        return result

    async def delete(self, ns: str, *keys: bytes) -> int:
        """DEL the keys and take them out of the namespace's index, in one MULTI; how many existed."""
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.delete(*keys)
            pipe.zrem(rk.index(ns), *keys)
            deleted, _ = await pipe.execute()
        return deleted

    async def drop_namespace(self, namespace: str) -> None:
        """Every key the namespace's index names, then the index: O(namespace)."""
        async for page in self.indexed(namespace, rk.namespace_prefix(namespace)):
            await self.client.unlink(*page)
            await self.client.zrem(rk.index(namespace), *page)
        await self.client.unlink(rk.index(namespace))

    async def healthy(self) -> bool:
        """Redis answers a PING (redis-py opens a lost connection again by itself)."""
        if self._client is None:
            return False
        try:
            return bool(await self._client.ping())
        except (redis.exceptions.RedisError, OSError):
            return False

    async def close(self) -> None:
        client, blocking, self._client, self._blocking = self._client, self._blocking, None, None
        await _close(client, blocking)


def server_identity(info: dict[str, Any]) -> str:
    """The product and version the server states in INFO server: a fork names itself in
    `server_name` (Valkey: "valkey") with its own version field (`valkey_version`), and keeps
    `redis_version` for compatibility only, so it is never reported as Redis."""
    name = str(info.get("server_name") or "").strip().lower()
    if not name:
        name = next((k[: -len("_version")] for k in ("dragonfly_version", "keydb_version") if k in info), "redis")
    version = info.get(f"{name}_version") or info.get("redis_version", "?")
    compatible = f" (compatible with redis {info['redis_version']})" if name != "redis" and "redis_version" in info else ""
    return f"{name} {version}{compatible}"


async def _close(*clients: aioredis.Redis | None) -> None:
    for c in clients:
        if c is not None:
            try:
                await c.aclose()
            except (redis.exceptions.RedisError, OSError):
                pass
