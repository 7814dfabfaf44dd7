"""stream_replay: SeekToOffset, SeekToTimestamp, ReplayRange over partition 0; none waits."""

from __future__ import annotations

from typing import AsyncIterator, Protocol

from prism.stream.v1 import stream_pb2_grpc as pb_grpc
from prism_plugin.contract import InterfaceServicer
from prism_plugin.contracts.stream.basic import Start, StoredRecord, count, events


class Store(Protocol):
    async def start(self, ns: str, stream: str, partition: int, position: str | None, latest: bool) -> Start:
        """As stream_basic's."""

    def read(self, ns: str, stream: str, partition: int, start: Start, max_records: int, idle_s: float) -> AsyncIterator[StoredRecord]:
        """As stream_basic's."""

    async def start_at_time(self, ns: str, stream: str, timestamp_ms: int) -> Start:
        """Where the first record of partition 0 with timestamp_ms >= the given one is."""

    async def replay(self, ns: str, stream: str, from_offset: str, to_offset: str) -> list[StoredRecord]:
        """The records of partition 0 from from_offset (inclusive) to to_offset (exclusive);
        both validated as stream_basic's start does."""


class Servicer(InterfaceServicer[Store], pb_grpc.StreamReplayServicer):
    async def SeekToOffset(self, request, context):
        max_records = count("max_records", request.max_records)
        start = await self.store.start(request.namespace, request.stream, 0, request.offset, False)
        async for event in events(self.store.read(request.namespace, request.stream, 0, start, max_records, 0.0)):
            yield event

    async def SeekToTimestamp(self, request, context):
        max_records = count("max_records", request.max_records)
        start = await self.store.start_at_time(request.namespace, request.stream, request.timestamp_ms)
        async for event in events(self.store.read(request.namespace, request.stream, 0, start, max_records, 0.0)):
            yield event

    async def ReplayRange(self, request, context):
        records = await self.store.replay(request.namespace, request.stream, request.from_offset, request.to_offset)
        async for event in events(records):
            yield event
