"""stream_consumer_groups as Kafka consumer groups, over partition 0 of the stream's topic.

A group is a Kafka consumer group (names.py: prism.<ns>.g.<stream>.<group>) that exists once it
has a committed offset for partition 0: CreateConsumerGroup commits the start position. Each
JoinConsumerGroup stream is a real member of the Kafka group (subscribe; `ready` once the
group's rebalance has given it its assignment, maybe none), so Kafka decides which member reads
partition 0: one member at a time, as Kafka assigns a partition to one member of a group.

The committed offset is the first record not acked: Ack marks records, and the contiguous
acked prefix is committed (through the member that owns partition 0, as Kafka wants commits from
a group's members). A member that takes over partition 0 (after the owner left) starts at the
committed offset, so what was delivered and not acked comes again. Which records were delivered
and when, and which consumers are live, is kept in this plugin process (Kafka keeps only the
committed offset): pending counts and redelivery after redeliver_after_ms (the owner seeks back
to the oldest overdue record) see the deliveries of this process.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, AsyncIterator

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition

from prism_kafka import names
from prism_kafka.connection import KafkaConnection, consumer_config
from prism_kafka.feed import EXTERNAL_POLL_S, MAX_BUFFERED, WATERMARK_TIMEOUT_S, Tails
from prism_kafka.streams import PARTITIONS, parse_offset, record
from prism_plugin.contracts.stream.basic import StoredRecord
from prism_plugin.contracts.stream.consumer_groups import no_group
from prism_plugin.status import already_exists, invalid, shown, unavailable

JOIN_TIMEOUT_S = 4.5  # the rebalance that admits a member; below the suite's 5 s wait for `ready`
CONSUME_WAIT_S = 0.05
LEAVE_TIMEOUT_S = 5.0

log = logging.getLogger("prism.kafka")
Key = tuple[str, str, str]  # namespace, stream, group


@dataclass
class _Group:
    """What this process knows of a group beyond Kafka's committed offset."""

    committed: int
    delivered_next: int  # one past the highest offset delivered in the group
    acked: set[int] = field(default_factory=set)  # acked offsets above `committed`
    delivered_at: dict[int, float] = field(default_factory=dict)  # unacked deliveries: offset -> time
    owner: _Member | None = None  # the member Kafka assigned partition 0
    members: set[_Member] = field(default_factory=set)  # running members of this process
    lock: threading.Lock = field(default_factory=threading.Lock)

    def pending(self) -> int:
        return len([o for o in self.delivered_at if o >= self.committed and o not in self.acked])


