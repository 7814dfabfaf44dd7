"""MemStore's pub/sub: in-process fan-out on the plugin's asyncio loop.

Each subscription is a selector (which messages it wants) and an unbounded asyncio.Queue.
Publish puts the message into the queue of every matching subscription of the namespace
without awaiting, so one publisher's messages reach every subscriber in publish order. Durable
subscriptions also read the topic's log of persistent messages, from their acked position.
"""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from dataclasses import dataclass, field
from typing import AsyncIterator, Callable

from prism_plugin.contracts.pubsub.basic import Event, Published, Ready
from prism_plugin.contracts.pubsub.filtering import Condition, accepts
from prism_plugin.contracts.pubsub.wildcards import matches

Selector = Callable[[Published, bool], bool]  # (message, persistent) -> deliver?


@dataclass
class _Subscription:
    wants: Selector
    inbox: asyncio.Queue[Published | None] = field(default_factory=asyncio.Queue)


@dataclass
class _Topic:
    log: list[Published] = field(default_factory=list)  # persistent messages, in publish order
    acked: dict[str, int] = field(default_factory=dict)  # durable name -> log entries acked


def _message_index(message_id: str) -> int | None:
    return int(message_id) - 1 if message_id.isdigit() else None


class MemPubSub:
    def __init__(self) -> None:
        self._subscriptions: dict[str, dict[str, _Subscription]] = {}
        self._topics: dict[str, dict[str, _Topic]] = {}
        self._ids = itertools.count(1)

    def drop(self, ns: str) -> None:
        """Forget the namespace's persistent messages and end its live subscriptions."""
        self._topics.pop(ns, None)
        for subscription in self._subscriptions.pop(ns, {}).values():
            subscription.inbox.put_nowait(None)

    def _topic(self, ns: str, topic: str) -> _Topic:
        return self._topics.setdefault(ns, {}).setdefault(topic, _Topic())

    def _fan_out(self, ns: str, message: Published, persistent: bool) -> str:
        for subscription in self._subscriptions.get(ns, {}).values():
            if subscription.wants(message, persistent):
                subscription.inbox.put_nowait(message)
        return message.message_id

    def _message(self, topic: str, payload: bytes, **extra) -> Published:
        return Published(topic, payload, str(next(self._ids)), publish_time_ms=int(time.time() * 1000), **extra)

    async def _subscription(self, ns: str, wants: Selector, backlog: list[Published] | None = None) -> AsyncIterator[Event]:
        subscription_id = uuid.uuid4().hex
        subscription = _Subscription(wants)
        live = self._subscriptions.setdefault(ns, {})
        live[subscription_id] = subscription
        try:
            yield Ready(subscription_id)
            for kept in backlog or []:
                yield kept
            while (message := await subscription.inbox.get()) is not None:
                yield message
        finally:
            if self._subscriptions.get(ns, {}).get(subscription_id) is subscription:
                del self._subscriptions[ns][subscription_id]

    # pubsub_basic

    async def publish(self, ns: str, topic: str, payload: bytes) -> str:
        return self._fan_out(ns, self._message(topic, payload), False)

    def subscribe(self, ns: str, topic: str) -> AsyncIterator[Event]:
        return self._subscription(ns, lambda m, _: m.topic == topic)

    async def unsubscribe(self, ns: str, subscription_id: str) -> bool:
        subscription = self._subscriptions.get(ns, {}).pop(subscription_id, None)
        if subscription is None:
            return False
        subscription.inbox.put_nowait(None)
        return True

    # pubsub_wildcards

    def subscribe_pattern(self, ns: str, segments: tuple[str, ...]) -> AsyncIterator[Event]:
        return self._subscription(ns, lambda m, _: matches(segments, m.topic))

    # pubsub_persistent: a message id is the message's position in its topic's log, from 1

    async def publish_persistent(self, ns: str, topic: str, payload: bytes) -> str:
        log = self._topic(ns, topic).log
        message = Published(topic, payload, str(len(log) + 1), publish_time_ms=int(time.time() * 1000))
        log.append(message)
        return self._fan_out(ns, message, True)

    def subscribe_durable(self, ns: str, topic: str, durable_name: str) -> AsyncIterator[Event]:
        state = self._topic(ns, topic)
        start = state.acked.setdefault(durable_name, len(state.log))
        return self._subscription(ns, lambda m, persistent: persistent and m.topic == topic, state.log[start:])

    async def ack_durable(self, ns: str, topic: str, durable_name: str, message_id: str) -> bool:
        state = self._topic(ns, topic)
        index = _message_index(message_id)
        if index is None or not 0 <= index < len(state.log):
            return False
        state.acked[durable_name] = max(state.acked.get(durable_name, 0), index + 1)
        return True

    async def last_message_id(self, ns: str, topic: str) -> str | None:
        log = self._topics.get(ns, {}).get(topic, _Topic()).log
        return log[-1].message_id if log else None

    # pubsub_filtering

    async def publish_with_attributes(self, ns: str, topic: str, payload: bytes, attributes: dict[str, str]) -> str:
        return self._fan_out(ns, self._message(topic, payload, attributes=attributes), False)

    def subscribe_filtered(self, ns: str, topic: str, filter_: tuple[Condition, ...]) -> AsyncIterator[Event]:
        return self._subscription(ns, lambda m, _: m.topic == topic and accepts(filter_, m.attributes))

    # pubsub_ordering

    async def publish_ordered(self, ns: str, topic: str, payload: bytes, ordering_key: str) -> str:
        return self._fan_out(ns, self._message(topic, payload, ordering_key=ordering_key), False)
