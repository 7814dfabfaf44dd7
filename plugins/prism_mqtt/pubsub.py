"""The MQTT plugin's pub/sub (topics.py gives the topic layout).

Live subscriptions (Subscribe, SubscribePattern): one clean MQTT client each, subscribed at
QoS 1; ready is sent after the SUBACK. Every publish goes through the connection's one
publishing client at QoS 1 and returns after the PUBACK, so one publisher's messages reach a
subscriber in publish order. The ordering key and publish time travel as MQTT 5 user properties.
Unsubscribe disconnects the subscription's client; its stream then ends with OK.

Persistent messages (PublishPersistent) go to a separate topic tree. Their ids count the topic's
persistent messages from 1; this plugin process assigns them, holding the last one per topic
once read, and records it (GetLastMessageID) as a retained message before publishing.
A durable subscription is an MQTT session the broker keeps (fixed client id from namespace,
topic and durable name, clean start off) subscribed at QoS 1, so what is published while it is
away waits in the broker. The broker holds at most max_inflight_messages (Mosquitto: 20)
unacknowledged messages per client and sends no more until they are PUBACKed, while AckDurable
may come much later: so each message is first kept as a retained message of the session's
backlog, then PUBACKed (a message the broker sends again after a crash in between is
recognised by its id). A resumed session delivers its backlog after the acknowledged position,
then what the broker sends. The acknowledged position is a retained record per session;
AckDurable moves it and clears the backlog up to it; DropNamespace finds the records, deletes
the sessions and clears every retained message of the namespace.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field
from typing import AsyncIterator
from urllib.parse import quote, unquote

import aiomqtt

# paho-mqtt is aiomqtt's own dependency (in the lockfile through it), not a requirement of its own.
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from prism_mqtt import topics
from prism_mqtt.connection import CALL_TIMEOUT_S, MqttConnection, bounded, close, properties
from prism_plugin.contracts.pubsub.basic import Event, Published, Ready
from prism_plugin.contracts.pubsub.wildcards import matches
from prism_plugin.status import unavailable

MESSAGE_ID = "prism-id"
ORDERING_KEY = "prism-ordering-key"
PUBLISH_TIME = "prism-time-ms"


@dataclass
class _Live:
    """A subscription's client while its stream runs."""

    client: aiomqtt.Client
    stopping: bool = False
    ended: asyncio.Event = field(default_factory=asyncio.Event)

    async def stop(self) -> None:
        """End the stream: disconnect its client, then wait for the stream to finish."""
        self.stopping = True
        await close(self.client)
        try:
            await asyncio.wait_for(self.ended.wait(), CALL_TIMEOUT_S)
        except asyncio.TimeoutError:
            raise unavailable(f"the subscription did not end within {CALL_TIMEOUT_S} s") from None


def _user_properties(message: aiomqtt.Message) -> dict[str, str]:
    props = message.properties
    return dict(getattr(props, "UserProperty", None) or []) if props is not None else {}


def _publish_properties(**values: str) -> Properties:
    return properties(PacketTypes.PUBLISH, UserProperty=[(k, v) for k, v in values.items()])


def _now_ms() -> str:
    return str(int(time.time() * 1000))


def _sequence(message_id: str) -> int | None:
    return int(message_id) if message_id.isascii() and message_id.isdigit() and len(message_id) < 19 else None


