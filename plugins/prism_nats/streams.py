"""The NATS plugin's streams: one JetStream stream per (namespace, stream), partitioned by subject
token, NATS's own idiom: partition p of PARTITIONS (4, fixed) is the subject `<base>.<p>`. Append
with a key goes to partition crc32(key) % PARTITIONS, without one to partition 0. An offset is the
record's JetStream stream sequence (decimal): unique in the stream, increasing within each
partition (the partitions' offsets interleave). A record's timestamp is the server's store time.
A record's key and headers travel in one header, Prism-Record (JSON, ASCII), since NATS header
names and values cannot carry every string.

Reads go through an ephemeral pull consumer (no acks, in memory, removed after the read and by
the server when idle) filtered to the partition's subject, starting at the sequence or the time
asked for; the consumer's num_pending at creation says whether there is anything to read.
Replay and consumer groups cover partition 0 (the contract's), so they filter on its subject.

A consumer group is a durable pull consumer with explicit acks (JetStream shares its records
among the clients pulling from it), named "g-" + the encoded group (ephemeral readers have
NUID names, which have no '-'). Records wait for their ack AckWait long: a day, or, while a
member asked for redelivery, the shortest redeliver_after_ms of the live members (an AckWait
change applies to the records already pending). Acks need the delivery's reply subject, so the
plugin keeps the latest delivery of each pending record; live members are those whose
JoinConsumerGroup is open on this plugin.

Retention: JetStream's MaxMsgs and MaxAge act continuously, but the contract has records removed
only by Compact. So the policy is kept in the stream's description and Compact applies it in each
partition with JetStream purges filtered to its subject (keep the newest max_records; drop what is
below the partition's first sequence stored at or after now - max_age_ms). A purged offset reads
from the earliest retained record (a consumer's start sequence below the first one starts there):
trimmed_read is `earliest`.
"""

from __future__ import annotations

import asyncio
import datetime
import json
import re
import time
import zlib
from collections import Counter
from typing import Any, AsyncIterator

import nats.errors
import nats.js.errors
from nats.aio.msg import Msg
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, DiscardPolicy, StorageType, StreamConfig, StreamInfo

from prism_nats import names
from prism_nats.connection import REQUEST_TIMEOUT_S, NatsConnection
from prism_plugin.contracts.stream.basic import EARLIEST, Start, StoredRecord
from prism_plugin.contracts.stream.consumer_groups import no_group
from prism_plugin.status import StatusError, already_exists, invalid, out_of_range, resource_exhausted, shown

KIND = "st"
PARTITIONS = 4  # fixed for a stream's life, as redis' and kafka's
RECORD_HEADER = "Prism-Record"
STREAM_MAX_BYTES = 64 * 1024 * 1024
PAGE = 256
MIN_WAIT_S = 0.001  # an idle wait shorter than this is over
READER_IDLE_S = 5.0  # the server removes a reader the plugin could not delete after this
OFFSET = re.compile(r"[1-9][0-9]{0,19}")
EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
LATEST_MS = (datetime.datetime(9999, 12, 31, tzinfo=datetime.timezone.utc) - EPOCH) // datetime.timedelta(milliseconds=1)
STREAM_FULL = 10047  # JetStream: maximum bytes exceeded
GROUP_ACK_WAIT_S = 86_400.0  # no redelivery asked for
MEMBER_POLL_S = 0.5  # a member's pull request lasts this long; then it pulls again

Group = tuple[str, str, str]  # (namespace, stream, group)


JETSTREAM_MAX_HEADER_BYTES = 64 * 1024  # "header size exceeds maximum allowed of 64k"
# A record's headers, declared as limits.max_attributes_bytes: in JSON with ASCII escapes (up to
# 6 bytes a byte) beside a key of max_name_bytes, they stay within JetStream's header limit.
MAX_HEADERS_BYTES = 8192


