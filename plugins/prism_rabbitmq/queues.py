"""The RabbitMQ plugin's queues (queue_basic, queue_visibility, queue_dead_letter,
queue_priority, queue_delayed): one classic priority queue per (namespace, queue) on the broker.

- Dequeue is basic.get with automatic ack; Peek is basic.get then basic.nack with requeue,
  which puts the message back in its place (RabbitMQ requeues to the original position).
- Visibility: a DequeueWithTimeout delivery stays unacked on the plugin's delivery channel,
  under a receipt, with a timer; at the timeout (or on Release) the plugin nacks it with
  requeue, so it is visible again in its place; Ack acks it; Extend moves the timer. RabbitMQ's
  own consumer_timeout is per broker and coarse (30 min by default, checked once a minute), so
  the timeouts are the plugin's. What cannot be honoured: a delivery held longer than the
  broker's consumer_timeout makes the broker close the delivery channel, and when the plugin
  (or that channel) dies, the broker requeues every delivery held on it at once: early
  redelivery (a higher delivery count, the old receipts void), never loss.
- Delivery counts are the plugin's: AMQP only says "redelivered" (which a Peek sets too), and a
  quorum queue's x-delivery-count also counts Peek's requeues. They live in the plugin's memory
  (keyed by message id), so a plugin restart counts a queued message's deliveries from zero.
- Dead letters: when a delivery with max_deliveries reached would become visible again, the
  plugin publishes it (same message id, payload, priority; confirmed) to the dead-letter queue
  and then acks it on the source. A dead-letter exchange cannot do this: queue arguments are
  fixed when a queue is declared (ConfigureDeadLetter replaces target and maximum at any time;
  policies need the management API), dead-lettering a nack is not confirmed to the nacker (the
  contract moves a released message at once), and the delivery limit of quorum queues counts
  Peeks. Configurations and the moved counts live in the plugin's memory.
- Priorities: RabbitMQ has 0..255 levels (each costs the broker a sub-queue, so this plugin
  declares 32). Priorities -10..10 each get their own level; beyond that, levels group
  priorities by magnitude (11..15, 16..31, ... ): messages of different priorities that share a
  level come out in enqueue order. The message carries its exact priority in a header.
- Delays without the delayed-message plugin: a delayed message waits in a delay queue of its
  queue and delay (one queue per distinct delay, so its TTL is uniform and messages expire in
  order), whose x-message-ttl is the delay and whose dead-letter target is the queue: the broker
  moves it when the delay passes, so it queues as if enqueued then. GetScheduledCount adds up
  the message counts of the queue's delay queues (those this plugin process has used). A delay
  queue expires (x-expires) DELAY_QUEUE_IDLE_MS after its last use. TTLs are 32-bit, so delays
  above MAX_DELAY_MS (about 49 days) are INVALID_ARGUMENT.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass, field

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage

from prism_plugin.contracts.queue.basic import Delivered
from prism_plugin.status import invalid
from prism_rabbitmq import names
from prism_rabbitmq.connection import MAX_PRIORITY_LEVEL, RabbitConnection, bounded

log = logging.getLogger("prism.rabbitmq")
PRIORITY_HEADER = "p"
EXACT_PRIORITIES = 10  # -10..10 map one to one
_CENTRE = 15
# A delay queue expires (x-expires) this long after its last use, its messages long gone by then.
DELAY_QUEUE_IDLE_MS = 600_000
MAX_DELAY_MS = 2**32 - 1 - DELAY_QUEUE_IDLE_MS  # RabbitMQ takes TTLs and expiries as 32-bit ms


def priority_level(priority: int) -> int:
    """A monotone map of int32 priorities onto the broker's levels 0..MAX_PRIORITY_LEVEL."""
    if -EXACT_PRIORITIES <= priority <= EXACT_PRIORITIES:
        return _CENTRE + priority
    bits = abs(priority).bit_length()  # 4..32 beyond the exact range
    if priority > 0:
        above = MAX_PRIORITY_LEVEL - (_CENTRE + EXACT_PRIORITIES)  # 6 levels: 26..31
        return _CENTRE + EXACT_PRIORITIES + 1 + min(above - 1, (bits - 4) * above // 28)
    below = _CENTRE - EXACT_PRIORITIES  # 5 levels: 0..4
    return below - 1 - min(below - 1, (bits - 4) * below // 29)


@dataclass
class _Held:
    """A DequeueWithTimeout delivery the plugin holds unacked until ack, release or timeout."""

    ns: str
    queue: str
    message: AbstractIncomingMessage
    channel: AbstractChannel
    timer: asyncio.TimerHandle | None = None


@dataclass
class _DeadLetter:
    target: str
    max_deliveries: int
    moved: int = 0


@dataclass
class _Namespace:
    counts: dict[str, int] = field(default_factory=dict)  # message id -> deliveries so far
    dead_letters: dict[str, _DeadLetter] = field(default_factory=dict)  # queue -> configuration
    delays: dict[str, set[int]] = field(default_factory=dict)  # queue -> delays of its delay queues


class RabbitQueues:
    def __init__(self, conn: RabbitConnection) -> None:
        self.conn = conn
        self._namespaces: dict[str, _Namespace] = {}
        self._held: dict[str, _Held] = {}  # receipt -> delivery
        self._deliveries: AbstractChannel | None = None
        self._deliveries_lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()
        conn.on_drop.append(self._forget)

    def _ns(self, ns: str) -> _Namespace:
        return self._namespaces.setdefault(ns, _Namespace())

    def _forget(self, ns: str) -> None:
        self._namespaces.pop(ns, None)
        for receipt in [r for r, h in self._held.items() if h.ns == ns]:
            held = self._held.pop(receipt)
            if held.timer is not None:
                held.timer.cancel()

    async def _channel(self) -> AbstractChannel:
        """The channel deliveries are taken on (unacked ones stay on it); reopened when the
        broker closed it, which requeued everything held on it: those receipts are void."""
        async with self._deliveries_lock:
            if self._deliveries is None or self._deliveries.is_closed:
                for receipt in [r for r, h in self._held.items() if h.channel is self._deliveries]:
                    held = self._held.pop(receipt)
                    if held.timer is not None:
                        held.timer.cancel()
                self._deliveries = await self.conn.channel(confirms=False)
            return self._deliveries

    async def _get(self, ns: str, queue: str, no_ack: bool) -> tuple[AbstractIncomingMessage | None, AbstractChannel]:
        for attempt in (1, 2):
            broker_queue = await self.conn.queue(ns, names.QUEUE, queue)
            channel = await self._channel()
            amqp_queue = await channel.get_queue(broker_queue, ensure=False)
            try:
                return await bounded(amqp_queue.get(no_ack=no_ack, fail=False)), channel
            except aio_pika.exceptions.ChannelNotFoundEntity:
                # Deleted outside this plugin (another plugin's DropNamespace): declare it again.
                # The broker closed the channel, requeuing what was held on it.
                self.conn.forget(broker_queue)
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    # -- queue_basic, queue_priority ----------------------------------------------------

    async def enqueue(self, ns: str, queue: str, payload: bytes, priority: int, delay_ms: int) -> str:
        message_id = uuid.uuid4().hex
        message = aio_pika.Message(
            payload,
            message_id=message_id,
            priority=priority_level(priority),
            headers={PRIORITY_HEADER: priority},
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        )
        await (self._publish_delayed(ns, queue, message, delay_ms) if delay_ms else self._publish(ns, queue, message))
        return message_id

    async def _publish(self, ns: str, queue: str, message: aio_pika.Message) -> None:
        """Publish to the queue, confirmed; mandatory, so a queue deleted outside this plugin
        is noticed (the broker returns the message), declared again, and published to once more."""
        for attempt in (1, 2):
            broker_queue = await self.conn.queue(ns, names.QUEUE, queue)
            try:
                await self.conn.call(lambda ch: ch.default_exchange.publish(message, routing_key=broker_queue, mandatory=True))
                return
            except aio_pika.exceptions.DeliveryError:
                self.conn.forget(broker_queue)
                if attempt == 2:
                    raise

    # -- queue_delayed ------------------------------------------------------------------

    async def _publish_delayed(self, ns: str, queue: str, message: aio_pika.Message, delay_ms: int) -> None:
        if delay_ms > MAX_DELAY_MS:
            raise invalid(f"delay_ms {delay_ms} is longer than RabbitMQ's longest queue TTL allows ({MAX_DELAY_MS} ms here)")
        target = await self.conn.queue(ns, names.QUEUE, queue)
        arguments = {
            "x-queue-type": "classic",
            "x-message-ttl": delay_ms,
            "x-dead-letter-exchange": "",  # the default exchange: straight to the target queue
            "x-dead-letter-routing-key": target,
            "x-expires": delay_ms + DELAY_QUEUE_IDLE_MS,
        }
        self._ns(ns).delays.setdefault(queue, set()).add(delay_ms)
        for attempt in (1, 2):
            waiting = await self.conn.queue(ns, names.DELAY, f"{delay_ms}.{queue}", arguments)
            try:
                await self.conn.call(lambda ch: ch.default_exchange.publish(message, routing_key=waiting, mandatory=True))
                return
            except aio_pika.exceptions.DeliveryError:  # the delay queue expired (x-expires): again
                self.conn.forget(waiting)
                if attempt == 2:
                    raise

    async def scheduled_count(self, ns: str, queue: str) -> int:
        state = self._namespaces.get(ns)
        delays = state.delays.get(queue, set()) if state else set()
        total = 0
        channel = None
        try:
            for delay_ms in sorted(delays):
                waiting = names.broker_name(names.DELAY, ns, f"{delay_ms}.{queue}")
                if channel is None or channel.is_closed:
                    channel = await self.conn.channel(confirms=False)
                try:
                    declared = await bounded(channel.declare_queue(waiting, passive=True))
                except aio_pika.exceptions.ChannelNotFoundEntity:  # expired: nothing waits there
                    delays.discard(delay_ms)
                    self.conn.forget(waiting)
                    continue
                total += declared.declaration_result.message_count or 0
        finally:
            if channel is not None and not channel.is_closed:
                await bounded(channel.close())
        return total

    def _delivered(self, ns: str, message: AbstractIncomingMessage, count: int, receipt: str = "") -> Delivered:
        priority = (message.headers or {}).get(PRIORITY_HEADER, 0)
        return Delivered(
            message_id=message.message_id or "",
            payload=message.body,
            delivery_count=count,
            priority=priority if isinstance(priority, int) else 0,
            receipt=receipt,
        )

    async def dequeue(self, ns: str, queue: str, visibility_ms: int | None) -> Delivered | None:
        message, channel = await self._get(ns, queue, no_ack=visibility_ms is None)
        if message is None:
            return None
        counts = self._ns(ns).counts
        message_id = message.message_id or ""
        count = counts.pop(message_id, 0) + 1
        if visibility_ms is None:
            return self._delivered(ns, message, count)
        counts[message_id] = count
        receipt = uuid.uuid4().hex
        held = self._held[receipt] = _Held(ns, queue, message, channel)
        self._arm(receipt, held, visibility_ms)
        return self._delivered(ns, message, count, receipt)

    async def peek(self, ns: str, queue: str) -> Delivered | None:
        message, _ = await self._get(ns, queue, no_ack=False)
        if message is None:
            return None
        await bounded(message.nack(requeue=True))
        return self._delivered(ns, message, self._ns(ns).counts.get(message.message_id or "", 0))

    # -- queue_visibility ---------------------------------------------------------------

    def _arm(self, receipt: str, held: _Held, visibility_ms: int) -> None:
        if held.timer is not None:
            held.timer.cancel()
        held.timer = asyncio.get_running_loop().call_later(visibility_ms / 1000, self._expire, receipt)

    def _expire(self, receipt: str) -> None:
        held = self._held.pop(receipt, None)
        if held is None:
            return
        task = asyncio.get_running_loop().create_task(self._return(held))
        self._tasks.add(task)
        task.add_done_callback(self._returned)

    def _returned(self, task: asyncio.Task[None]) -> None:
        """A timed-out delivery that could not be returned stays unacked on its channel; the
        broker requeues it when the channel or connection closes."""
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("returning a timed-out delivery failed: %s", type(task.exception()).__name__)

    def _current(self, ns: str, queue: str, receipt: str) -> _Held | None:
        held = self._held.get(receipt)
        if held is None or held.ns != ns or held.queue != queue or held.channel.is_closed:
            return None
        return held

    async def extend(self, ns: str, queue: str, receipt: str, visibility_ms: int) -> bool:
        held = self._current(ns, queue, receipt)
        if held is None:
            return False
        self._arm(receipt, held, visibility_ms)
        return True

    def _settle(self, ns: str, queue: str, receipt: str) -> _Held | None:
        """The current delivery of `receipt`, no longer held (its timer cancelled); None if stale."""
        held = self._current(ns, queue, receipt)
        if held is not None:
            del self._held[receipt]
            if held.timer is not None:
                held.timer.cancel()
        return held

    async def release(self, ns: str, queue: str, receipt: str) -> bool:
        held = self._settle(ns, queue, receipt)
        if held is None:
            return False
        await self._return(held)
        return True

    async def ack(self, ns: str, queue: str, receipt: str) -> bool:
        held = self._settle(ns, queue, receipt)
        if held is None:
            return False
        await bounded(held.message.ack())
        self._ns(ns).counts.pop(held.message.message_id or "", None)
        return True

    async def _return(self, held: _Held) -> None:
        """Make a held delivery visible again in its place, or move it to the dead-letter
        queue when it has had its maximum deliveries."""
        if held.channel.is_closed:
            return  # the broker requeued it already
        state = self._namespaces.get(held.ns)
        config = state.dead_letters.get(held.queue) if state else None
        count = state.counts.get(held.message.message_id or "", 0) if state else 0
        if state is None or config is None or count < config.max_deliveries:
            await bounded(held.message.nack(requeue=True))
            return
        message = aio_pika.Message(
            held.message.body,
            message_id=held.message.message_id,
            priority=held.message.priority,
            headers=held.message.headers,
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        )
        await self._publish(held.ns, config.target, message)
        await bounded(held.message.ack())
        config.moved += 1

    # -- queue_dead_letter --------------------------------------------------------------

    async def configure_dead_letter(self, ns: str, queue: str, dead_letter_queue: str, max_deliveries: int) -> None:
        await self.conn.queue(ns, names.QUEUE, dead_letter_queue)
        dead_letters = self._ns(ns).dead_letters
        moved = dead_letters[queue].moved if queue in dead_letters else 0
        dead_letters[queue] = _DeadLetter(dead_letter_queue, max_deliveries, moved)

    async def dead_letter(self, ns: str, queue: str) -> tuple[str, int, int] | None:
        state = self._namespaces.get(ns)
        config = state.dead_letters.get(queue) if state else None
        if config is None:
            return None
        return config.target, config.max_deliveries, config.moved
