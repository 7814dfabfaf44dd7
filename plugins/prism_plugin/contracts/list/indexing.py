"""list_indexing: Get, Set, Insert, Remove (negative indexes count from the end)."""

from __future__ import annotations

from typing import Protocol

from prism.list.v1 import list_pb2 as pb
from prism.list.v1 import list_pb2_grpc as pb_grpc
from prism_plugin.contract import InterfaceServicer
from prism_plugin.status import invalid, out_of_range, shown


class Store(Protocol):
    async def index(self, ns: str, key: str, index: int) -> bytes | None:
        """None when the index is outside the list."""

    async def set_index(self, ns: str, key: str, index: int, value: bytes) -> bool:
        """False when the index is outside the list."""

    async def insert(self, ns: str, key: str, before: bool, pivot: bytes, value: bytes) -> tuple[bool, int]:
        """Insert next to the first occurrence of `pivot`: (pivot found, length afterwards)."""

    async def remove(self, ns: str, key: str, value: bytes, count: int) -> int:
        """Remove up to |count| occurrences from the head (count > 0), the tail (< 0), or all (0)."""


class Servicer(InterfaceServicer[Store], pb_grpc.ListIndexingServicer):
    async def Get(self, request, context):
        value = await self.store.index(request.namespace, request.key, request.index)
        if value is None:
            raise out_of_range(f"index {request.index} is outside list {shown(request.key)}")
        return pb.IndexGetResponse(value=value)

    async def Set(self, request, context):
        if not await self.store.set_index(request.namespace, request.key, request.index, request.value):
            raise out_of_range(f"index {request.index} is outside list {shown(request.key)}")
        return pb.IndexSetResponse()

    async def Insert(self, request, context):
        if request.position == pb.InsertRequest.POSITION_UNSPECIFIED:
            raise invalid("position must be BEFORE or AFTER")
        before = request.position == pb.InsertRequest.BEFORE
        found, length = await self.store.insert(request.namespace, request.key, before, request.pivot, request.value)
        return pb.InsertResponse(pivot_found=found, length=length)

    async def Remove(self, request, context):
        return pb.RemoveResponse(removed=await self.store.remove(request.namespace, request.key, request.value, request.count))
