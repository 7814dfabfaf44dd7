"""The NATS plugin's pub/sub on core NATS subjects: a topic is the subject
prism.ps.<namespace>.<segment>..., each segment a token of names.py, so namespaces never hear
each other and `.`, `*`, `>` or spaces in a topic are literal. A canonical pattern maps one to
one onto NATS's own wildcards (`*` one token, `>` the rest), over the same tokens.

Ready is sent once the server has the subscription (after a round trip: the server answers a
request only after it processed the SUB before it). Unsubscribe sends UNSUB and ends the stream.

Persistent messages go to a JetStream stream per (namespace, topic), on subject
prism.pp.<namespace>.<topic> (so plain publishes are never kept), then to the topic's core
subject for the live subscribers; a message id is the JetStream sequence. A durable name is a
durable consumer of that stream used as a bookmark: its description holds the sequence the name
has acked through (at creation: the stream's last sequence, so a new name starts at the end). A
durable session reads from the bookmark through an ephemeral pull consumer, waiting for new
messages, so a session that comes back gets, in order, everything after its last ack (acks are
cumulative, as AckDurable's contract says), whatever the previous session had been sent.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from dataclasses import dataclass, field
from typing import Any, AsyncIterator

import nats.errors
import nats.js.errors
from nats.aio.msg import Msg
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, DiscardPolicy, StorageType, StreamConfig

from prism_nats import names
from prism_nats.connection import NatsConnection
from prism_plugin.contracts.pubsub.basic import Event, Published, Ready
from prism_plugin.contracts.pubsub.wildcards import ONE, REST

KIND = "ps"
PERSISTENT = "pp"
TOPIC_MAX_BYTES = 64 * 1024 * 1024
READER_IDLE_S = 5.0  # the server removes a session's reader the plugin could not delete after this
SESSION_POLL_S = 1.0  # a durable session's pull request lasts this long; then it pulls again
MESSAGE_ID = re.compile(r"[1-9][0-9]{0,19}")


def pattern_subject(ns: str, segments: tuple[str, ...]) -> str:
    tokens = [s if s in (ONE, REST) else names.token(s) for s in segments]
    return ".".join([names.subject_prefix(KIND, ns), *tokens])


def topic_of(ns: str, subject: str) -> str:
    prefix = names.subject_prefix(KIND, ns) + "."
    return ".".join(names.decode_token(t) for t in subject[len(prefix) :].split("."))


@dataclass
class _Live:
    inbox: asyncio.Queue[Published | None] = field(default_factory=asyncio.Queue)


class NatsPubSub:
    def __init__(self, conn: NatsConnection) -> None:
        self.conn = conn
        self._live: dict[tuple[str, str], _Live] = {}

    async def publish(self, ns: str, topic: str, payload: bytes) -> str:
        await self.conn.nc.publish(names.subject(KIND, ns, topic), payload)
        # Published means the server has it: a round trip, so a later error is not lost silently.
        await self.conn.round_trip()
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
            live.inbox.put_nowait(Published(topic_of(ns, msg.subject), msg.data))

        sub = await self.conn.nc.subscribe(subject, cb=received)
        subscription_id = uuid.uuid4().hex
        try:
            await self.conn.round_trip()  # the subscription is on the server before Ready
            self._live[(ns, subscription_id)] = live
            yield Ready(subscription_id)
            while (message := await live.inbox.get()) is not None:
                yield message
        finally:
            self._live.pop((ns, subscription_id), None)
            await asyncio.shield(_unsubscribe(sub))

    # -- pubsub_persistent -------------------------------------------------------------------

    @staticmethod
    def stream_name(ns: str, topic: str) -> str:
        return names.resource(PERSISTENT, ns, topic)

    @staticmethod
    def stream_subject(ns: str, topic: str) -> str:
        return f"{names.subject_prefix(PERSISTENT, ns)}.{names.encode(topic)}"

    @staticmethod
    def bookmark(durable_name: str) -> str:
        return "d-" + names.encode(durable_name)

    async def _ensure_topic(self, ns: str, topic: str) -> str:
        name = self.stream_name(ns, topic)
        await self.conn.ensure_stream(
            StreamConfig(
                name=name,
                subjects=[self.stream_subject(ns, topic)],
                storage=StorageType.FILE,
                max_bytes=TOPIC_MAX_BYTES,
                discard=DiscardPolicy.NEW,
                num_replicas=1,
            )
        )
        return name

    async def _last_seq(self, ns: str, topic: str) -> int:
        try:
            state = (await self.conn.js.stream_info(self.stream_name(ns, topic))).state
        except nats.js.errors.NotFoundError:
            return 0
        return state.last_seq if state.messages else 0

    async def publish_persistent(self, ns: str, topic: str, payload: bytes) -> str:
        name = await self._ensure_topic(ns, topic)
        try:
            ack = await self.conn.js.publish(self.stream_subject(ns, topic), payload)
        except nats.js.errors.NoStreamResponseError:
            self.conn.forget_stream(name)
            await self._ensure_topic(ns, topic)
            ack = await self.conn.js.publish(self.stream_subject(ns, topic), payload)
        await self.publish(ns, topic, payload)
        return str(ack.seq)

    async def _position(self, ns: str, topic: str, durable_name: str) -> int:
        """The sequence the durable name acked through; a new name's bookmark is made at the end."""
        name = self.stream_name(ns, topic)
        try:
            return int((await self.conn.js.consumer_info(name, self.bookmark(durable_name))).config.description or 0)
        except nats.js.errors.NotFoundError:
            pass
        position = (await self.conn.js.stream_info(name)).state.last_seq
        await self._set_position(ns, topic, durable_name, position)
        return position

    async def _set_position(self, ns: str, topic: str, durable_name: str, position: int) -> None:
        config = ConsumerConfig(
            durable_name=self.bookmark(durable_name),
            description=str(position),
            deliver_policy=DeliverPolicy.NEW,
            ack_policy=AckPolicy.NONE,
            filter_subject=self.stream_subject(ns, topic),
            num_replicas=1,
        )
        await self.conn.js.add_consumer(self.stream_name(ns, topic), config)

    def subscribe_durable(self, ns: str, topic: str, durable_name: str) -> AsyncIterator[Event]:
        return self._durable_session(ns, topic, durable_name)

    async def _durable_session(self, ns: str, topic: str, durable_name: str) -> AsyncIterator[Event]:
        name = await self._ensure_topic(ns, topic)
        position = await self._position(ns, topic, durable_name)
        config = ConsumerConfig(
            deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
            opt_start_seq=position + 1,
            ack_policy=AckPolicy.NONE,
            mem_storage=True,
            inactive_threshold=READER_IDLE_S,
            num_replicas=1,
        )
        reader = await self.conn.js.pull_subscribe(self.stream_subject(ns, topic), stream=name, config=config)
        live = _Live()
        subscription_id = uuid.uuid4().hex
        pump = asyncio.ensure_future(self._pump(ns, topic, reader, live))
        try:
            self._live[(ns, subscription_id)] = live
            yield Ready(subscription_id)
            while (message := await live.inbox.get()) is not None:
                yield message
        finally:
            self._live.pop((ns, subscription_id), None)
            pump.cancel()
            await asyncio.shield(self._close_reader(name, reader))

    async def _pump(self, ns: str, topic: str, reader: Any, live: _Live) -> None:
        try:
            while True:
                try:
                    msgs = await reader.fetch(64, timeout=SESSION_POLL_S)
                except asyncio.TimeoutError:  # nats-py's, and asyncio's from a batch fetch ending near its expiry
                    continue
                for msg in msgs:
                    live.inbox.put_nowait(Published(topic, msg.data, str(msg.metadata.sequence.stream)))
        except (nats.errors.Error, nats.js.errors.Error):
            live.inbox.put_nowait(None)  # the connection is gone: end the session

    async def _close_reader(self, name: str, reader: Any) -> None:
        try:
            await reader.unsubscribe()
            await self.conn.js.delete_consumer(name, reader._consumer)
        except (nats.errors.Error, nats.js.errors.Error):
            pass  # the server removes it once idle

    async def ack_durable(self, ns: str, topic: str, durable_name: str, message_id: str) -> bool:
        if not MESSAGE_ID.fullmatch(message_id) or int(message_id) > await self._last_seq(ns, topic):
            return False
        position = await self._position(ns, topic, durable_name)
        if int(message_id) > position:
            await self._set_position(ns, topic, durable_name, int(message_id))
        return True

    async def last_message_id(self, ns: str, topic: str) -> str | None:
        last = await self._last_seq(ns, topic)
        return str(last) if last else None


async def _unsubscribe(sub) -> None:
    try:
        await sub.unsubscribe()
    except Exception:  # noqa: BLE001 - the connection may be closed already; nothing is left to release
        pass
