"""stream_consumer_groups: CreateConsumerGroup, JoinConsumerGroup, Ack, GetConsumerGroupInfo over
partition 0. A consumer is live while its JoinConsumerGroup stream is open; it leaves when the
stream ends (cancelled, or the caller's deadline)."""

from __future__ import annotations

from typing import AsyncIterator, Protocol

from prism.stream.v1 import stream_pb2 as pb
from prism.stream.v1 import stream_pb2_grpc as pb_grpc
from prism_plugin.contract import InterfaceServicer
from prism_plugin.contracts.stream.basic import StoredRecord, count, record_pb
from prism_plugin.status import StatusError, not_found, shown


def no_group(group: str) -> StatusError:
    return not_found(f"consumer group {shown(group)} does not exist on the stream")


class Store(Protocol):
    async def create_group(self, ns: str, stream: str, group: str, position: str | None, latest: bool) -> None:
        """A group whose first delivery is the record at `position` (inclusive), the first
        record (None), or the first appended after now (latest). ALREADY_EXISTS if it exists."""

    async def join(self, ns: str, stream: str, group: str, consumer: str) -> None:
        """Make the consumer live (GetConsumerGroupInfo lists it). NOT_FOUND without the group."""

    def deliver(self, ns: str, stream: str, group: str, consumer: str, redeliver_ms: int) -> AsyncIterator[StoredRecord]:
        """Records for this consumer, for as long as it is iterated: records never delivered
        in the group (each to exactly one consumer), and, when redeliver_ms > 0, records
        delivered to any consumer and not acked for redeliver_ms."""

    async def leave(self, ns: str, stream: str, group: str, consumer: str) -> None:
        """The consumer is no longer live; its unacked records stay pending."""

    async def ack(self, ns: str, stream: str, group: str, offsets: list[str]) -> int:
        """Settle pending records; how many of the offsets were pending. NOT_FOUND without the group."""

    async def group_info(self, ns: str, stream: str, group: str) -> tuple[list[str], int]:
        """(live consumers in name order, records delivered and not acked)."""


class Servicer(InterfaceServicer[Store], pb_grpc.StreamConsumerGroupsServicer):
    async def CreateConsumerGroup(self, request, context):
        which = request.start.WhichOneof("position")
        position = request.start.offset if which == "offset" else None
        await self.store.create_group(request.namespace, request.stream, request.group, position, which == "latest")
        return pb.CreateConsumerGroupResponse()

    async def JoinConsumerGroup(self, request, context):
        redeliver_ms = count("redeliver_after_ms", request.redeliver_after_ms)
        ns, stream, group, consumer = request.namespace, request.stream, request.group, request.consumer
        await self.store.join(ns, stream, group, consumer)
        try:
            yield pb.StreamEvent(ready=pb.Ready(consumer_id=consumer))
            async for record in self.store.deliver(ns, stream, group, consumer, redeliver_ms):
                yield pb.StreamEvent(record=record_pb(record))
        finally:
            await self.store.leave(ns, stream, group, consumer)

    async def Ack(self, request, context):
        return pb.AckResponse(acked=await self.store.ack(request.namespace, request.stream, request.group, list(request.offsets)))

    async def GetConsumerGroupInfo(self, request, context):
        consumers, pending = await self.store.group_info(request.namespace, request.stream, request.group)
        return pb.ConsumerGroupInfo(consumers=consumers, pending=pending)
