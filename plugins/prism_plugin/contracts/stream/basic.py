"""stream_basic: Append, Read, GetLatestOffset. What the other stream contracts share lives
here too: the stored record, where a read starts, and the StreamEvent stream with `ready` first."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import AsyncIterator, Iterable, Protocol

from prism.stream.v1 import stream_pb2 as pb
from prism.stream.v1 import stream_pb2_grpc as pb_grpc
from prism_plugin.contract import InterfaceServicer
from prism_plugin.status import invalid

# Answer this long before the caller's deadline, so the end of the stream arrives in time.
DEADLINE_MARGIN_S = 0.25


@dataclass(frozen=True)
class StoredRecord:
    offset: str
    payload: bytes
    partition: int
    timestamp_ms: int
    key: str = ""
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Start:
    """Where a read starts: at `offset` (inclusive) or just after it; offset None: the beginning."""

    offset: str | None
    inclusive: bool = True


EARLIEST = Start(None)


def record_pb(r: StoredRecord) -> pb.Record:
    return pb.Record(offset=r.offset, payload=r.payload, headers=r.headers, key=r.key, partition=r.partition, timestamp_ms=r.timestamp_ms)


def count(field_name: str, value: int) -> int:
    if value < 0:
        raise invalid(f"{field_name} must be >= 0, got {value}")
    return value


def idle_seconds(request, context) -> float:
    """idle_timeout_ms as seconds, never beyond the caller's deadline."""
    idle_s = count("idle_timeout_ms", request.idle_timeout_ms) / 1000
    remaining = context.time_remaining()
    if remaining is not None:
        idle_s = max(0.0, min(idle_s, remaining - DEADLINE_MARGIN_S))
    return idle_s


async def events(records: AsyncIterator[StoredRecord] | Iterable[StoredRecord], consumer_id: str = "") -> AsyncIterator[pb.StreamEvent]:
    """`ready`, then the records. Call it after the read is live."""
    yield pb.StreamEvent(ready=pb.Ready(consumer_id=consumer_id))
    if hasattr(records, "__aiter__"):
        async for r in records:
            yield pb.StreamEvent(record=record_pb(r))
    else:
        for r in records:
            yield pb.StreamEvent(record=record_pb(r))


class Store(Protocol):
    async def append(
        self, ns: str, stream: str, partition: int | None, key: str, payload: bytes, headers: dict[str, str]
    ) -> tuple[str, int]:
        """Append to `partition`, or (None) to the key's partition (0 without a key); the new
        record's (offset, partition). OUT_OF_RANGE for a partition the stream does not have."""

    async def start(self, ns: str, stream: str, partition: int, position: str | None, latest: bool) -> Start:
        """Resolve a position now: an offset (validated: INVALID_ARGUMENT if it is not one of
        this backend's offsets; a trimmed one as the backend's trimmed_read behaviour says),
        the beginning (position None, latest False), or just after the current last record
        (latest). OUT_OF_RANGE for a partition the stream does not have."""

    def read(self, ns: str, stream: str, partition: int, start: Start, max_records: int, idle_s: float) -> AsyncIterator[StoredRecord]:
        """The records from `start` in order: up to max_records (0: unlimited), waiting up to
        idle_s for each next record once the current end is reached (0: not at all)."""

    async def latest(self, ns: str, stream: str, partition: int) -> str | None:
        """The last record's offset; None for an empty stream."""


class Servicer(InterfaceServicer[Store], pb_grpc.StreamBasicServicer):
    async def Append(self, request, context):
        offset, partition = await self.store.append(
            request.namespace, request.stream, None, request.key, request.payload, dict(request.headers)
        )
        return pb.AppendResponse(offset=offset, partition=partition)

    async def Read(self, request, context):
        max_records, idle_s = count("max_records", request.max_records), idle_seconds(request, context)
        which = getattr(request, "from").WhichOneof("position")
        position = getattr(request, "from").offset if which == "offset" else None
        start = await self.store.start(request.namespace, request.stream, request.partition, position, which == "latest")
        async for event in events(self.store.read(request.namespace, request.stream, request.partition, start, max_records, idle_s)):
            yield event

    async def GetLatestOffset(self, request, context):
        offset = await self.store.latest(request.namespace, request.stream, request.partition)
        return pb.GetLatestOffsetResponse(has_records=offset is not None, offset=offset or "")
