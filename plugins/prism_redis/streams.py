"""Redis Streams under namespaced keys: one Redis stream per partition, offsets are Redis entry
ids ("<ms>-<seq>"), a record's timestamp is its id's ms. Retention is a hash per stream that
Compact enforces with XTRIM MINID and XTRIM MAXLEN (exact, not "~").

Reading a trimmed offset starts at the earliest retained record (XRANGE from a lower id):
registry behaviours.stream_retention.trimmed_read is `earliest`. A read waiting for new records
uses XREAD BLOCK on the blocking client, bounded by the request's idle timeout."""

from __future__ import annotations

import re
import zlib
from typing import Any, AsyncIterator

import redis.exceptions

from prism_plugin.contracts.stream.basic import EARLIEST, Start, StoredRecord
from prism_plugin.contracts.stream.consumer_groups import no_group
from prism_plugin.status import already_exists, invalid, out_of_range, shown
from prism_redis import keys as rk
from prism_redis.connection import RedisConnection

STREAM = "stream"
PARTITIONS = 4
PAGE = 500
GROUP_PAGE = 100
# How long a consumer's XREADGROUP blocks before it looks for records to redeliver.
REDELIVERY_POLL_MS = 20
IDLE_POLL_MS = 1000
PAYLOAD, KEY, HEADER = b"p", b"k", b"h:"
OFFSET = re.compile(r"[0-9]{1,20}-[0-9]{1,20}")


def partition_of(key: str, partitions: int) -> int:
    return zlib.crc32(key.encode()) % partitions if key else 0


def _id(offset: str) -> tuple[int, int]:
    if not OFFSET.fullmatch(offset):
        raise invalid(f"offset {shown(offset)} is not a Redis stream offset ('<ms>-<seq>')")
    ms, seq = offset.split("-")
    return int(ms), int(seq)


def _record(entry_id: bytes, fields: dict[bytes, bytes], partition: int) -> StoredRecord:
    offset = entry_id.decode()
    headers = {k[len(HEADER) :].decode(): v.decode() for k, v in fields.items() if k.startswith(HEADER)}
    return StoredRecord(offset, fields.get(PAYLOAD, b""), partition, int(offset.split("-")[0]), fields.get(KEY, b"").decode(), headers)