def fits(max_payload: int, payload: bytes, headers: dict[str, str] | None) -> None:
    """A message the server would refuse for its size (headers above JetStream's 64 KiB, or
    payload and headers together above its max_payload) is the caller's: INVALID_ARGUMENT,
    before it is sent. The declared max_attributes_bytes keeps the JSON header well inside."""
    header = sum(len(k) + len(v) + 4 for k, v in (headers or {}).items()) + 12  # NATS/1.0 and CRLFs
    if header > JETSTREAM_MAX_HEADER_BYTES:
        raise invalid(f"the record's key and headers encode to {header} bytes, more than JetStream's {JETSTREAM_MAX_HEADER_BYTES}")
    size = len(payload) + header
    if size > max_payload:
        raise invalid(f"the record with its key and headers is {size} bytes, more than the server's max_payload ({max_payload})")


def sequence(offset: str) -> int:
    if not OFFSET.fullmatch(offset) or int(offset) >= 2**64:
        raise invalid(f"offset {shown(offset)} is not a NATS stream offset (a JetStream sequence: 1, 2, ...)")
    return int(offset)


def partition_of(key: str) -> int:
    """The key's partition (crc32, as redis' and kafka's plugins); 0 without a key."""
    return zlib.crc32(key.encode("utf-8", "surrogatepass")) % PARTITIONS if key else 0


def checked(partition: int) -> int:
    if not 0 <= partition < PARTITIONS:
        raise out_of_range(f"partition {partition} is not in 0..{PARTITIONS - 1}")
    return partition


def store_time_ns(msg: Msg) -> int:
    """The message's store time, from its ack subject ($JS.ACK.<stream>.<consumer>.<delivered>.
    <stream seq>.<consumer seq>.<ns>.<pending>, or the 12-token form with domain and hash)."""
    tokens = (msg.reply or "").split(".")
    return int(tokens[7] if len(tokens) == 9 else tokens[9])


def record(msg: Msg) -> StoredRecord:
    meta = json.loads((msg.headers or {}).get(RECORD_HEADER, "{}"))
    return StoredRecord(
        offset=str(msg.metadata.sequence.stream),
        payload=msg.data,
        partition=int(msg.subject.rsplit(".", 1)[1]),
        timestamp_ms=store_time_ns(msg) // 1_000_000,
        key=meta.get("k", ""),
        headers=meta.get("h", {}),
    )


def at_ms(timestamp_ms: int) -> datetime.datetime:
    """The time of a timestamp, clamped to what a datetime holds (a later one finds no record)."""
    return EPOCH + datetime.timedelta(milliseconds=min(max(0, timestamp_ms), LATEST_MS))


