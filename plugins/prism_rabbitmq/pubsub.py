"""The RabbitMQ plugin's pub/sub (pubsub_basic, pubsub_wildcards, pubsub_filtering,
pubsub_ordering): one topic exchange per namespace, and a headers exchange bound to it (every
message) for filters; ordering keys travel in a header (one publishing channel keeps order).

- Publish sends to the topic exchange, confirmed (the broker has routed it to every bound
  queue when Publish returns), routing key = the topic's segments, each escaped so that no word
  is `*` or `#` (names.routing_key); the topic itself, the attributes and the message id travel
  in the message.
- A subscription is a server-named exclusive auto-delete queue on a channel of its own, bound
  to the exchange, with a consumer (at most PREFETCH unacked messages in the plugin); ready is
  sent once the broker confirmed the consumer. It is deleted (and its channel closed) when the
  stream ends: Unsubscribe, a cancelled client, or (UNAVAILABLE) a channel the broker closed.
- Patterns: canonical `*` is AMQP `*`, a last `>` is `*.#` (one or more words), literal
  segments are escaped, so `#`, `*` inside a word, `+ ? [` stay literal.
- Filters: the binding matches the topic and the conditions a headers exchange can express
  (equals, exists, an in_set as one binding per combination, up to MAX_BINDINGS); an absent
  attribute (exists false) and larger in_set combinations are checked by the plugin, which
  applies the contract's `accepts` to every message before it is sent.
- Topics whose escaped routing key is longer than AMQP's 255 bytes are INVALID_ARGUMENT.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, AsyncIterator

import aio_pika
from aio_pika.abc import AbstractIncomingMessage, ExchangeType

from prism_plugin.contracts.pubsub.basic import Event, Published, Ready
from prism_plugin.contracts.pubsub.filtering import Condition, accepts
from prism_plugin.contracts.pubsub.wildcards import ONE, REST, matches
from prism_plugin.status import invalid, shown, unavailable
from prism_rabbitmq import names
from prism_rabbitmq.connection import CALL_TIMEOUT_S, RabbitConnection, bounded

TOPIC_HEADER = "t"
ATTRIBUTES_HEADER = "attributes"  # JSON of the attributes (the a:... headers are for matching)
TIME_HEADER = "ms"
ORDERING_KEY_HEADER = "k"
MAX_BINDINGS = 16  # in_set combinations bound on the broker; beyond, the plugin filters
MAX_KEY_BYTES = 255
# Unacked messages the broker hands a subscription at a time: a slow gRPC reader leaves the
# rest in its queue on the broker (with the broker's memory limits), not in the plugin.
PREFETCH = 256


def _key(what: str, value: str, key: str) -> str:
    if len(key.encode("utf-8", "surrogatepass")) > MAX_KEY_BYTES:
        raise invalid(f"{what} {shown(value)} is too long for a RabbitMQ routing key ({MAX_KEY_BYTES} bytes once escaped)")
    return key


def topic_key(topic: str) -> str:
    """The topic's routing key; INVALID_ARGUMENT when too long for AMQP."""
    return _key("topic", topic, names.routing_key(topic))


def binding_key(segments: tuple[str, ...]) -> str:
    """The topic-exchange binding key of a canonical pattern."""
    words = []
    for i, segment in enumerate(segments):
        if segment == ONE:
            words.append("*")
        elif segment == REST and i == len(segments) - 1:
            words.append("*.#")
        else:
            words.append(names.routing_segment(segment))
    return ".".join(words)


def header_bindings(topic: str, filter_: tuple[Condition, ...]) -> list[dict[str, Any]]:
    """Headers-exchange binding arguments selecting the topic's messages the filter may accept
    (a superset when a condition cannot be expressed: the plugin checks every message)."""
    fixed: dict[str, Any] = {"x-match": "all", TOPIC_HEADER: topic}
    choices: list[list[tuple[str, str]]] = []
    for c in filter_:
        header = names.attribute_header(c.attribute)
        if c.values is None:
            if c.present:
                fixed[header] = None  # a void value: the header is present, any value
        elif len(c.values) == 1:
            fixed[header] = next(iter(c.values))
        else:
            choices.append([(header, v) for v in sorted(c.values)])
    combinations: list[tuple[tuple[str, str], ...]] = [()]
    for options in choices:
        if len(combinations) * len(options) > MAX_BINDINGS:
            continue  # left to the plugin
        combinations = [(*combo, o) for combo in combinations for o in options]
    return [{**fixed, **dict(combo)} for combo in combinations]


