"""stream_partitioning: GetPartitions, AppendToPartition; Append with a key routes by key."""

from __future__ import annotations

from typing import Protocol

from prism.stream.v1 import stream_pb2 as pb
from prism.stream.v1 import stream_pb2_grpc as pb_grpc
from prism_plugin.contract import InterfaceServicer


class Store(Protocol):
    async def append(
        self, ns: str, stream: str, partition: int | None, key: str, payload: bytes, headers: dict[str, str]
    ) -> tuple[str, int]:
        """As stream_basic's."""

    async def partitions(self, ns: str, stream: str) -> int:
        """The stream's partition count (>= 1), fixed for the stream's life."""


class Servicer(InterfaceServicer[Store], pb_grpc.StreamPartitioningServicer):
    async def GetPartitions(self, request, context):
        return pb.GetPartitionsResponse(count=await self.store.partitions(request.namespace, request.stream))

    async def AppendToPartition(self, request, context):
        offset, partition = await self.store.append(
            request.namespace, request.stream, request.partition, "", request.payload, dict(request.headers)
        )
        return pb.AppendResponse(offset=offset, partition=partition)
