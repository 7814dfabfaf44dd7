"""set_random: GetRandomMember, PopRandomMember (Redis SRANDMEMBER/SPOP with a positive count)."""

from __future__ import annotations

from typing import Protocol

from prism.set.v1 import set_pb2 as pb
from prism.set.v1 import set_pb2_grpc as pb_grpc
from prism_plugin.contract import InterfaceServicer
from prism_plugin.status import invalid


class Store(Protocol):
    async def random_members(self, ns: str, name: str, count: int) -> list[bytes]:
        """min(count, size) distinct members chosen at random; count > 0."""

    async def pop_random_members(self, ns: str, name: str, count: int) -> list[bytes]:
        """As random_members, removing exactly the members returned."""


class Servicer(InterfaceServicer[Store], pb_grpc.SetRandomServicer):
    @staticmethod
    def _count(request) -> int:
        if request.count <= 0:
            raise invalid(f"count must be > 0, got {request.count}")
        return request.count

    async def GetRandomMember(self, request, context):
        return pb.Members(members=await self.store.random_members(request.namespace, request.set, self._count(request)))

    async def PopRandomMember(self, request, context):
        return pb.Members(members=await self.store.pop_random_members(request.namespace, request.set, self._count(request)))
