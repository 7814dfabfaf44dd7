"""The Redis plugin's pub/sub: PUBLISH, SUBSCRIBE and PSUBSCRIBE on channels named like keys
(keys.py, model "pubsub"), so namespaces never hear each other.

Each subscription holds its own connection (of the blocking client: no socket timeout while it
waits for messages) and sends ready after Redis confirmed the (P)SUBSCRIBE. A canonical pattern
becomes a Redis glob with every literal glob character escaped; a glob '*' also matches dots, so
each pattern message is checked again with the canonical matcher. Unsubscribe sends
(P)UNSUBSCRIBE on the subscription's connection and returns once Redis confirmed it; the stream
then ends and the connection is closed, as it is when the client cancels.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from dataclasses import dataclass, field
from typing import AsyncIterator

from redis.asyncio.client import PubSub

from prism_plugin.contracts.pubsub.basic import Event, Published, Ready
from prism_plugin.contracts.pubsub.wildcards import ONE, REST, matches
from prism_plugin.status import unavailable
from prism_redis import keys as rk
from prism_redis.connection import RedisConnection

MODEL = "pubsub"
CONFIRM_S = 5.0  # Redis confirms a (P)SUBSCRIBE or (P)UNSUBSCRIBE within this
_GLOB_SPECIAL = re.compile(rb"([*?\[\]\\])")


def glob_literal(raw: bytes) -> bytes:
    return _GLOB_SPECIAL.sub(rb"\\\1", raw)


def glob(ns: str, segments: tuple[str, ...]) -> bytes:
    """A Redis glob matching at least every channel of a topic the pattern matches."""
    parts = [b"*" if s in (ONE, REST) else glob_literal(s.encode()) for s in segments]
    return glob_literal(rk.model_prefix(ns, MODEL)) + b".".join(parts)


@dataclass
class _Live:
    pubsub: PubSub
    pattern: bool
    stopping: bool = False
    ended: asyncio.Future[None] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


class RedisPubSub:
    def __init__(self, conn: RedisConnection) -> None:
        self.conn = conn
        self._live: dict[tuple[str, str], _Live] = {}

    async def publish(self, ns: str, topic: str, payload: bytes) -> str:
        await self.conn.client.publish(rk.key(ns, MODEL, topic), payload)
        return ""

    def subscribe(self, ns: str, topic: str) -> AsyncIterator[Event]:
        return self._subscription(ns, rk.key(ns, MODEL, topic), None)

    def subscribe_pattern(self, ns: str, segments: tuple[str, ...]) -> AsyncIterator[Event]:
        return self._subscription(ns, glob(ns, segments), segments)

    async def unsubscribe(self, ns: str, subscription_id: str) -> bool:
        live = self._live.pop((ns, subscription_id), None)
        if live is None:
            return False
        live.stopping = True
        await (live.pubsub.punsubscribe() if live.pattern else live.pubsub.unsubscribe())
        try:
            await asyncio.wait_for(asyncio.shield(live.ended), CONFIRM_S)
        except asyncio.TimeoutError:
            raise unavailable(f"Redis did not confirm the unsubscribe within {CONFIRM_S} s") from None
        return True

    async def _subscription(self, ns: str, channel: bytes, segments: tuple[str, ...] | None) -> AsyncIterator[Event]:
        prefix = len(rk.model_prefix(ns, MODEL))
        live = _Live(self.conn.blocking.pubsub(), segments is not None)
        subscription_id = uuid.uuid4().hex
        try:
            await (live.pubsub.psubscribe(channel) if live.pattern else live.pubsub.subscribe(channel))
            confirmed = await live.pubsub.get_message(timeout=CONFIRM_S)
            if confirmed is None or confirmed["type"] not in ("subscribe", "psubscribe"):
                raise unavailable(f"Redis did not confirm the subscription within {CONFIRM_S} s")
            self._live[(ns, subscription_id)] = live
            yield Ready(subscription_id)
            while True:
                message = await live.pubsub.get_message(timeout=None)
                if message is None:
                    continue
                kind = message["type"]
                if kind in ("unsubscribe", "punsubscribe"):
                    return
                if kind not in ("message", "pmessage") or live.stopping:
                    continue
                topic = message["channel"][prefix:].decode("utf-8", "surrogatepass")
                if segments is None or matches(segments, topic):
                    yield Published(topic, message["data"])
        finally:
            self._live.pop((ns, subscription_id), None)
            if not live.ended.done():
                live.ended.set_result(None)
            await asyncio.shield(live.pubsub.aclose())