class RedisStreams:
    def __init__(self, conn: RedisConnection):
        self.conn = conn

    @staticmethod
    def _key(ns: str, stream: str, partition: int) -> bytes:
        if not 0 <= partition < PARTITIONS:
            raise out_of_range(f"partition {partition} is not in 0..{PARTITIONS - 1}")
        return rk.key(ns, STREAM, f"{partition}:{stream}")

    @staticmethod
    def _policy_key(ns: str, stream: str) -> bytes:
        return rk.key(ns, STREAM, f"policy:{stream}")

    @staticmethod
    def _live_key(ns: str, stream: str, group: str) -> bytes:
        """Live consumers: consumer -> open JoinConsumerGroup streams (Redis keeps a consumer that left,
        with its pending records, so XINFO CONSUMERS cannot tell)."""
        return rk.key(ns, STREAM, f"live:{len(group.encode())}:{group}:{stream}")

    # stream_basic
    async def append(self, ns, stream, partition, key, payload, headers):
        number = partition_of(key, PARTITIONS) if partition is None else partition
        k = self._key(ns, stream, number)
        fields: list[Any] = [PAYLOAD, payload]
        if key:
            fields += [KEY, key.encode()]
        for name, value in headers.items():
            fields += [HEADER + name.encode(), value.encode()]
        entry_id = await self.conn.write(ns, k, "XADD", k, "*", *fields)
        return entry_id.decode(), number

    async def _last(self, k: bytes) -> str | None:
        last = await self.conn.client.xrevrange(k, "+", "-", count=1)
        return last[0][0].decode() if last else None

    async def start(self, ns, stream, partition, position, latest):
        k = self._key(ns, stream, partition)
        if latest:
            last = await self._last(k)
            return Start(last, inclusive=False) if last is not None else EARLIEST
        if position is None:
            return EARLIEST
        _id(position)
        return Start(position)

    async def read(self, ns, stream, partition, start, max_records, idle_s) -> AsyncIterator[StoredRecord]:
        k = self._key(ns, stream, partition)
        if start.offset is None:
            low, after = "-", "0-0"
        elif start.inclusive:
            low, after = start.offset, _before(start.offset)
        else:
            low, after = "(" + start.offset, start.offset
        sent = 0
        while max_records == 0 or sent < max_records:
            want = PAGE if max_records == 0 else min(PAGE, max_records - sent)
            page = await self.conn.client.xrange(k, low, "+", count=want)
            if not page:
                if idle_s <= 0:
                    return
                answer = await self.conn.blocking.xread({k: after}, count=want, block=max(1, int(idle_s * 1000)))
                if not answer:
                    return
                page = answer[0][1]
            for entry_id, fields in page:
                sent += 1
                yield _record(entry_id, fields, partition)
            after = page[-1][0].decode()
            low = "(" + after

    async def latest(self, ns, stream, partition):
        return await self._last(self._key(ns, stream, partition))

    # stream_replay
    async def start_at_time(self, ns, stream, timestamp_ms):
        return Start(f"{max(0, timestamp_ms)}-0")

    async def replay(self, ns, stream, from_offset, to_offset):
        low, high = _id(from_offset), _id(to_offset)
        if low >= high:
            return []
        page = await self.conn.client.xrange(self._key(ns, stream, 0), from_offset, "(" + to_offset)
        return [_record(entry_id, fields, 0) for entry_id, fields in page]

    # stream_retention
    async def set_retention(self, ns, stream, max_records, max_age_ms):
        k = self._policy_key(ns, stream)
        await self.conn.write(ns, k, "HSET", k, "max_records", max_records, "max_age_ms", max_age_ms)

    async def get_retention(self, ns, stream):
        max_records, max_age_ms = await self.conn.client.hmget(self._policy_key(ns, stream), "max_records", "max_age_ms")
        return int(max_records or 0), int(max_age_ms or 0)

    async def compact(self, ns, stream):
        max_records, max_age_ms = await self.get_retention(ns, stream)
        removed = 0
        if max_age_ms:
            seconds, micros = await self.conn.client.time()
            oldest_kept = f"{seconds * 1000 + micros // 1000 - max_age_ms}-0"
        for partition in range(PARTITIONS):
            k = self._key(ns, stream, partition)
            if max_age_ms:
                removed += await self.conn.client.execute_command("XTRIM", k, "MINID", oldest_kept)
            if max_records:
                removed += await self.conn.client.execute_command("XTRIM", k, "MAXLEN", max_records)
        return removed

    # stream_consumer_groups
    async def _check_group(self, k: bytes, group: str) -> None:
        try:
            groups = await self.conn.client.xinfo_groups(k)
        except redis.exceptions.ResponseError as e:
            if "no such key" in str(e):
                raise no_group(group) from None
            raise
        if not any(g["name"] == group.encode() for g in groups):
            raise no_group(group)

    async def create_group(self, ns, stream, group, position, latest):
        k = self._key(ns, stream, 0)
        start = "$" if latest else "0" if position is None else _before(position)
        try:
            await self.conn.write(ns, k, "XGROUP", "CREATE", k, group, start, "MKSTREAM")
        except redis.exceptions.ResponseError as e:
            if "BUSYGROUP" in str(e):
                raise already_exists(f"consumer group {shown(group)} already exists on the stream") from None
            raise

    async def join(self, ns, stream, group, consumer):
        k = self._key(ns, stream, 0)
        await self._check_group(k, group)
        await self.conn.client.execute_command("XGROUP", "CREATECONSUMER", k, group, consumer)
        live = self._live_key(ns, stream, group)
        await self.conn.write(ns, live, "HINCRBY", live, consumer, 1)

    async def leave(self, ns, stream, group, consumer):
        live = self._live_key(ns, stream, group)
        if await self.conn.client.hincrby(live, consumer, -1) <= 0:
            await self.conn.client.hdel(live, consumer)

    async def deliver(self, ns, stream, group, consumer, redeliver_ms) -> AsyncIterator[StoredRecord]:
        k = self._key(ns, stream, 0)
        block_ms = min(REDELIVERY_POLL_MS, redeliver_ms) if redeliver_ms else IDLE_POLL_MS
        while True:
            page: list[Any] = []
            if redeliver_ms:
                claimed = await self.conn.client.xautoclaim(k, group, consumer, redeliver_ms, "0-0", count=GROUP_PAGE)
                page = [entry for entry in claimed[1] if entry[1] is not None]
            if not page:
                answer = await self.conn.blocking.xreadgroup(group, consumer, {k: ">"}, count=GROUP_PAGE, block=block_ms)
                page = answer[0][1] if answer else []
            for entry_id, fields in page:
                yield _record(entry_id, fields, 0)

    async def ack(self, ns, stream, group, offsets):
        k = self._key(ns, stream, 0)
        for offset in offsets:
            _id(offset)
        await self._check_group(k, group)
        return await self.conn.client.xack(k, group, *offsets) if offsets else 0

    async def group_info(self, ns, stream, group):
        k = self._key(ns, stream, 0)
        await self._check_group(k, group)
        pending = await self.conn.client.xpending(k, group)
        live = await self.conn.client.hkeys(self._live_key(ns, stream, group))
        return sorted(c.decode() for c in live), pending["pending"]

    # stream_partitioning
    async def partitions(self, ns, stream):
        return PARTITIONS


def _before(offset: str) -> str:
    """The id just before `offset`, so that XREAD (exclusive) starts at it."""
    ms, seq = _id(offset)
    if seq:
        return f"{ms}-{seq - 1}"
    return f"{ms - 1}-18446744073709551615" if ms else "0-0"
