"""Streams as Kafka topics: one topic of PARTITIONS partitions per stream, created by its first
Append; a record's offset is its Kafka offset in its partition (decimal), its timestamp the
record's Kafka timestamp. Append with a key routes by crc32(key) % PARTITIONS.

Reads use a consumer of their own, assigned at an explicit offset (feed.py): a read from
`latest` starts at the partition's high watermark taken before `ready`.

Retention: Kafka's own retention (retention.ms) would remove records by itself, which the
contract leaves to Compact; so the policy is kept in a namespace's 1-partition policies topic
(key: stream name, value: JSON, the last one wins), and Compact enforces it with DeleteRecords:
up to the first offset with timestamp >= now - max_age_ms (ListOffsets by time), and up to
high watermark - max_records. Reading a trimmed offset starts at the log start offset:
behaviours.stream_retention.trimmed_read is `earliest`.
"""

from __future__ import annotations

import json
import re
import time
import zlib
from typing import AsyncIterator

from prism_kafka import names
from prism_kafka.connection import CALL_TIMEOUT_S, KafkaConnection
from prism_kafka.feed import Feed
from prism_plugin.contracts.stream.basic import EARLIEST, Start, StoredRecord
from prism_plugin.status import invalid, out_of_range, shown, unavailable

PARTITIONS = 4
POLICIES = "policies"
OFFSET = re.compile(r"[0-9]{1,18}")


def partition_of(key: str) -> int:
    return zlib.crc32(key.encode()) % PARTITIONS if key else 0


def parse_offset(offset: str) -> int:
    if not OFFSET.fullmatch(offset):
        raise invalid(f"offset {shown(offset)} is not a Kafka offset (a decimal number)")
    return int(offset)


def check_partition(partition: int) -> None:
    if not 0 <= partition < PARTITIONS:
        raise out_of_range(f"partition {partition} is not in 0..{PARTITIONS - 1}")


def record(message, partition: int) -> StoredRecord:
    headers = {name: (value or b"").decode("utf-8", "replace") for name, value in message.headers() or ()}
    key = message.key()
    return StoredRecord(
        offset=str(message.offset()),
        payload=message.value() or b"",
        partition=partition,
        timestamp_ms=message.timestamp()[1],
        key=key.decode("utf-8", "replace") if key else "",
        headers=headers,
    )


