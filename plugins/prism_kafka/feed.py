"""A reader of one topic partition from one offset, run by a thread of its own, which hands each
record to the event loop. Reads and subscriptions each get one: the position is explicit (assign
at an offset, never a group rebalance), so a read or subscription is live as soon as the feed is
assigned, and `ready` may be sent then.

Consumers are long-lived and shared one at a time (ConsumerPool): a feed takes an idle one,
assigns it at its offset and gives it back unassigned, so a read costs an assign, not a new
librdkafka client. A feed that reached the end of its partition pauses it: a broker that answers
an empty fetch at once (rather than holding it for fetch.wait.max.ms) would otherwise be fetched
from thousands of times a second. A paused feed wakes when this plugin writes to its partition
(Tails, told by every acknowledged produce), and checks the partition's high watermark every
EXTERNAL_POLL_S for records other clients wrote.
"""

from __future__ import annotations

import asyncio
import threading
from collections import defaultdict
from typing import Any, Callable, Protocol

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition

from prism_plugin.status import unavailable

CONSUME_WAIT_S = 0.05  # how long one consume() waits while fetching; also how soon a closed feed's thread ends
EXTERNAL_POLL_S = 0.5  # how often a paused feed asks for the high watermark (records of other writers)
ASSIGN_TIMEOUT_S = 3.0
WATERMARK_TIMEOUT_S = 3.0
BATCH = 100
MAX_BUFFERED = 200  # records handed over and not yet taken: a slow reader stops the consumer
MAX_IDLE = 8  # idle consumers the pool keeps
_END = object()


class Watcher(Protocol):
    def written(self, next_offset: int) -> None:
        ...


class Tails:
    """Who waits for records of which partition: produce() tells them the next offset."""

    def __init__(self) -> None:
        self._watchers: defaultdict[tuple[str, int], set[Watcher]] = defaultdict(set)
        self._lock = threading.Lock()

    def watch(self, topic: str, partition: int, watcher: Watcher) -> None:
        with self._lock:
            self._watchers[(topic, partition)].add(watcher)

    def unwatch(self, topic: str, partition: int, watcher: Watcher) -> None:
        with self._lock:
            watchers = self._watchers.get((topic, partition))
            if watchers is not None:
                watchers.discard(watcher)
                if not watchers:
                    del self._watchers[(topic, partition)]

    def written(self, topic: str, partition: int, next_offset: int) -> None:
        with self._lock:
            watchers = list(self._watchers.get((topic, partition), ()))
        for watcher in watchers:
            watcher.written(next_offset)


class Pooled:
    """A pooled consumer and the topics it has metadata of: assigning a topic the consumer has
    not seen waits for librdkafka's next metadata refresh (~0.3-0.7 s) unless it is asked for
    the topic's metadata first."""

    MAX_TOPICS = 1000

    def __init__(self, consumer: Consumer) -> None:
        self.consumer = consumer
        self.topics: set[str] = set()

    def know(self, topic: str, timeout_s: float) -> None:
        if topic in self.topics:
            return
        self.consumer.list_topics(topic, timeout=timeout_s)
        if len(self.topics) >= self.MAX_TOPICS:
            self.topics.clear()
        self.topics.add(topic)


class ConsumerPool:
    """Unassigned consumers (no group joined) kept for the next feed; created on demand."""

    def __init__(self, make: Callable[[], Consumer]) -> None:
        self._make = make
        self._idle: list[Pooled] = []
        self._lock = threading.Lock()
        self._closed = False
        self.created = 0

    def acquire(self) -> Pooled:
        with self._lock:
            if self._idle:
                return self._idle.pop()
            self.created += 1
        return Pooled(self._make())

    def release(self, pooled: Pooled) -> None:
        """Take back a consumer; it is unassigned first (its fetched records are dropped)."""
        try:
            pooled.consumer.unassign()
        except KafkaException:
            pooled.consumer.close()
            return
        with self._lock:
            if not self._closed and len(self._idle) < MAX_IDLE:
                self._idle.append(pooled)
                return
        pooled.consumer.close()

    def close(self) -> None:
        with self._lock:
            idle, self._idle, self._closed = self._idle, [], True
        for pooled in idle:
            pooled.consumer.close()