class _Member:
    """One JoinConsumerGroup stream: a Kafka consumer in the group, run by a thread of its own."""

    def __init__(self, config: dict[str, Any], topic: str, state: _Group, redeliver_ms: int, tails: Tails):
        self.config, self.topic, self.state, self.redeliver_s, self.tails = config, topic, state, redeliver_ms / 1000, tails
        self.loop = asyncio.get_running_loop()
        self.queue: asyncio.Queue[Any] = asyncio.Queue()
        self.joined: asyncio.Future[None] = self.loop.create_future()
        self.consumer: Consumer | None = None
        self.stop = threading.Event()
        self.commits: queue.SimpleQueue[int] = queue.SimpleQueue()
        self.lock = threading.Lock()
        self.written_next = -1  # Tails: the next offset after what this plugin wrote to partition 0
        self.paused_at: int | None = None  # partition 0 is paused at its end (this offset)
        self.polled_at = 0.0
        self.following = 0  # the offset after the last record fetched
        self.thread = threading.Thread(target=self._run, name=f"prism-kafka-member-{topic}", daemon=True)

    def _call_soon(self, fn: Any, *args: Any) -> None:
        try:
            self.loop.call_soon_threadsafe(fn, *args)
        except RuntimeError:  # the event loop is gone: the plugin is stopping
            self.stop.set()

    def _joined(self, error: BaseException | None = None) -> None:
        def settle() -> None:
            if self.joined.done():
                return
            if error is not None:
                self.joined.set_exception(error)
            else:
                self.joined.set_result(None)

        self._call_soon(settle)

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        """Take partition 0 at the first record not acked that this process knows of (Kafka's
        committed offset may lag behind it while the group was rebalancing), and commit that."""
        for p in partitions:
            if p.partition == 0:
                with self.state.lock:
                    self.state.owner = self
                    p.offset = self.state.committed
                self.commits.put(p.offset)
                self.following = p.offset
        consumer.assign(partitions)
        if self.paused_at is not None:
            consumer.resume(partitions)  # paused before a revoke: the new assignment fetches
            self.paused_at = None
        self._joined()

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        with self.state.lock:
            if self.state.owner is self:
                self.state.owner = None

    def _wanted(self, offset: int, now: float) -> bool:
        """Whether to deliver the record at `offset`, noting the delivery (under the lock)."""
        s = self.state
        if offset < s.committed or offset in s.acked:
            return False
        delivered = s.delivered_at.get(offset)
        if delivered is not None and (not self.redeliver_s or now - delivered < self.redeliver_s):
            return False
        s.delivered_at[offset] = now
        s.delivered_next = max(s.delivered_next, offset + 1)
        return True

    def _overdue(self, now: float) -> int | None:
        s = self.state
        if not self.redeliver_s or s.owner is not self:
            return None
        late = [o for o, at in s.delivered_at.items() if now - at >= self.redeliver_s and o >= s.committed and o not in s.acked]
        return min(late) if late else None

    def _run(self) -> None:
        try:
            consumer = Consumer(self.config)
            consumer.subscribe([self.topic], on_assign=self._on_assign, on_revoke=self._on_revoke, on_lost=self._on_revoke)
        except KafkaException as e:
            self._joined(e)
            return
        self.consumer = consumer
        with self.state.lock:
            self.state.members.add(self)
        try:
            while not self.stop.is_set():
                self._commit_requested(consumer)
                if self.queue.qsize() >= MAX_BUFFERED:
                    self.stop.wait(CONSUME_WAIT_S)  # the consumer's stream is behind: wait for it
                    continue
                messages = consumer.consume(100, CONSUME_WAIT_S)  # also serves rebalances while paused
                now = time.monotonic()
                for message in messages:
                    offset = message.offset()
                    error = message.error()
                    if error is not None:
                        if error.code() == KafkaError._PARTITION_EOF and message.partition() == 0 and offset is not None:
                            self._pause_at(consumer, offset)
                        continue
                    if message.partition() != 0 or offset is None:
                        continue
                    self.following = offset + 1
                    with self.state.lock:
                        wanted = self._wanted(offset, now)
                    if wanted:
                        self._call_soon(self.queue.put_nowait, record(message, 0))
                with self.state.lock:
                    overdue = self._overdue(now)
                if overdue is not None:
                    self._fetch_from(consumer, overdue)
                elif self.paused_at is not None and self._more_than(consumer, self.paused_at, now):
                    self._fetch_from(consumer, self.following)
        finally:
            self.tails.unwatch(self.topic, 0, self)
            self._on_revoke(consumer, [])
            self._commit_requested(consumer)
            consumer.close()
            with self.state.lock:
                self.state.members.discard(self)  # leaves the group: Kafka gives partition 0 to another member

    def written(self, next_offset: int) -> None:
        """Tails: this plugin wrote to partition 0 up to next_offset."""
        with self.lock:
            self.written_next = max(self.written_next, next_offset)

    def _pause_at(self, consumer: Consumer, end: int) -> None:
        """At the end of partition 0: stop fetching (feed.py says why) unless more was written."""
        with self.lock:
            if self.written_next > end:
                return
            self.paused_at, self.polled_at = end, time.monotonic()
        consumer.pause([TopicPartition(self.topic, 0)])

    def _more_than(self, consumer: Consumer, end: int, now: float) -> bool:
        """Whether partition 0 has records at or beyond `end`: written here, or (every
        EXTERNAL_POLL_S) by other clients, by its high watermark."""
        with self.lock:
            if self.written_next > end:
                return True
        if now - self.polled_at < EXTERNAL_POLL_S:
            return False
        self.polled_at = now
        try:
            _, high = consumer.get_watermark_offsets(TopicPartition(self.topic, 0), timeout=WATERMARK_TIMEOUT_S, cached=False)
        except KafkaException:
            return True
        return high > end

    def _fetch_from(self, consumer: Consumer, offset: int) -> None:
        """Fetch partition 0 from offset (resumed if paused; a resume alone may wait ~1 s)."""
        try:
            if self.paused_at is not None:
                consumer.resume([TopicPartition(self.topic, 0)])
                self.paused_at = None
            consumer.seek(TopicPartition(self.topic, 0, offset))
        except KafkaException:
            pass  # not fetching yet (or revoked meanwhile): the next round tries again

    def _commit_requested(self, consumer: Consumer) -> None:
        """Commit the newest offset Ack asked for, from this thread (the consumer's own)."""
        offset = None
        while True:
            try:
                offset = self.commits.get_nowait()
            except queue.Empty:
                break
        if offset is None:
            return
        try:
            consumer.commit(offsets=[TopicPartition(self.topic, 0, offset)], asynchronous=False)
        except KafkaException as e:  # revoked meanwhile: the next owner starts earlier (redelivery)
            log.warning("commit of offset %d failed: %s", offset, e)

    def commit(self, offset: int) -> None:
        """Have the consumer's thread commit `offset` (at once, and before it leaves the group)."""
        self.commits.put(offset)

    async def start(self) -> None:
        self.tails.watch(self.topic, 0, self)
        self.thread.start()
        try:
            await asyncio.wait_for(asyncio.shield(self.joined), JOIN_TIMEOUT_S)
        except asyncio.TimeoutError:
            self.stop.set()
            raise unavailable(f"Kafka's group rebalance did not admit the consumer within {JOIN_TIMEOUT_S} s") from None

    async def leave(self) -> None:
        self.stop.set()
        await asyncio.get_running_loop().run_in_executor(None, self.thread.join, LEAVE_TIMEOUT_S)


