"""The RabbitMQ plugin's pubsub_persistent: durable subscriptions as durable queues.

- PublishPersistent publishes a persistent message, confirmed, to the namespace's persistent
  topic exchange, which forwards everything to the namespace's topic exchange (live
  subscribers get it too); plain Publish never reaches it, so durable names keep only
  persistent messages.
- A durable name is a durable queue bound to the persistent exchange with the topic's key,
  declared by its first SubscribeDurable (so it starts at the end of the topic). A session
  consumes it unacked (at most DURABLE_PREFETCH beyond the last ack); when the session ends, the broker puts
  back what was not acked, in its place: the next session gets it again, in order.
- AckDurable acks, on the live session's channel, every delivery up to the message (one
  multiple ack); with no live session holding it, the plugin takes messages from the head of
  the durable queue until that one and acks them together (if it is not there, an older id,
  everything goes back unchanged).
- GetLastMessageID reads the topic's "last" queue: bound like a durable name, with
  x-max-length 1, so the broker keeps only the newest persistent message of the topic.
- Message ids are `<topic tag>-<uuid>`, the tag a digest of namespace and topic: AckDurable of
  an id that is not of this topic's form is NOT_FOUND; an id of the right form the topic never
  had is taken as an old one (nothing changes).
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, AsyncIterator

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage, ExchangeType

from prism_plugin.contracts.pubsub.basic import Event, Ready
from prism_plugin.status import unavailable
from prism_rabbitmq import names
from prism_rabbitmq.connection import CALL_TIMEOUT_S, RabbitConnection, bounded
from prism_rabbitmq.pubsub import Live, RabbitPubSub, close_subscription, published_event, topic_key

# Unacked messages a durable session may hold: past this many beyond its last ack it waits for
# an AckDurable (the broker keeps the rest), so the plugin's memory stays bounded.
DURABLE_PREFETCH = 10_000
MAX_OFFLINE_ACK = 10_000  # messages an offline AckDurable may take from the head to find its id
LAST_QUEUE_ARGUMENTS: dict[str, Any] = {"x-queue-type": "classic", "x-max-length": 1}
DURABLE_ARGUMENTS: dict[str, Any] = {"x-queue-type": "classic"}


def topic_tag(ns: str, topic: str) -> str:
    return hashlib.sha256(f"{len(ns)}:{ns}:{topic}".encode("utf-8", "surrogatepass")).hexdigest()[:16]


@dataclass
class _Session:
    channel: AbstractChannel
    unacked: OrderedDict[str, AbstractIncomingMessage] = field(default_factory=OrderedDict)


class RabbitDurable:
    def __init__(self, conn: RabbitConnection, pubsub: RabbitPubSub) -> None:
        self.conn = conn
        self.pubsub = pubsub
        self._sessions: dict[tuple[str, str, str], _Session] = {}

    async def _exchange(self, ns: str) -> str:
        persistent = names.broker_name(names.PERSISTENT, ns)
        fresh = not self.conn.known(persistent)
        await self.conn.exchange(ns, names.PERSISTENT, ExchangeType.TOPIC)
        if fresh:  # live subscribers get persistent messages too
            topics = await self.pubsub.topics_exchange(ns)

            async def bind(channel):
                destination = await channel.get_exchange(topics, ensure=False)
                await destination.bind(persistent, routing_key="#")

            await self.conn.call(bind)
        return persistent

    async def _bound_queue(self, ns: str, kind: str, name: str, topic: str, arguments: dict[str, Any]) -> str:
        exchange = await self._exchange(ns)
        broker_name = names.broker_name(kind, ns, name)
        if not self.conn.known(broker_name):
            await self.conn.queue(ns, kind, name, arguments)

            async def bind(channel):
                queue = await channel.get_queue(broker_name, ensure=False)
                await queue.bind(exchange, routing_key=topic_key(topic))

            await self.conn.call(bind)
        return broker_name

    async def publish_persistent(self, ns: str, topic: str, payload: bytes) -> str:
        key = topic_key(topic)
        exchange = await self._exchange(ns)
        await self._bound_queue(ns, names.LAST, topic, topic, LAST_QUEUE_ARGUMENTS)
        message_id = f"{topic_tag(ns, topic)}-{uuid.uuid4().hex}"
        message = self.pubsub.message(topic, payload, message_id, {}, "", aio_pika.DeliveryMode.PERSISTENT)

        async def go(channel):
            amqp_exchange = await channel.get_exchange(exchange, ensure=False)
            await amqp_exchange.publish(message, routing_key=key, mandatory=False)

        await self.conn.call(go)
        return message_id

    async def last_message_id(self, ns: str, topic: str) -> str | None:
        last = names.broker_name(names.LAST, ns, topic)
        channel = await self.conn.channel(confirms=False)
        try:
            try:
                queue = await bounded(channel.declare_queue(last, passive=True))
            except aio_pika.exceptions.ChannelNotFoundEntity:
                return None
            message = await bounded(queue.get(no_ack=False, fail=False))
            if message is None:
                return None
            await bounded(message.nack(requeue=True))
            return message.message_id
        finally:
            await close_subscription(channel, None)

    async def ack_durable(self, ns: str, topic: str, durable_name: str, message_id: str) -> bool:
        if not message_id.startswith(topic_tag(ns, topic) + "-"):
            return False
        session = self._sessions.get((ns, topic, durable_name))
        if session is not None and message_id in session.unacked:
            message = session.unacked[message_id]
            while session.unacked:
                acked, _ = session.unacked.popitem(last=False)
                if acked == message_id:
                    break
            await bounded(message.ack(multiple=True))
            return True
        await self._ack_offline(ns, topic, durable_name, message_id)
        return True

    async def _ack_offline(self, ns: str, topic: str, durable_name: str, message_id: str) -> None:
        """Take messages from the head of the durable queue up to message_id and ack them all;
        if it is not there, closing the channel puts every taken message back in its place."""
        durable = names.broker_name(names.DURABLE, ns, names.durable_queue(topic, durable_name))
        channel = await self.conn.channel(confirms=False)
        try:
            try:
                queue = await bounded(channel.declare_queue(durable, passive=True))
            except aio_pika.exceptions.ChannelNotFoundEntity:
                return  # never subscribed: nothing kept for it

            async def take() -> None:
                for _ in range(MAX_OFFLINE_ACK):
                    message = await queue.get(no_ack=False, fail=False)
                    if message is None:
                        return
                    if message.message_id == message_id:
                        await message.ack(multiple=True)
                        return

            await bounded(take())
        finally:
            await close_subscription(channel, None)

    def subscribe_durable(self, ns: str, topic: str, durable_name: str) -> AsyncIterator[Event]:
        return self._session(ns, topic, durable_name)

    async def _session(self, ns: str, topic: str, durable_name: str) -> AsyncIterator[Event]:
        durable = await self._bound_queue(ns, names.DURABLE, names.durable_queue(topic, durable_name), topic, DURABLE_ARGUMENTS)
        live = Live()
        subscription_id = uuid.uuid4().hex
        inbox: asyncio.Queue[AbstractIncomingMessage] = asyncio.Queue()
        channel = await self.conn.channel(confirms=False)
        session = _Session(channel)
        key = (ns, topic, durable_name)
        try:
            lost = asyncio.Event()
            channel.close_callbacks.add(lambda _channel, _reason: lost.set())
            await bounded(channel.set_qos(prefetch_count=DURABLE_PREFETCH))
            queue = await channel.get_queue(durable, ensure=False)
            await bounded(queue.consume(inbox.put, no_ack=False))
            self._sessions[key] = session
            self.pubsub.register(ns, subscription_id, live)
            yield Ready(subscription_id)
            stopping = asyncio.ensure_future(live.stopping.wait())
            closed = asyncio.ensure_future(lost.wait())
            try:
                while True:
                    arrival = asyncio.ensure_future(inbox.get())
                    await asyncio.wait([arrival, stopping, closed], return_when=asyncio.FIRST_COMPLETED)
                    if stopping.done():
                        arrival.cancel()
                        return
                    if not arrival.done():
                        arrival.cancel()
                        raise unavailable("RabbitMQ closed the durable subscription's channel (connection lost?)")
                    message = arrival.result()
                    session.unacked[message.message_id or ""] = message
                    yield published_event(message)
            finally:
                stopping.cancel()
                closed.cancel()
        finally:
            if self._sessions.get(key) is session:
                del self._sessions[key]
            self.pubsub.unregister(ns, subscription_id, live)
            await asyncio.shield(asyncio.wait_for(close_subscription(channel, None), CALL_TIMEOUT_S + 1))
