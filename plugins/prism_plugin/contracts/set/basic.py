"""set_basic: Add, Remove, Contains, GetMembers (Redis SADD/SREM/SISMEMBER/SMEMBERS)."""

from __future__ import annotations

from typing import Protocol

from prism.set.v1 import set_pb2 as pb
from prism.set.v1 import set_pb2_grpc as pb_grpc
from prism_plugin.contract import InterfaceServicer
from prism_plugin.status import invalid


class Store(Protocol):
    async def add(self, ns: str, name: str, members: list[bytes]) -> int:
        """How many distinct members were new."""

    async def remove(self, ns: str, name: str, members: list[bytes]) -> int:
        """How many distinct members were there; a set emptied stops existing."""

    async def contains(self, ns: str, name: str, member: bytes) -> bool:
        ...

    async def members(self, ns: str, name: str) -> list[bytes]:
        """Every member, in no particular order; none for a missing set."""


class Servicer(InterfaceServicer[Store], pb_grpc.SetBasicServicer):
    async def Add(self, request, context):
        if not request.members:
            raise invalid("members must hold at least one member")
        return pb.CountResponse(count=await self.store.add(request.namespace, request.set, list(request.members)))

    async def Remove(self, request, context):
        if not request.members:
            raise invalid("members must hold at least one member")
        return pb.CountResponse(count=await self.store.remove(request.namespace, request.set, list(request.members)))

    async def Contains(self, request, context):
        return pb.ContainsResponse(contains=await self.store.contains(request.namespace, request.set, request.member))

    async def GetMembers(self, request, context):
        return pb.Members(members=await self.store.members(request.namespace, request.set))