class MqttPubSub:
    def __init__(self, conn: MqttConnection) -> None:
        self.conn = conn
        conn.droppers.append(self.drop)
        self._live: dict[tuple[str, str], _Live] = {}  # (ns, subscription id)
        self._durable: dict[tuple[str, str], _Live] = {}  # (ns, client id)
        self._last: dict[tuple[str, str], int] = {}  # (ns, topic) -> last persistent seq
        self._acked: dict[tuple[str, str], int] = {}  # (ns, client id) -> acked seq
        self._kept: dict[tuple[str, str], set[int]] = {}  # (ns, client id) -> seqs in its backlog
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}

    # pubsub_basic, pubsub_ordering

    async def publish(self, ns: str, topic: str, payload: bytes) -> str:
        return await self.publish_ordered(ns, topic, payload, "")

    async def publish_ordered(self, ns: str, topic: str, payload: bytes, ordering_key: str) -> str:
        # percent-encoded: a broker disconnects a client whose UTF-8 string holds a control or
        # non-character code point (MQTT 5, 1.5.4), and an ordering key may hold any
        props = _publish_properties(**{PUBLISH_TIME: _now_ms(), ORDERING_KEY: quote(ordering_key, safe="")})
        await self.conn.publish(topics.topic(ns, topics.LIVE, topic), payload, props)
        return ""

    def subscribe(self, ns: str, topic: str) -> AsyncIterator[Event]:
        return self._subscription(ns, topics.topic(ns, topics.LIVE, topic), None)

    async def unsubscribe(self, ns: str, subscription_id: str) -> bool:
        live = self._live.get((ns, subscription_id))
        if live is None or live.stopping:
            return False
        await live.stop()
        return True

    # pubsub_wildcards

    def subscribe_pattern(self, ns: str, segments: tuple[str, ...]) -> AsyncIterator[Event]:
        return self._subscription(ns, topics.pattern(ns, segments), segments)

    async def _subscription(self, ns: str, filter_: str, segments: tuple[str, ...] | None) -> AsyncIterator[Event]:
        subscription_id = uuid.uuid4().hex
        live = _Live(self.conn.client())
        await bounded(self.conn.open(live.client, filter_))
        try:
            self._live[(ns, subscription_id)] = live
            yield Ready(subscription_id)
            async for message in self._messages(live):
                name = topics.name_of(ns, topics.LIVE, message.topic.value)
                if segments is not None and not matches(segments, name):
                    continue
                props = _user_properties(message)
                yield Published(
                    name,
                    _payload(message),
                    ordering_key=unquote(props.get(ORDERING_KEY, "")),
                    publish_time_ms=int(props.get(PUBLISH_TIME, "0")),
                )
        finally:
            self._live.pop((ns, subscription_id), None)
            live.ended.set()
            await close(live.client)

    async def _messages(self, live: _Live) -> AsyncIterator[aiomqtt.Message]:
        """The client's messages until stop() disconnects it (then nothing more, even if
        some were already received); a disconnect nobody asked for is UNAVAILABLE."""
        try:
            async for message in live.client.messages:
                if live.stopping:
                    return
                yield message
        except aiomqtt.MqttError as e:
            if not live.stopping:
                raise unavailable(f"the MQTT broker closed the subscription: {str(e)[:200]}") from e

    # pubsub_persistent

    def _lock(self, ns: str, topic: str) -> asyncio.Lock:
        return self._locks.setdefault((ns, topic), asyncio.Lock())

    async def _last_seq(self, ns: str, topic: str) -> int:
        """The topic's last persistent message id (0: none): this process's, else the
        retained message's."""
        key = (ns, topic)
        if key not in self._last:
            retained = await self.conn.retained(topics.last(ns, topic))
            seq = _sequence(_payload(retained[0]).decode("ascii", "replace")) if retained else None
            self._last.setdefault(key, seq or 0)
        return self._last[key]

    async def publish_persistent(self, ns: str, topic: str, payload: bytes) -> str:
        return await bounded(self._publish_persistent(ns, topic, payload))

    async def _publish_persistent(self, ns: str, topic: str, payload: bytes) -> str:
        async with self._lock(ns, topic):  # ids in publish order
            data = topics.topic(ns, topics.PERSISTENT, topic)
            seq = await self._last_seq(ns, topic) + 1
            # Recorded first: a publish that fails after it leaves a gap, never a reused id.
            await self.conn.publish(topics.last(ns, topic), str(seq).encode(), retain=True)
            self._last[(ns, topic)] = seq
            props = _publish_properties(**{MESSAGE_ID: str(seq), PUBLISH_TIME: _now_ms()})
            await self.conn.publish(data, payload, props)
        return str(seq)

    async def last_message_id(self, ns: str, topic: str) -> str | None:
        seq = await bounded(self._last_seq(ns, topic))
        return str(seq) if seq else None

    async def _acked_seq(self, ns: str, client_id: str) -> int | None:
        """The durable session's acknowledged position; None: no session record."""
        key = (ns, client_id)
        if key not in self._acked:
            retained = await self.conn.retained(topics.session(ns, client_id))
            if not retained:
                return None
            self._acked.setdefault(key, _sequence(_payload(retained[0]).decode("ascii", "replace")) or 0)
        return self._acked[key]

    async def _record(self, ns: str, client_id: str, seq: int) -> None:
        await self.conn.publish(topics.session(ns, client_id), str(seq).encode(), retain=True)
        self._acked[(ns, client_id)] = seq

    async def _backlog(self, ns: str, client_id: str) -> dict[int, aiomqtt.Message]:
        """The session's kept messages by id (retained), and the index of their ids."""
        backlog = {}
        for message in await self.conn.retained(topics.backlog(ns, client_id, "+")):
            seq = _sequence(message.topic.value.rsplit("/", 1)[-1])
            if seq is not None:
                backlog[seq] = message
        self._kept[(ns, client_id)] = set(backlog)
        return backlog

    async def _keep(self, ns: str, client_id: str, seq: int, message: aiomqtt.Message) -> None:
        # One byte first: an empty retained payload would delete instead of keep.
        kept = b"\0" + _payload(message)
        props = _publish_properties(**_user_properties(message))
        await self.conn.publish(topics.backlog(ns, client_id, str(seq)), kept, props, retain=True)
        self._kept.setdefault((ns, client_id), set()).add(seq)

    async def _resume(self, ns: str, topic: str, client_id: str) -> tuple[_Live, dict[int, aiomqtt.Message]]:
        """The durable session's client, connected and subscribed, and its backlog."""
        data = topics.topic(ns, topics.PERSISTENT, topic)
        previous = self._durable.get((ns, client_id))
        if previous is not None:  # the broker would take the session over: end that stream first
            await previous.stop()
        if await self._acked_seq(ns, client_id) is None:  # recorded before the session exists
            await self._record(ns, client_id, 0)
        backlog = await self._backlog(ns, client_id)
        live = _Live(self.conn.client(client_id, persistent=True))
        live.client._client.manual_ack_set(True)  # noqa: SLF001 - PUBACK once kept in the backlog
        await self.conn.open(live.client, data)
        return live, backlog

    async def subscribe_durable(self, ns: str, topic: str, durable_name: str) -> AsyncIterator[Event]:
        client_id = topics.durable_client_id(ns, topic, durable_name)
        live, backlog = await bounded(self._resume(ns, topic, client_id))
        subscription_id = uuid.uuid4().hex
        try:
            self._durable[(ns, client_id)] = live
            self._live[(ns, subscription_id)] = live
            yield Ready(subscription_id)
            delivered = self._acked.get((ns, client_id), 0)
            for seq in sorted(backlog):
                if live.stopping:
                    return
                if seq > delivered:
                    delivered = seq
                    yield _persistent(topic, seq, backlog[seq], _payload(backlog[seq])[1:])
            async for message in self._messages(live):
                seq = _sequence(_user_properties(message).get(MESSAGE_ID, "")) or 0
                if seq > max(delivered, self._acked.get((ns, client_id), 0)):
                    await self._keep(ns, client_id, seq, message)
                    delivered = seq
                    live.client._client.ack(message.mid, 1)  # noqa: SLF001 - kept: the broker may forget it
                    yield _persistent(topic, seq, message, _payload(message))
                else:  # acknowledged or delivered from the backlog already
                    live.client._client.ack(message.mid, 1)  # noqa: SLF001
        finally:
            if self._durable.get((ns, client_id)) is live:
                del self._durable[(ns, client_id)]
            self._live.pop((ns, subscription_id), None)
            live.ended.set()
            await close(live.client)

    async def ack_durable(self, ns: str, topic: str, durable_name: str, message_id: str) -> bool:
        return await bounded(self._ack_durable(ns, topic, durable_name, message_id))

    async def _ack_durable(self, ns: str, topic: str, durable_name: str, message_id: str) -> bool:
        seq = _sequence(message_id)
        if seq is None or not 1 <= seq <= await self._last_seq(ns, topic):
            return False
        client_id = topics.durable_client_id(ns, topic, durable_name)
        if seq > (await self._acked_seq(ns, client_id) or 0):
            await self._record(ns, client_id, seq)
        if (ns, client_id) not in self._kept:
            await self._backlog(ns, client_id)
        kept = self._kept[(ns, client_id)]
        done = sorted(k for k in kept if k <= seq)
        await asyncio.gather(*(self.conn.publish(topics.backlog(ns, client_id, str(k)), b"", retain=True) for k in done))
        kept.difference_update(done)
        return True

    # DropNamespace

    async def drop(self, ns: str) -> None:
        """End the namespace's subscriptions, delete its durable sessions, clear its retained
        messages (last ids, session records, backlogs), forget what this process cached."""
        for (owner, _), live in list(self._live.items()):
            if owner == ns and not live.stopping:
                await live.stop()
        retained = [m.topic.value for m in await self.conn.retained(topics.namespace_filter(ns))]
        sessions = [name.rsplit("/", 1)[-1] for name in retained if name.startswith(topics.kind_prefix(ns, topics.SESSIONS))]
        await asyncio.gather(*(self.conn.delete_session(client_id) for client_id in sessions))
        await asyncio.gather(*(self.conn.publish(name, b"", retain=True) for name in retained))
        self._last = {k: v for k, v in self._last.items() if k[0] != ns}
        self._acked = {k: v for k, v in self._acked.items() if k[0] != ns}
        self._kept = {k: v for k, v in self._kept.items() if k[0] != ns}
        self._locks = {k: v for k, v in self._locks.items() if k[0] != ns}


def _persistent(topic: str, seq: int, message: aiomqtt.Message, payload: bytes) -> Published:
    sent_ms = int(_user_properties(message).get(PUBLISH_TIME, "0"))
    return Published(topic, payload, str(seq), publish_time_ms=sent_ms)


def _payload(message: aiomqtt.Message) -> bytes:
    payload = message.payload
    if isinstance(payload, (bytes, bytearray)):
        return bytes(payload)
    return b"" if payload is None else str(payload).encode()
