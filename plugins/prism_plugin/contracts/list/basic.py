"""list_basic: PushLeft, PushRight, PopLeft, PopRight, Length (Redis LPUSH/RPUSH semantics)."""

from __future__ import annotations

from typing import Protocol

from prism.list.v1 import list_pb2 as pb
from prism.list.v1 import list_pb2_grpc as pb_grpc
from prism_plugin.contract import InterfaceServicer
from prism_plugin.status import invalid


class Store(Protocol):
    async def push(self, ns: str, key: str, values: list[bytes], left: bool) -> int:
        """Push each value in turn at the head (left) or the tail; the new length."""

    async def pop(self, ns: str, key: str, count: int, left: bool) -> list[bytes]:
        """Up to `count` values from the head or the tail; a list emptied stops existing."""

    async def length(self, ns: str, key: str) -> int:
        ...


class Servicer(InterfaceServicer[Store], pb_grpc.ListBasicServicer):
    async def _push(self, request, left: bool):
        if not request.values:
            raise invalid("values must hold at least one value")
        return pb.PushResponse(length=await self.store.push(request.namespace, request.key, list(request.values), left))

    async def _pop(self, request, left: bool):
        count = request.count if request.HasField("count") else 1
        if count <= 0:
            raise invalid(f"count must be > 0, got {count}")
        return pb.PopResponse(values=await self.store.pop(request.namespace, request.key, count, left))

    async def PushLeft(self, request, context):
        return await self._push(request, left=True)

    async def PushRight(self, request, context):
        return await self._push(request, left=False)

    async def PopLeft(self, request, context):
        return await self._pop(request, left=True)

    async def PopRight(self, request, context):
        return await self._pop(request, left=False)

    async def Length(self, request, context):
        return pb.LengthResponse(length=await self.store.length(request.namespace, request.key))