class NatsStreams:
    def __init__(self, conn: NatsConnection) -> None:
        self.conn = conn
        self._members: dict[Group, Counter[str]] = {}  # live members: open JoinConsumerGroup streams
        self._redelivery: dict[Group, list[int]] = {}  # redeliver_after_ms of live members asking for it
        self._unacked: dict[Group, dict[int, Msg]] = {}  # stream sequence -> its latest delivery
        conn.on_drop(self.forget)

    def forget(self, ns: str) -> None:
        """Drop the in-memory state of the namespace's groups (their members have left)."""
        self._members = {k: v for k, v in self._members.items() if k[0] != ns}
        self._redelivery = {k: v for k, v in self._redelivery.items() if k[0] != ns}
        self._unacked = {k: v for k, v in self._unacked.items() if k[0] != ns}

    # -- the JetStream stream of a Prism stream ----------------------------------------------

    @staticmethod
    def name(ns: str, stream: str) -> str:
        return names.resource(KIND, ns, stream)

    @staticmethod
    def subject(ns: str, stream: str, partition: int) -> str:
        """The subject of one partition: the stream's base subject and the partition's number."""
        return f"{names.subject_prefix(KIND, ns)}.{names.encode(stream)}.{partition}"

    def config(self, ns: str, stream: str) -> StreamConfig:
        return StreamConfig(
            name=self.name(ns, stream),
            subjects=[self.subject(ns, stream, p) for p in range(PARTITIONS)],
            storage=StorageType.FILE,
            max_bytes=STREAM_MAX_BYTES,
            discard=DiscardPolicy.NEW,
            num_replicas=1,
        )

    async def info(self, ns: str, stream: str) -> StreamInfo | None:
        try:
            return await self.conn.js.stream_info(self.name(ns, stream))
        except nats.js.errors.NotFoundError:
            return None

    async def reader(self, ns: str, stream: str, partition: int, config: ConsumerConfig) -> tuple[Any, int] | None:
        """An ephemeral pull consumer of one partition (no acks, in memory) and how many records
        it had to deliver when it was made; None if the stream does not exist."""
        config.name = self.conn.nc._nuid.next().decode()
        config.filter_subject = self.subject(ns, stream, partition)
        config.ack_policy = AckPolicy.NONE
        config.mem_storage = True
        config.inactive_threshold = READER_IDLE_S
        config.num_replicas = 1
        name = self.name(ns, stream)
        try:
            info = await self.conn.js.add_consumer(name, config)
        except nats.js.errors.NotFoundError:
            self.conn.forget_stream(name)
            return None
        return await self.conn.js.pull_subscribe_bind(consumer=config.name, stream=name), info.num_pending or 0

    async def close_reader(self, ns: str, stream: str, psub: Any) -> None:
        try:
            await psub.unsubscribe()
            await self.conn.js.delete_consumer(self.name(ns, stream), psub._consumer)
        except (nats.errors.Error, nats.js.errors.Error):
            pass  # the server removes it once idle

    # -- stream_basic ----------------------------------------------------------------------

    async def append(self, ns, stream, partition, key, payload, headers) -> tuple[str, int]:
        number = partition_of(key) if partition is None else checked(partition)
        subject = self.subject(ns, stream, number)
        meta = {k: v for k, v in (("k", key), ("h", headers)) if v}
        hdrs = {RECORD_HEADER: json.dumps(meta, ensure_ascii=True, separators=(",", ":"))} if meta else None
        fits(self.conn.nc.max_payload, payload, hdrs)
        await self.conn.ensure_stream(self.config(ns, stream))
        try:
            ack = await self.conn.js.publish(subject, payload, headers=hdrs)
        except nats.js.errors.NoStreamResponseError:
            self.conn.forget_stream(self.name(ns, stream))
            await self.conn.ensure_stream(self.config(ns, stream))
            ack = await self.conn.js.publish(subject, payload, headers=hdrs)
        except nats.js.errors.APIError as e:
            if e.err_code == STREAM_FULL:
                raise resource_exhausted(f"stream {shown(stream)} is full ({STREAM_MAX_BYTES} bytes): Compact it") from e
            raise
        return str(ack.seq), number

    async def start(self, ns, stream, partition, position, latest) -> Start:
        checked(partition)
        if latest:
            last = await self.latest(ns, stream, partition)
            return Start(last, inclusive=False) if last is not None else EARLIEST
        if position is None:
            return EARLIEST
        sequence(position)
        return Start(position)

    async def read(self, ns, stream, partition, start, max_records, idle_s) -> AsyncIterator[StoredRecord]:
        checked(partition)
        first = 1 if start.offset is None else sequence(start.offset) + (0 if start.inclusive else 1)
        config = ConsumerConfig(deliver_policy=DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=first)
        async for r in self._records(ns, stream, partition, config, max_records, idle_s):
            yield r

    async def _records(
        self, ns: str, stream: str, partition: int, config: ConsumerConfig, max_records: int, idle_s: float
    ) -> AsyncIterator[StoredRecord]:
        """Records of a partition through a reader: up to max_records (0: all), until the end
        known when the reader started (idle_s 0) or until no record came for idle_s."""
        made = await self.reader(ns, stream, partition, config)
        if made is None and idle_s > 0:  # wait for the first append: the stream must exist
            await self.conn.ensure_stream(self.config(ns, stream))
            made = await self.reader(ns, stream, partition, config)
        if made is None:
            return
        psub, pending = made
        at_end, sent = pending == 0, 0
        clock = asyncio.get_running_loop().time
        idle_since = clock()  # when the read last reached the end
        try:
            while max_records == 0 or sent < max_records:
                wait_s = idle_s - (clock() - idle_since)
                if at_end and wait_s < MIN_WAIT_S:
                    return
                # At the end, one record at a time: nats-py's batch fetch holds the first record
                # that comes until the batch is full or the wait is over.
                want = 1 if at_end else PAGE if max_records == 0 else min(PAGE, max_records - sent)
                try:
                    msgs = await psub.fetch(want, timeout=wait_s if at_end else REQUEST_TIMEOUT_S)
                except asyncio.TimeoutError:  # nats-py raises its own and asyncio's (a wait ending near its expiry)
                    if at_end:
                        return
                    raise
                if not msgs and not at_end:  # what num_pending counted was purged meanwhile
                    at_end, idle_since = True, clock()
                for msg in msgs:
                    sent += 1
                    at_end = msg.metadata.num_pending == 0
                    yield record(msg)
                    if at_end:
                        idle_since = clock()
        finally:
            await self.close_reader(ns, stream, psub)

    async def latest(self, ns, stream, partition) -> str | None:
        last = await self.conn.last_message(self.name(ns, stream), self.subject(ns, stream, checked(partition)))
        return None if last is None or last.seq is None else str(last.seq)

    # -- stream_replay ---------------------------------------------------------------------

    async def first_at(self, ns: str, stream: str, partition: int, timestamp_ms: int) -> int | None:
        """The sequence of the partition's first record stored at or after the time; None if
        there is none."""
        config = ConsumerConfig(deliver_policy=DeliverPolicy.BY_START_TIME, opt_start_time=at_ms(timestamp_ms))
        made = await self.reader(ns, stream, partition, config)
        if made is None:
            return None
        psub, pending = made
        try:
            if pending == 0:
                return None
            msgs = await psub.fetch(1, timeout=REQUEST_TIMEOUT_S)
            return int(msgs[0].metadata.sequence.stream)
        finally:
            await self.close_reader(ns, stream, psub)

    async def start_at_time(self, ns, stream, timestamp_ms) -> Start:
        first = await self.first_at(ns, stream, 0, timestamp_ms)
        if first is not None:
            return Start(str(first))
        last = await self.latest(ns, stream, 0)
        return Start(last, inclusive=False) if last is not None else EARLIEST

    async def replay(self, ns, stream, from_offset, to_offset) -> list[StoredRecord]:
        low, high = sequence(from_offset), sequence(to_offset)
        if low >= high:
            return []
        config = ConsumerConfig(deliver_policy=DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=low)
        got: list[StoredRecord] = []
        async for r in self._records(ns, stream, 0, config, 0, 0.0):
            if int(r.offset) >= high:
                break
            got.append(r)
        return got

    # -- stream_retention ------------------------------------------------------------------

    async def set_retention(self, ns, stream, max_records, max_age_ms) -> None:
        await self.conn.ensure_stream(self.config(ns, stream))
        info = await self.info(ns, stream)
        if info is None:  # deleted meanwhile
            self.conn.forget_stream(self.name(ns, stream))
            await self.conn.ensure_stream(self.config(ns, stream))
            info = await self.info(ns, stream)
        assert info is not None
        config = info.config
        config.description = json.dumps({"max_records": max_records, "max_age_ms": max_age_ms})
        await self.conn.js.update_stream(config)

    async def get_retention(self, ns, stream) -> tuple[int, int]:
        info = await self.info(ns, stream)
        if info is None or not info.config.description:
            return 0, 0
        policy = json.loads(info.config.description)
        return int(policy.get("max_records", 0)), int(policy.get("max_age_ms", 0))

    async def compact(self, ns, stream) -> int:
        """The policy applied to each partition: a purge filtered to its subject."""
        max_records, max_age_ms = await self.get_retention(ns, stream)
        if not max_records and not max_age_ms:
            return 0
        name, removed = self.name(ns, stream), 0
        oldest_kept_ms = int(time.time() * 1000) - max_age_ms
        for partition in range(PARTITIONS):
            subject = self.subject(ns, stream, partition)
            if max_age_ms:
                first_kept = await self.first_at(ns, stream, partition, oldest_kept_ms)
                if first_kept is None:
                    removed += await self._purge(name, {"filter": subject})
                elif first_kept > 1:  # NATS purges everything for seq 1 (as for no seq)
                    removed += await self._purge(name, {"filter": subject, "seq": first_kept})
            if max_records:
                removed += await self._purge(name, {"filter": subject, "keep": max_records})
        return removed

    async def _purge(self, name: str, body: dict[str, Any]) -> int:
        try:
            return int((await self.conn.api(f"STREAM.PURGE.{name}", body)).get("purged", 0))
        except nats.js.errors.NotFoundError:
            return 0

    # -- stream_consumer_groups ------------------------------------------------------------

    @staticmethod
    def durable(group: str) -> str:
        return "g-" + names.encode(group)

    async def _group_config(self, ns: str, stream: str, group: str) -> ConsumerConfig:
        try:
            return (await self.conn.js.consumer_info(self.name(ns, stream), self.durable(group))).config
        except nats.js.errors.NotFoundError:
            raise no_group(group) from None

    async def create_group(self, ns, stream, group, position, latest) -> None:
        await self.conn.ensure_stream(self.config(ns, stream))
        try:
            await self.conn.js.consumer_info(self.name(ns, stream), self.durable(group))
            raise already_exists(f"consumer group {shown(group)} already exists on the stream")
        except nats.js.errors.NotFoundError:
            pass
        config = ConsumerConfig(
            durable_name=self.durable(group),
            ack_policy=AckPolicy.EXPLICIT,
            ack_wait=GROUP_ACK_WAIT_S,
            max_deliver=-1,
            max_ack_pending=-1,
            filter_subject=self.subject(ns, stream, 0),  # groups cover partition 0
            num_replicas=1,
        )
        if latest:
            config.deliver_policy = DeliverPolicy.NEW
        elif position is not None:
            config.deliver_policy, config.opt_start_seq = DeliverPolicy.BY_START_SEQUENCE, sequence(position)
        await self.conn.js.add_consumer(self.name(ns, stream), config)

    async def join(self, ns, stream, group, consumer) -> None:
        await self._group_config(ns, stream, group)
        self._members.setdefault((ns, stream, group), Counter())[consumer] += 1

    async def leave(self, ns, stream, group, consumer) -> None:
        members = self._members.get((ns, stream, group))
        if members is not None:
            members[consumer] -= 1
            if members[consumer] <= 0:
                del members[consumer]

    async def _set_ack_wait(self, ns: str, stream: str, group: str) -> None:
        asked = self._redelivery.get((ns, stream, group)) or []
        ack_wait = min(asked) / 1000 if asked else GROUP_ACK_WAIT_S
        config = await self._group_config(ns, stream, group)
        if config.ack_wait != ack_wait:
            config.ack_wait = ack_wait
            await self.conn.js.add_consumer(self.name(ns, stream), config)

    async def deliver(self, ns, stream, group, consumer, redeliver_ms) -> AsyncIterator[StoredRecord]:
        key = (ns, stream, group)
        unacked = self._unacked.setdefault(key, {})
        if redeliver_ms:
            self._redelivery.setdefault(key, []).append(redeliver_ms)
        try:
            await self._set_ack_wait(ns, stream, group)
            psub = await self.conn.js.pull_subscribe_bind(durable=self.durable(group), stream=self.name(ns, stream))
            try:
                while True:
                    try:
                        msgs = await psub.fetch(1, timeout=MEMBER_POLL_S)
                    except nats.errors.TimeoutError:
                        continue
                    for msg in msgs:
                        unacked[msg.metadata.sequence.stream] = msg
                        yield record(msg)
            finally:
                try:
                    await psub.unsubscribe()
                except nats.errors.Error:
                    pass
        finally:
            if redeliver_ms:
                asked = self._redelivery.get(key, [])
                if redeliver_ms in asked:
                    asked.remove(redeliver_ms)
                try:
                    await self._set_ack_wait(ns, stream, group)
                except (nats.errors.Error, nats.js.errors.Error, StatusError):
                    pass  # the group or the connection is gone

    async def ack(self, ns, stream, group, offsets) -> int:
        sequences = {sequence(o) for o in offsets}
        await self._group_config(ns, stream, group)
        unacked = self._unacked.get((ns, stream, group), {})
        acked = 0
        for seq in sequences:
            msg = unacked.pop(seq, None)
            if msg is not None:
                await msg.ack_sync(timeout=REQUEST_TIMEOUT_S)
                acked += 1
        return acked

    async def group_info(self, ns, stream, group) -> tuple[list[str], int]:
        try:
            info = await self.conn.js.consumer_info(self.name(ns, stream), self.durable(group))
        except nats.js.errors.NotFoundError:
            raise no_group(group) from None
        return sorted(self._members.get((ns, stream, group), {})), info.num_ack_pending

    # -- stream_partitioning ---------------------------------------------------------------

    async def partitions(self, ns, stream) -> int:
        return PARTITIONS