class Feed:
    def __init__(self, pool: ConsumerPool, tails: Tails, topic: str, partition: int, offset: int):
        self.pool, self.tails, self.topic, self.partition, self.offset = pool, tails, topic, partition, offset
        self.queue: asyncio.Queue[Any] = asyncio.Queue()
        self._loop = asyncio.get_running_loop()
        self._assigned: asyncio.Future[None] = self._loop.create_future()
        self._stop = threading.Event()
        self._wake = threading.Event()  # a write to the partition, or close()
        self._lock = threading.Lock()
        self._written = -1  # the next offset after the newest record this plugin wrote to the partition
        self._thread = threading.Thread(target=self._run, name=f"prism-kafka-feed-{topic}", daemon=True)

    async def start(self) -> Feed:
        """Start consuming; return once the consumer is assigned at the offset."""
        self.tails.watch(self.topic, self.partition, self)
        self._thread.start()
        try:
            await asyncio.wait_for(asyncio.shield(self._assigned), ASSIGN_TIMEOUT_S)
        except asyncio.TimeoutError:
            self.close()
            raise unavailable(f"no Kafka consumer assigned within {ASSIGN_TIMEOUT_S} s") from None
        except BaseException:
            self.close()
            raise
        return self

    async def next(self, timeout_s: float | None) -> Any | None:
        """The next record (a confluent_kafka Message); None when none came within timeout_s or
        the feed was ended (end())."""
        try:
            item = await asyncio.wait_for(self.queue.get(), timeout_s) if timeout_s is not None else await self.queue.get()
        except asyncio.TimeoutError:
            return None
        if item is _END:
            self.queue.put_nowait(_END)  # every later next() sees the end too
            return None
        if isinstance(item, BaseException):
            raise item
        return item

    def end(self) -> None:
        """Make next() return None from now on (records already queued are dropped)."""
        while not self.queue.empty():
            self.queue.get_nowait()
        self.queue.put_nowait(_END)

    def close(self) -> None:
        self.tails.unwatch(self.topic, self.partition, self)
        self._stop.set()
        self._wake.set()

    def written(self, next_offset: int) -> None:
        """Tails: this plugin wrote to the partition up to next_offset."""
        with self._lock:
            self._written = max(self._written, next_offset)
        self._wake.set()

    def _hand(self, item: Any) -> bool:
        try:
            self._loop.call_soon_threadsafe(self.queue.put_nowait, item)
            return True
        except RuntimeError:  # the event loop is gone: the plugin is stopping
            return False

    def _settle(self, error: BaseException | None) -> None:
        def settle() -> None:
            if not self._assigned.done():
                if error is None:
                    self._assigned.set_result(None)
                else:
                    self._assigned.set_exception(error)

        try:
            self._loop.call_soon_threadsafe(settle)
        except RuntimeError:
            pass

    def _more_than(self, consumer: Consumer, end: int, woken: bool) -> bool:
        """Whether the partition has records at or beyond `end` (where the feed paused)."""
        with self._lock:
            if self._written > end:
                return True
        if woken:
            return False
        try:
            _, high = consumer.get_watermark_offsets(TopicPartition(self.topic, self.partition), timeout=WATERMARK_TIMEOUT_S, cached=False)
        except KafkaException:
            return True  # fetching again reports the error, if it lasts
        return high > end

    def _run(self) -> None:
        try:
            pooled = self.pool.acquire()
        except KafkaException as e:
            self._settle(e)
            return
        consumer, here = pooled.consumer, TopicPartition(self.topic, self.partition)
        try:
            pooled.know(self.topic, ASSIGN_TIMEOUT_S)
            consumer.assign([TopicPartition(self.topic, self.partition, self.offset)])
        except KafkaException as e:
            self._settle(e)
            self.pool.release(pooled)
            return
        self._settle(None)
        following, paused_at = self.offset, None
        try:
            while not self._stop.is_set():
                if self.queue.qsize() >= MAX_BUFFERED:
                    self._stop.wait(CONSUME_WAIT_S)  # the reader is behind: wait for it (or for close)
                    continue
                if paused_at is not None:
                    woken = self._wake.wait(EXTERNAL_POLL_S)
                    self._wake.clear()
                    if self._stop.is_set() or not self._more_than(consumer, paused_at, woken):
                        continue
                    consumer.resume([here])
                    consumer.seek(TopicPartition(self.topic, self.partition, following))  # a resume alone may wait ~1 s to fetch
                    paused_at = None
                for message in consumer.consume(BATCH, CONSUME_WAIT_S):
                    error, offset = message.error(), message.offset()
                    mine = message.topic() == self.topic and message.partition() == self.partition and offset is not None
                    if error is not None:
                        if error.code() == KafkaError._PARTITION_EOF and mine and offset is not None:
                            with self._lock:
                                if self._written <= offset:
                                    paused_at = offset
                            if paused_at is not None:
                                consumer.pause([here])
                            continue
                        if not error.retriable() and not self._hand(KafkaException(error)):
                            return
                        continue
                    if not mine or offset is None or offset < following:
                        continue  # fetched for an earlier assignment of the pooled consumer
                    following = offset + 1
                    if self._stop.is_set() or not self._hand(message):
                        return
        except KafkaException as e:
            self._hand(e)
        finally:
            if paused_at is not None:
                try:
                    consumer.resume([here])  # a pooled consumer's next assignment of the partition starts unpaused
                except KafkaException:
                    pass
            self.pool.release(pooled)
