"""A consumer of one topic partition from one offset, owned by a thread of its own, which hands
each record to the event loop. Reads and subscriptions each get one: the position is explicit
(assign at an offset, never a group rebalance), so a read or subscription is live as soon as
the feed is assigned, and `ready` may be sent then."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition

from prism_plugin.status import unavailable

CONSUME_WAIT_S = 0.05  # how long one consume() waits; also how soon a closed feed's thread ends
ASSIGN_TIMEOUT_S = 3.0
BATCH = 100
MAX_BUFFERED = 200  # records handed over and not yet taken: a slow reader stops the consumer
_END = object()


class Feed:
    def __init__(self, config: dict[str, Any], topic: str, partition: int, offset: int):
        self.config, self.topic, self.partition, self.offset = config, topic, partition, offset
        self.queue: asyncio.Queue[Any] = asyncio.Queue()
        self._loop = asyncio.get_running_loop()
        self._assigned: asyncio.Future[None] = self._loop.create_future()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"prism-kafka-feed-{topic}", daemon=True)

    async def start(self) -> Feed:
        """Start consuming; return once the consumer is assigned at the offset."""
        self._thread.start()
        try:
            await asyncio.wait_for(asyncio.shield(self._assigned), ASSIGN_TIMEOUT_S)
        except asyncio.TimeoutError:
            self.close()
            raise unavailable(f"no Kafka consumer assigned within {ASSIGN_TIMEOUT_S} s") from None
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
        self._stop.set()

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

    def _run(self) -> None:
        try:
            consumer = Consumer(self.config)
            consumer.assign([TopicPartition(self.topic, self.partition, self.offset)])
        except KafkaException as e:
            self._settle(e)
            return
        self._settle(None)
        try:
            while not self._stop.is_set():
                if self.queue.qsize() >= MAX_BUFFERED:
                    self._stop.wait(CONSUME_WAIT_S)  # the reader is behind: wait for it (or for close)
                    continue
                for message in consumer.consume(BATCH, CONSUME_WAIT_S):
                    error = message.error()
                    if error is not None:
                        if error.code() == KafkaError._PARTITION_EOF:
                            continue
                        if not error.retriable() and not self._hand(KafkaException(error)):
                            return
                        continue
                    if self._stop.is_set() or not self._hand(message):
                        return
        finally:
            consumer.close()
