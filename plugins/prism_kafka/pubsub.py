"""Pub/sub as Kafka topics: one 1-partition topic per (namespace, topic), created by the first
publish or subscription, so the topic's order is the publish order and every ordering key's
order (Kafka keeps a partition's order; the ordering key is the record's key). A message id is
the record's offset (decimal), its publish time the record's timestamp.

A subscription is a consumer of its own assigned at the high watermark taken before `ready`
(feed.py): it gets what is published after ready. A durable subscription is a Kafka consumer
group per (topic, durable name) that never joins: its committed offset is the position after
the last ack; a new durable name's position is committed at the high watermark when it first
subscribes. Unsubscribe ends the subscription's stream at once: nothing queued is delivered.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import AsyncIterator

from prism_kafka import names
from prism_kafka.connection import KafkaConnection
from prism_kafka.feed import Feed
from prism_plugin.contracts.pubsub.basic import Event, Published, Ready

MESSAGE_ID = "0123456789"


@dataclass
class _Live:
    feed: Feed
    ended: bool = False


def message_id(raw: str) -> int | None:
    if not raw or len(raw) > 18 or any(c not in MESSAGE_ID for c in raw):
        return None
    return int(raw)


class KafkaPubSub:
    def __init__(self, conn: KafkaConnection) -> None:
        self.conn = conn
        self._live: dict[tuple[str, str], _Live] = {}

    @staticmethod
    def _topic(ns: str, topic: str) -> str:
        return names.topic(ns, names.TOPIC, topic)

    async def _publish(self, ns: str, topic: str, payload: bytes, key: str = "") -> str:
        kafka_topic = self._topic(ns, topic)
        await self.conn.ensure_topic(kafka_topic, 1)
        _, offset, _ = await self.conn.produce(kafka_topic, 0, key.encode() or None, payload, None)
        return str(offset)

    # pubsub_basic
    async def publish(self, ns: str, topic: str, payload: bytes) -> str:
        return await self._publish(ns, topic, payload)

    def subscribe(self, ns: str, topic: str) -> AsyncIterator[Event]:
        return self._subscription(ns, topic, None)

    async def unsubscribe(self, ns: str, subscription_id: str) -> bool:
        live = self._live.pop((ns, subscription_id), None)
        if live is None:
            return False
        live.ended = True
        live.feed.end()
        return True

    async def _subscription(self, ns: str, topic: str, durable: str | None) -> AsyncIterator[Event]:
        kafka_topic = self._topic(ns, topic)
        await self.conn.ensure_topic(kafka_topic, 1)
        begin = None
        if durable is not None:
            group = names.group(ns, topic, durable)
            begin = await self.conn.committed(group, kafka_topic)
        if begin is None:
            marks = await self.conn.watermarks(kafka_topic, 0)
            begin = marks[1] if marks else 0
            if durable is not None:
                await self.conn.commit(group, kafka_topic, begin)  # a new durable name starts here
        feed = await Feed(self.conn.readers, self.conn.tails, kafka_topic, 0, begin).start()
        subscription_id = uuid.uuid4().hex
        live = _Live(feed)
        self._live[(ns, subscription_id)] = live
        try:
            yield Ready(subscription_id)
            while not live.ended:
                message = await feed.next(None)
                if message is None or live.ended:
                    return
                key = message.key()
                yield Published(
                    topic=topic,
                    payload=message.value() or b"",
                    message_id=str(message.offset()),
                    ordering_key=key.decode("utf-8", "replace") if key else "",
                    publish_time_ms=message.timestamp()[1],
                )
        finally:
            self._live.pop((ns, subscription_id), None)
            feed.close()

    # pubsub_ordering
    async def publish_ordered(self, ns: str, topic: str, payload: bytes, ordering_key: str) -> str:
        return await self._publish(ns, topic, payload, ordering_key)

    # pubsub_persistent
    async def publish_persistent(self, ns: str, topic: str, payload: bytes) -> str:
        return await self._publish(ns, topic, payload)

    def subscribe_durable(self, ns: str, topic: str, durable_name: str) -> AsyncIterator[Event]:
        return self._subscription(ns, topic, durable_name)

    async def ack_durable(self, ns: str, topic: str, durable_name: str, message_id_: str) -> bool:
        offset = message_id(message_id_)
        kafka_topic = self._topic(ns, topic)
        marks = await self.conn.watermarks(kafka_topic, 0)
        if offset is None or marks is None or offset >= marks[1]:
            return False
        group = names.group(ns, topic, durable_name)
        committed = await self.conn.committed(group, kafka_topic)
        if committed is None or committed < offset + 1:
            await self.conn.commit(group, kafka_topic, offset + 1)
        return True

    async def last_message_id(self, ns: str, topic: str) -> str | None:
        marks = await self.conn.watermarks(self._topic(ns, topic), 0)
        if marks is None or marks[1] == 0:
            return None
        return str(marks[1] - 1)