class KafkaStreams:
    def __init__(self, conn: KafkaConnection):
        self.conn = conn

    @staticmethod
    def _topic(ns: str, stream: str) -> str:
        return names.topic(ns, names.STREAM, stream)

    async def _records(self, topic: str, partition: int, begin: int, end: int) -> AsyncIterator[object]:
        """The messages of [begin, end) of a partition (end at most its high watermark)."""
        if begin >= end:
            return
        feed = await Feed(self.conn.readers, self.conn.tails, topic, partition, begin).start()
        try:
            while True:
                message = await feed.next(CALL_TIMEOUT_S)
                if message is None:
                    raise unavailable(f"Kafka did not deliver offsets {begin}..{end - 1} within {CALL_TIMEOUT_S} s")
                if message.offset() >= end:
                    return
                yield message
                if message.offset() >= end - 1:
                    return
        finally:
            feed.close()

    # stream_basic
    async def append(self, ns, stream, partition, key, payload, headers):
        if partition is not None:
            check_partition(partition)
        topic = self._topic(ns, stream)
        await self.conn.ensure_topic(topic, PARTITIONS)
        number = partition_of(key) if partition is None else partition
        wire_headers = [(name, value.encode()) for name, value in headers.items()]
        written, offset, _ = await self.conn.produce(topic, number, key.encode() or None, payload, wire_headers)
        return str(offset), written

    async def start(self, ns, stream, partition, position, latest):
        check_partition(partition)
        marks = await self.conn.watermarks(self._topic(ns, stream), partition)
        high = marks[1] if marks else 0
        if latest:
            return Start(str(high))
        if position is None:
            return EARLIEST
        offset = parse_offset(position)
        if offset > high:
            raise invalid(f"offset {offset} is beyond the end of partition {partition} (next offset {high})")
        return Start(str(offset))

    async def read(self, ns, stream, partition, start, max_records, idle_s) -> AsyncIterator[StoredRecord]:
        check_partition(partition)
        topic = self._topic(ns, stream)
        marks = await self.conn.watermarks(topic, partition)
        if marks is None:
            if idle_s <= 0:
                return
            await self.conn.ensure_topic(topic, PARTITIONS)  # to wait on it for a first record
            marks = (0, 0)
        low, high = marks
        begin = low if start.offset is None else max(int(start.offset) + (0 if start.inclusive else 1), low)
        if begin >= high and idle_s <= 0:
            return
        feed = await Feed(self.conn.readers, self.conn.tails, topic, partition, begin).start()
        try:
            sent, following = 0, begin
            while max_records == 0 or sent < max_records:
                if following >= high:
                    if idle_s <= 0:
                        return
                    message = await feed.next(idle_s)
                    if message is None:
                        return
                else:
                    message = await feed.next(CALL_TIMEOUT_S)
                    if message is None:
                        raise unavailable(f"Kafka did not deliver offset {following} (of {high}) within {CALL_TIMEOUT_S} s")
                following = message.offset() + 1
                sent += 1
                yield record(message, partition)
        finally:
            feed.close()

    async def latest(self, ns, stream, partition):
        check_partition(partition)
        marks = await self.conn.watermarks(self._topic(ns, stream), partition)
        if marks is None or marks[1] <= marks[0]:
            return None
        return str(marks[1] - 1)

    # stream_replay
    async def start_at_time(self, ns, stream, timestamp_ms):
        topic = self._topic(ns, stream)
        marks = await self.conn.watermarks(topic, 0)
        if marks is None:
            return EARLIEST
        found = await self.conn.offset_for_time(topic, 0, max(0, timestamp_ms))
        return Start(str(marks[1] if found < 0 else found))

    async def replay(self, ns, stream, from_offset, to_offset):
        begin, end = parse_offset(from_offset), parse_offset(to_offset)
        topic = self._topic(ns, stream)
        marks = await self.conn.watermarks(topic, 0)
        if marks is None:
            return []
        low, high = marks
        return [record(m, 0) async for m in self._records(topic, 0, max(begin, low), min(end, high))]

    # stream_retention
    async def set_retention(self, ns, stream, max_records, max_age_ms):
        topic = names.topic(ns, names.POLICIES, POLICIES)
        await self.conn.ensure_topic(topic, 1)
        policy = json.dumps({"max_records": max_records, "max_age_ms": max_age_ms}).encode()
        await self.conn.produce(topic, 0, stream.encode("utf-8", "surrogatepass"), policy, None)

    async def get_retention(self, ns, stream):
        topic = names.topic(ns, names.POLICIES, POLICIES)
        marks = await self.conn.watermarks(topic, 0)
        if marks is None:
            return 0, 0
        wanted = stream.encode("utf-8", "surrogatepass")
        policy = {"max_records": 0, "max_age_ms": 0}
        async for message in self._records(topic, 0, marks[0], marks[1]):
            if message.key() == wanted:
                policy = json.loads(message.value())
        return int(policy["max_records"]), int(policy["max_age_ms"])

    async def compact(self, ns, stream):
        max_records, max_age_ms = await self.get_retention(ns, stream)
        if not max_records and not max_age_ms:
            return 0
        topic = self._topic(ns, stream)
        now_ms = int(time.time() * 1000)
        removed = 0
        for partition in range(PARTITIONS):
            marks = await self.conn.watermarks(topic, partition)
            if marks is None:
                return 0
            low, high = marks
            cut = low
            if max_age_ms:
                young = await self.conn.offset_for_time(topic, partition, now_ms - max_age_ms)
                cut = max(cut, high if young < 0 else young)
            if max_records:
                cut = max(cut, high - max_records)
            if cut > low:
                await self.conn.delete_records(topic, partition, cut)
                removed += cut - low
        return removed

    # stream_partitioning
    async def partitions(self, ns, stream):
        return PARTITIONS
