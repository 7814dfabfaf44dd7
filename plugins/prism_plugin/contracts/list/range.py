"""list_range: GetRange, Trim (inclusive ends, negative indexes, out-of-range clamps)."""

from __future__ import annotations

from typing import Protocol

from prism.list.v1 import list_pb2 as pb
from prism.list.v1 import list_pb2_grpc as pb_grpc
from prism_plugin.contract import InterfaceServicer


class Store(Protocol):
    async def range(self, ns: str, key: str, start: int, stop: int) -> list[bytes]:
        """Redis LRANGE: inclusive ends, negative from the end, clamped."""

    async def trim(self, ns: str, key: str, start: int, stop: int) -> int:
        """Redis LTRIM; the length afterwards."""


class Servicer(InterfaceServicer[Store], pb_grpc.ListRangeServicer):
    async def GetRange(self, request, context):
        return pb.GetRangeResponse(values=await self.store.range(request.namespace, request.key, request.start, request.stop))

    async def Trim(self, request, context):
        return pb.TrimResponse(length=await self.store.trim(request.namespace, request.key, request.start, request.stop))
