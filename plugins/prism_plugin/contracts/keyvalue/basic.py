"""keyvalue_basic: Set, Get, Delete, Exists. Names and sizes are checked by the conventions."""

from __future__ import annotations

from typing import Protocol

from prism.keyvalue.v1 import keyvalue_pb2 as pb
from prism.keyvalue.v1 import keyvalue_pb2_grpc as pb_grpc
from prism_plugin.contract import InterfaceServicer
from prism_plugin.status import not_found, shown


class Store(Protocol):
    async def set(self, ns: str, key: str, value: bytes) -> None:
        """Store, overwriting, and clear any expiry (Redis SET)."""

    async def get(self, ns: str, key: str) -> bytes | None:
        """The value; None when missing (an empty value is b"", not None)."""

    async def delete(self, ns: str, key: str) -> bool:
        """Whether the key existed."""

    async def exists(self, ns: str, key: str) -> bool:
        ...


class Servicer(InterfaceServicer[Store], pb_grpc.KeyValueBasicServicer):
    async def Set(self, request, context):
        await self.store.set(request.namespace, request.key, request.value)
        return pb.SetResponse()

    async def Get(self, request, context):
        value = await self.store.get(request.namespace, request.key)
        if value is None:
            raise not_found(f"key {shown(request.key)} not found")
        return pb.GetResponse(value=value)

    async def Delete(self, request, context):
        return pb.DeleteResponse(found=await self.store.delete(request.namespace, request.key))

    async def Exists(self, request, context):
        return pb.ExistsResponse(exists=await self.store.exists(request.namespace, request.key))
