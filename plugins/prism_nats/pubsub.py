"""The NATS plugin's pub/sub on core NATS subjects: a topic is the subject
prism.ps.<namespace>.<segment>..., each segment a token of names.py, so namespaces never hear
each other and `.`, `*`, `>` or spaces in a topic are literal. A canonical pattern maps one to
one onto NATS's own wildcards (`*` one token, `>` the rest), over the same tokens.

Ready is sent once the server has the subscription (after a flush: the server answers a PING
only after it processed the SUB before it). Unsubscribe sends UNSUB and ends the stream.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from typing import AsyncIterator

from nats.aio.msg import Msg

from prism_nats import names
from prism_nats.connection import REQUEST_TIMEOUT_S, NatsConnection
from prism_plugin.contracts.pubsub.basic import Event, Published, Ready
from prism_plugin.contracts.pubsub.wildcards import ONE, REST

KIND = "ps"


def pattern_subject(ns: str, segments: tuple[str, ...]) -> str:
    tokens = [s if s in (ONE, REST) else names.token(s) for s in segments]
    return ".".join([names.subject_prefix(KIND, ns), *tokens])


def topic_of(ns: str, subject: str) -> str:
    prefix = names.subject_prefix(KIND, ns) + "."
    return ".".join(names.decode_token(t) for t in subject[len(prefix) :].split("."))


@dataclass
class _Live:
    inbox: asyncio.Queue[Msg | None] = field(default_factory=asyncio.Queue)


class NatsPubSub:
    def __init__(self, conn: NatsConnection) -> None:
        self.conn = conn
        self._live: dict[tuple[str, str], _Live] = {}

    async def publish(self, ns: str, topic: str, payload: bytes) -> str:
        await self.conn.nc.publish(names.subject(KIND, ns, topic), payload)
        # Published means handed to the server: a flush, so a later error is not lost silently.
        await self.conn.nc.flush(timeout=REQUEST_TIMEOUT_S)
        return ""

    def subscribe(self, ns: str, topic: str) -> AsyncIterator[Event]:
        return self._subscription(ns, names.subject(KIND, ns, topic))

    def subscribe_pattern(self, ns: str, segments: tuple[str, ...]) -> AsyncIterator[Event]:
        return self._subscription(ns, pattern_subject(ns, segments))

    async def unsubscribe(self, ns: str, subscription_id: str) -> bool:
        live = self._live.pop((ns, subscription_id), None)
        if live is None:
            return False
        live.inbox.put_nowait(None)
        return True

    async def _subscription(self, ns: str, subject: str) -> AsyncIterator[Event]:
        live = _Live()

        async def received(msg: Msg) -> None:
            live.inbox.put_nowait(msg)

        sub = await self.conn.nc.subscribe(subject, cb=received)
        subscription_id = uuid.uuid4().hex
        try:
            await self.conn.nc.flush(timeout=REQUEST_TIMEOUT_S)
            self._live[(ns, subscription_id)] = live
            yield Ready(subscription_id)
            while (msg := await live.inbox.get()) is not None:
                yield Published(topic_of(ns, msg.subject), msg.data)
        finally:
            self._live.pop((ns, subscription_id), None)
            await asyncio.shield(_unsubscribe(sub))


async def _unsubscribe(sub) -> None:
    try:
        await sub.unsubscribe()
    except Exception:  # noqa: BLE001 - the connection may be closed already; nothing is left to release
        pass
