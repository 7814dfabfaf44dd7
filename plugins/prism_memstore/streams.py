"""MemStore's streams and their consumer groups: per stream a fixed number of partitions, each a list of records with
decimal offsets counting from 1, and a retention policy that only Compact enforces.

Reading a trimmed offset is OUT_OF_RANGE (registry: behaviours.stream_retention.trimmed_read).
A reader waiting for the next record waits on the stream's `appended` event, which every
append sets and replaces."""

from __future__ import annotations

import asyncio
import time
import zlib
from dataclasses import dataclass, field
from typing import AsyncIterator

from prism_plugin.contracts.stream.basic import EARLIEST, Start, StoredRecord
from prism_plugin.contracts.stream.consumer_groups import no_group
from prism_plugin.status import already_exists, invalid, out_of_range, shown

PARTITIONS = 4
# How often a consumer that waits for records looks for records to redeliver.
REDELIVERY_POLL_S = 0.02
IDLE_POLL_S = 1.0


def partition_of(key: str, partitions: int) -> int:
    """crc32, not hash(): the same key lands in the same partition in every process."""
    return zlib.crc32(key.encode()) % partitions if key else 0


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass
class _Partition:
    records: list[StoredRecord] = field(default_factory=list)
    next_seq: int = 1
    first_seq: int = 1  # the earliest retained offset (next_seq when empty)

    def index(self, seq: int) -> int:
        """Where the record with offset `seq` (or the first after it) is in `records`."""
        return max(0, min(seq - self.first_seq, len(self.records)))


@dataclass
class _Group:
    next_seq: int  # the first offset of partition 0 not yet delivered in the group
    pending: dict[int, tuple[str, float]] = field(default_factory=dict)  # offset: (consumer, delivered at)
    live: dict[str, int] = field(default_factory=dict)  # consumer: open JoinConsumerGroup streams


@dataclass
class _Stream:
    partitions: list[_Partition] = field(default_factory=lambda: [_Partition() for _ in range(PARTITIONS)])
    max_records: int = 0
    max_age_ms: int = 0
    appended: asyncio.Event = field(default_factory=asyncio.Event)
    groups: dict[str, _Group] = field(default_factory=dict)


