"""stream_retention: SetRetention, GetRetention, Compact. Only Compact removes records, oldest
first."""

from __future__ import annotations

from typing import Protocol

from prism.stream.v1 import stream_pb2 as pb
from prism.stream.v1 import stream_pb2_grpc as pb_grpc
from prism_plugin.contract import InterfaceServicer
from prism_plugin.contracts.stream.basic import count


class Store(Protocol):
    async def set_retention(self, ns: str, stream: str, max_records: int, max_age_ms: int) -> None:
        """Replace the stream's policy (0: unlimited); removes nothing by itself."""

    async def get_retention(self, ns: str, stream: str) -> tuple[int, int]:
        """(max_records, max_age_ms); (0, 0) when none was set."""

    async def compact(self, ns: str, stream: str) -> int:
        """Remove, in every partition, the records older than max_age_ms and those beyond the
        newest max_records; how many were removed."""


class Servicer(InterfaceServicer[Store], pb_grpc.StreamRetentionServicer):
    async def SetRetention(self, request, context):
        policy = request.policy
        max_records, max_age_ms = count("policy.max_records", policy.max_records), count("policy.max_age_ms", policy.max_age_ms)
        await self.store.set_retention(request.namespace, request.stream, max_records, max_age_ms)
        return pb.SetRetentionResponse()

    async def GetRetention(self, request, context):
        max_records, max_age_ms = await self.store.get_retention(request.namespace, request.stream)
        return pb.RetentionPolicy(max_records=max_records, max_age_ms=max_age_ms)

    async def Compact(self, request, context):
        return pb.CompactResponse(removed=await self.store.compact(request.namespace, request.stream))
