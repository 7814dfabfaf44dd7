"""set_cardinality: GetSize, IsMember for many members at once (Redis SCARD/SMISMEMBER)."""

from __future__ import annotations

from typing import Protocol

from prism.set.v1 import set_pb2 as pb
from prism.set.v1 import set_pb2_grpc as pb_grpc
from prism_plugin.contract import InterfaceServicer
from prism_plugin.status import invalid


class Store(Protocol):
    async def size(self, ns: str, name: str) -> int:
        """0 for a missing set."""

    async def are_members(self, ns: str, name: str, members: list[bytes]) -> list[bool]:
        """One answer per member, in the order given."""


class Servicer(InterfaceServicer[Store], pb_grpc.SetCardinalityServicer):
    async def GetSize(self, request, context):
        return pb.CountResponse(count=await self.store.size(request.namespace, request.set))

    async def IsMember(self, request, context):
        if not request.members:
            raise invalid("members must hold at least one member")
        answers = await self.store.are_members(request.namespace, request.set, list(request.members))
        return pb.IsMemberResponse(is_member=answers)