class MemStreams:
    def __init__(self) -> None:
        self._spaces: dict[str, dict[str, _Stream]] = {}

    def drop(self, ns: str) -> None:
        self._spaces.pop(ns, None)

    def _stream(self, ns: str, stream: str) -> _Stream:
        return self._spaces.setdefault(ns, {}).setdefault(stream, _Stream())

    def _partition(self, s: _Stream, partition: int) -> _Partition:
        if not 0 <= partition < len(s.partitions):
            raise out_of_range(f"partition {partition} is not in 0..{len(s.partitions) - 1}")
        return s.partitions[partition]

    @staticmethod
    def _seq(offset: str) -> int:
        if not (offset.isascii() and offset.isdigit()) or int(offset) < 1:
            raise invalid(f"offset {shown(offset)} is not a MemStore offset (a decimal number from 1)")
        return int(offset)

    # stream_basic
    async def append(self, ns, stream, partition, key, payload, headers):
        s = self._stream(ns, stream)
        number = partition_of(key, len(s.partitions)) if partition is None else partition
        p = self._partition(s, number)
        last_ms = p.records[-1].timestamp_ms if p.records else 0
        record = StoredRecord(str(p.next_seq), payload, number, max(last_ms, _now_ms()), key, dict(headers))
        p.records.append(record)
        p.next_seq += 1
        s.appended.set()
        s.appended = asyncio.Event()
        return record.offset, number

    async def start(self, ns, stream, partition, position, latest):
        p = self._partition(self._stream(ns, stream), partition)
        if latest:
            return Start(str(p.next_seq - 1), inclusive=False) if p.next_seq > 1 else EARLIEST
        if position is None:
            return EARLIEST
        seq = self._seq(position)
        if seq < p.first_seq:
            raise out_of_range(f"offset {seq} was trimmed; the earliest retained offset is {p.first_seq}")
        return Start(position)

    async def read(self, ns, stream, partition, start, max_records, idle_s) -> AsyncIterator[StoredRecord]:
        s = self._stream(ns, stream)
        p = self._partition(s, partition)
        seq = 1 if start.offset is None else int(start.offset) + (0 if start.inclusive else 1)
        sent = 0
        while max_records == 0 or sent < max_records:
            appended = s.appended
            seq = max(seq, p.first_seq)  # records trimmed while reading are skipped
            i = p.index(seq)
            if i < len(p.records):
                record = p.records[i]
                seq = int(record.offset) + 1
                sent += 1
                yield record
                continue
            if idle_s <= 0:
                return
            try:
                await asyncio.wait_for(appended.wait(), idle_s)
            except asyncio.TimeoutError:
                return

    async def latest(self, ns, stream, partition):
        p = self._partition(self._stream(ns, stream), partition)
        return p.records[-1].offset if p.records else None

    # stream_replay
    async def start_at_time(self, ns, stream, timestamp_ms):
        p = self._partition(self._stream(ns, stream), 0)
        first = next((r for r in p.records if r.timestamp_ms >= timestamp_ms), None)
        return Start(first.offset) if first is not None else Start(str(p.next_seq - 1), inclusive=False)

    async def replay(self, ns, stream, from_offset, to_offset):
        p = self._partition(self._stream(ns, stream), 0)
        low, high = self._seq(from_offset), self._seq(to_offset)
        if low < p.first_seq:
            raise out_of_range(f"offset {low} was trimmed; the earliest retained offset is {p.first_seq}")
        return p.records[p.index(low) : p.index(max(low, high))]

    # stream_retention
    async def set_retention(self, ns, stream, max_records, max_age_ms):
        s = self._stream(ns, stream)
        s.max_records, s.max_age_ms = max_records, max_age_ms

    async def get_retention(self, ns, stream):
        s = self._stream(ns, stream)
        return s.max_records, s.max_age_ms

    async def compact(self, ns, stream):
        s, removed = self._stream(ns, stream), 0
        oldest_kept_ms = _now_ms() - s.max_age_ms
        for p in s.partitions:
            keep_from = len(p.records) - s.max_records if s.max_records else 0
            while keep_from < len(p.records) and s.max_age_ms and p.records[max(keep_from, 0)].timestamp_ms < oldest_kept_ms:
                keep_from = max(keep_from, 0) + 1
            keep_from = max(keep_from, 0)
            removed += keep_from
            del p.records[:keep_from]
            p.first_seq = int(p.records[0].offset) if p.records else p.next_seq
        return removed

    # stream_partitioning
    async def partitions(self, ns, stream):
        return len(self._stream(ns, stream).partitions)

    # stream_consumer_groups
    def _group(self, ns: str, stream: str, group: str) -> _Group:
        g = self._stream(ns, stream).groups.get(group)
        if g is None:
            raise no_group(group)
        return g

    async def create_group(self, ns, stream, group, position, latest):
        s = self._stream(ns, stream)
        if group in s.groups:
            raise already_exists(f"consumer group {shown(group)} already exists on the stream")
        p = s.partitions[0]
        s.groups[group] = _Group(p.next_seq if latest else 1 if position is None else self._seq(position))

    async def join(self, ns, stream, group, consumer):
        g = self._group(ns, stream, group)
        g.live[consumer] = g.live.get(consumer, 0) + 1

    async def leave(self, ns, stream, group, consumer):
        g = self._stream(ns, stream).groups.get(group)
        if g is not None and consumer in g.live:
            g.live[consumer] -= 1
            if not g.live[consumer]:
                del g.live[consumer]

    def _take(self, s: _Stream, g: _Group, consumer: str, redeliver_ms: int) -> StoredRecord | None:
        """The next record for the consumer: an unacked one due for redelivery, else a new one."""
        p, now = s.partitions[0], time.monotonic()
        if redeliver_ms:
            for seq, (_, delivered_at) in sorted(g.pending.items()):
                if seq < p.first_seq:
                    del g.pending[seq]  # trimmed: nothing left to deliver
                elif now - delivered_at >= redeliver_ms / 1000:
                    g.pending[seq] = (consumer, now)
                    return p.records[p.index(seq)]
        seq = max(g.next_seq, p.first_seq)
        i = p.index(seq)
        if i >= len(p.records):
            return None
        record = p.records[i]
        g.next_seq = int(record.offset) + 1
        g.pending[int(record.offset)] = (consumer, now)
        return record

    async def deliver(self, ns, stream, group, consumer, redeliver_ms) -> AsyncIterator[StoredRecord]:
        s = self._stream(ns, stream)
        poll_s = min(REDELIVERY_POLL_S, redeliver_ms / 1000) if redeliver_ms else IDLE_POLL_S
        while (g := s.groups.get(group)) is not None:
            appended = s.appended
            record = self._take(s, g, consumer, redeliver_ms)
            if record is not None:
                yield record
                continue
            try:
                await asyncio.wait_for(appended.wait(), poll_s)
            except asyncio.TimeoutError:
                pass

    async def ack(self, ns, stream, group, offsets):
        g, seqs = self._group(ns, stream, group), [self._seq(o) for o in offsets]
        return sum(g.pending.pop(seq, None) is not None for seq in seqs)

    async def group_info(self, ns, stream, group):
        g = self._group(ns, stream, group)
        return sorted(g.live), len(g.pending)