class KafkaGroups:
    def __init__(self, conn: KafkaConnection):
        self.conn = conn
        self._groups: dict[Key, _Group] = {}
        self._live: dict[Key, Counter[str]] = {}
        self._joining: dict[tuple[str, str, str, str], list[_Member]] = {}
        self._members: dict[_Member, str] = {}  # every running member -> its namespace

    @staticmethod
    def _topic(ns: str, stream: str) -> str:
        return names.topic(ns, names.STREAM, stream)

    async def _state(self, ns: str, stream: str, group: str) -> _Group:
        """The group's state; NOT_FOUND when Kafka has no committed offset for it."""
        key = (ns, stream, group)
        committed = await self.conn.committed(names.stream_group(ns, stream, group), self._topic(ns, stream))
        if committed is None:
            self._groups.pop(key, None)
            raise no_group(group)
        state = self._groups.get(key)
        if state is None:
            state = self._groups[key] = _Group(committed, committed)
        return state

    async def create_group(self, ns, stream, group, position, latest):
        topic = self._topic(ns, stream)
        kafka_group = names.stream_group(ns, stream, group)
        await self.conn.ensure_topic(topic, PARTITIONS)
        if await self.conn.committed(kafka_group, topic) is not None:
            raise already_exists(f"consumer group {shown(group)} already exists on the stream")
        low, high = await self.conn.watermarks(topic, 0) or (0, 0)
        start = high if latest else low
        if position is not None and not latest:
            start = parse_offset(position)
            if start > high:
                raise invalid(f"offset {start} is beyond the end of partition 0 (next offset {high})")
            start = max(start, low)
        await self.conn.commit(kafka_group, topic, start)
        self._groups[(ns, stream, group)] = _Group(start, start)

    async def join(self, ns, stream, group, consumer):
        state = await self._state(ns, stream, group)
        config = {
            **consumer_config(self.conn.servers or "", names.stream_group(ns, stream, group)),
            "client.id": f"prism-kafka-{uuid.uuid4().hex[:12]}",
            "partition.assignment.strategy": "range",
        }
        member = _Member(config, self._topic(ns, stream), state, 0, self.conn.tails)
        self._members[member] = ns
        await member.start()
        self._live.setdefault((ns, stream, group), Counter())[consumer] += 1
        self._joining.setdefault((ns, stream, group, consumer), []).append(member)

    async def deliver(self, ns, stream, group, consumer, redeliver_ms) -> AsyncIterator[StoredRecord]:
        member = self._joining[(ns, stream, group, consumer)].pop(0)
        member.redeliver_s = redeliver_ms / 1000
        try:
            while True:
                yield await member.queue.get()
        finally:
            self._members.pop(member, None)
            await member.leave()

    async def leave(self, ns, stream, group, consumer):
        live = self._live.get((ns, stream, group))
        if live is not None:
            live[consumer] -= 1
            if live[consumer] <= 0:
                del live[consumer]
        waiting = self._joining.get((ns, stream, group, consumer))
        if waiting:  # joined, and the stream ended before delivering began
            member = waiting.pop(0)
            self._members.pop(member, None)
            await member.leave()

    async def ack(self, ns, stream, group, offsets):
        wanted = {parse_offset(o) for o in offsets}
        state = await self._state(ns, stream, group)
        with state.lock:
            settled = [o for o in wanted if o >= state.committed and o not in state.acked and o in state.delivered_at]
            state.acked.update(settled)
            for o in settled:
                state.delivered_at.pop(o, None)
            before = state.committed
            while state.committed in state.acked:
                state.acked.discard(state.committed)
                state.committed += 1
            committed, owner, members = state.committed, state.owner, bool(state.members)
        if committed != before:
            await self._commit(ns, stream, group, committed, owner, members)
        return len(settled)

    async def _commit(self, ns: str, stream: str, group: str, offset: int, owner: _Member | None, members: bool) -> None:
        """Commit through the member that owns partition 0 (Kafka takes a group's commits from
        its members); while the group rebalances, the next owner commits it when assigned; a
        group without members here is committed to as a standalone client."""
        if owner is not None and not owner.stop.is_set():
            owner.commit(offset)
            return
        if members:
            return
        try:
            await self.conn.commit(names.stream_group(ns, stream, group), self._topic(ns, stream), offset)
        except KafkaException as e:  # members in another process: Kafka's offset lags (at least once)
            log.warning("standalone commit of offset %d failed: %s", offset, e)

    async def group_info(self, ns, stream, group):
        state = await self._state(ns, stream, group)
        with state.lock:
            pending = state.pending()
        return sorted(self._live.get((ns, stream, group), {})), pending

    async def forget(self, ns: str) -> None:
        """DropNamespace: stop the namespace's members still running (their streams are gone)
        and wait until they have left their groups; forget what this process knew of them."""
        for member in [m for m, member_ns in self._members.items() if member_ns == ns]:
            del self._members[member]
            await member.leave()
        for key in [k for k in self._groups if k[0] == ns]:
            del self._groups[key]
        for key in [k for k in self._live if k[0] == ns]:
            del self._live[key]