@dataclass
class Live:
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
    ended: asyncio.Event = field(default_factory=asyncio.Event)


class RabbitPubSub:
    def __init__(self, conn: RabbitConnection) -> None:
        self.conn = conn
        self._live: dict[tuple[str, str], Live] = {}

    async def topics_exchange(self, ns: str) -> str:
        return await self.conn.exchange(ns, names.TOPICS, ExchangeType.TOPIC)

    async def _headers(self, ns: str) -> str:
        topics = await self.topics_exchange(ns)
        headers = names.broker_name(names.HEADERS, ns)
        fresh = not self.conn.known(headers)
        await self.conn.exchange(ns, names.HEADERS, ExchangeType.HEADERS)
        if fresh:  # every message of the topic exchange also goes through the headers one

            async def bind(channel):
                destination = await channel.get_exchange(headers, ensure=False)
                await destination.bind(topics, routing_key="#")

            await self.conn.call(bind)
        return headers

    @staticmethod
    def message(topic: str, payload: bytes, message_id: str, attributes: dict[str, str], ordering_key: str, mode) -> aio_pika.Message:
        """The AMQP message of a publish: the topic, time, ordering key and attributes in headers."""
        headers: dict[str, Any] = {TOPIC_HEADER: topic, TIME_HEADER: int(time.time() * 1000)}
        if ordering_key:
            headers[ORDERING_KEY_HEADER] = ordering_key
        if attributes:
            headers[ATTRIBUTES_HEADER] = json.dumps(attributes)
            headers.update({names.attribute_header(k): v for k, v in attributes.items()})
        return aio_pika.Message(payload, message_id=message_id, headers=headers, delivery_mode=mode)

    def register(self, ns: str, subscription_id: str, live: Live) -> None:
        """A subscription Unsubscribe can end (the durable ones register too)."""
        self._live[(ns, subscription_id)] = live

    def unregister(self, ns: str, subscription_id: str, live: Live) -> None:
        self._live.pop((ns, subscription_id), None)
        live.ended.set()

    async def _send(self, ns: str, topic: str, payload: bytes, attributes: dict[str, str], ordering_key: str = "") -> str:
        key = topic_key(topic)
        exchange = await self.topics_exchange(ns)
        message_id = uuid.uuid4().hex
        message = self.message(topic, payload, message_id, attributes, ordering_key, aio_pika.DeliveryMode.NOT_PERSISTENT)

        async def go(channel):
            amqp_exchange = await channel.get_exchange(exchange, ensure=False)
            await amqp_exchange.publish(message, routing_key=key, mandatory=False)  # no subscriber is fine

        try:
            await self.conn.call(go)
        except aio_pika.exceptions.ChannelNotFoundEntity:  # dropped by another plugin: declare it again
            self.conn.forget(exchange)
            exchange = await self.topics_exchange(ns)
            await self.conn.call(go)
        return message_id

    async def publish(self, ns: str, topic: str, payload: bytes) -> str:
        return await self._send(ns, topic, payload, {})

    async def publish_with_attributes(self, ns: str, topic: str, payload: bytes, attributes: dict[str, str]) -> str:
        return await self._send(ns, topic, payload, attributes)

    async def publish_ordered(self, ns: str, topic: str, payload: bytes, ordering_key: str) -> str:
        """AMQP keeps the order of one channel's publishes into each queue, and every publish
        goes through the plugin's one publishing channel, confirmed before the call returns."""
        return await self._send(ns, topic, payload, {}, ordering_key)

    def subscribe(self, ns: str, topic: str) -> AsyncIterator[Event]:
        key = topic_key(topic)
        return self._subscription(ns, [{"routing_key": key}], lambda p: p.topic == topic, headers=False)

    def subscribe_pattern(self, ns: str, segments: tuple[str, ...]) -> AsyncIterator[Event]:
        key = _key("pattern", ".".join(segments), binding_key(segments))
        return self._subscription(ns, [{"routing_key": key}], lambda p: matches(segments, p.topic), headers=False)

    def subscribe_filtered(self, ns: str, topic: str, filter_: tuple[Condition, ...]) -> AsyncIterator[Event]:
        topic_key(topic)
        bindings = [{"arguments": a} for a in header_bindings(topic, filter_)]
        return self._subscription(ns, bindings, lambda p: p.topic == topic and accepts(filter_, p.attributes), headers=True)

    async def unsubscribe(self, ns: str, subscription_id: str) -> bool:
        live = self._live.pop((ns, subscription_id), None)
        if live is None:
            return False
        live.stopping.set()
        try:
            await asyncio.wait_for(live.ended.wait(), CALL_TIMEOUT_S)
        except asyncio.TimeoutError:
            raise unavailable(f"the subscription did not end within {CALL_TIMEOUT_S} s") from None
        return True

    async def _subscription(self, ns: str, bindings: list[dict[str, Any]], wanted, headers: bool) -> AsyncIterator[Event]:
        exchange = await (self._headers(ns) if headers else self.topics_exchange(ns))
        live = Live()
        subscription_id = uuid.uuid4().hex
        inbox: asyncio.Queue[AbstractIncomingMessage] = asyncio.Queue()
        channel = await self.conn.channel(confirms=False)
        queue = None
        try:
            queue = await bounded(channel.declare_queue(exclusive=True, auto_delete=True))
            amqp_exchange = await channel.get_exchange(exchange, ensure=False)
            for binding in bindings:
                await bounded(queue.bind(amqp_exchange, **binding))
            lost = asyncio.Event()
            channel.close_callbacks.add(lambda _channel, _reason: lost.set())
            await bounded(channel.set_qos(prefetch_count=PREFETCH))
            await bounded(queue.consume(inbox.put, no_ack=False))
            self.register(ns, subscription_id, live)
            yield Ready(subscription_id)
            stopping = asyncio.ensure_future(live.stopping.wait())
            closed = asyncio.ensure_future(lost.wait())
            try:
                while True:
                    arrival = asyncio.ensure_future(inbox.get())
                    await asyncio.wait([arrival, stopping, closed], return_when=asyncio.FIRST_COMPLETED)
                    if stopping.done():  # Unsubscribe: nothing more, not even what just arrived
                        arrival.cancel()
                        return
                    if not arrival.done():
                        arrival.cancel()
                        raise unavailable("RabbitMQ closed the subscription's channel (connection lost?)")
                    message = arrival.result()
                    await bounded(message.ack())
                    published = published_event(message)
                    if wanted(published):
                        yield published
            finally:
                stopping.cancel()
                closed.cancel()
        finally:
            self.unregister(ns, subscription_id, live)
            await asyncio.shield(close_subscription(channel, queue))


async def close_subscription(channel, queue) -> None:
    """Delete the subscription's queue (auto-delete and exclusive would remove it with its
    consumer or the connection anyway) and close its channel."""
    try:
        if queue is not None:
            await asyncio.wait_for(queue.delete(if_unused=False, if_empty=False), CALL_TIMEOUT_S)
        await asyncio.wait_for(channel.close(), CALL_TIMEOUT_S)
    except (asyncio.TimeoutError, aio_pika.exceptions.AMQPError, ConnectionError):
        pass


def published_event(message: AbstractIncomingMessage) -> Published:
    headers = message.headers or {}
    topic = headers.get(TOPIC_HEADER, "")
    raw = headers.get(ATTRIBUTES_HEADER)
    attributes = json.loads(raw) if isinstance(raw, (str, bytes)) else {}
    sent_ms = headers.get(TIME_HEADER, 0)
    key = headers.get(ORDERING_KEY_HEADER, "")
    return Published(
        topic=topic.decode() if isinstance(topic, bytes) else str(topic),
        payload=message.body,
        message_id=message.message_id or "",
        attributes=attributes,
        ordering_key=key.decode() if isinstance(key, bytes) else str(key),
        publish_time_ms=sent_ms if isinstance(sent_ms, int) else 0,
    )
