"""set_operations: Union, Intersection, Difference over several sets; a missing set is empty."""

from __future__ import annotations

from typing import Protocol

from prism.set.v1 import set_pb2 as pb
from prism.set.v1 import set_pb2_grpc as pb_grpc
from prism_plugin.contract import InterfaceServicer
from prism_plugin.status import invalid


class Store(Protocol):
    async def union(self, ns: str, names: list[str]) -> list[bytes]:
        """Members of any of the sets."""

    async def intersection(self, ns: str, names: list[str]) -> list[bytes]:
        """Members of every set (none when one is missing)."""

    async def difference(self, ns: str, names: list[str]) -> list[bytes]:
        """Members of the first set in none of the others."""


class Servicer(InterfaceServicer[Store], pb_grpc.SetOperationsServicer):
    @staticmethod
    def _names(request) -> list[str]:
        if not request.sets:
            raise invalid("sets must hold at least one set name")
        return list(request.sets)

    async def Union(self, request, context):
        return pb.Members(members=await self.store.union(request.namespace, self._names(request)))

    async def Intersection(self, request, context):
        return pb.Members(members=await self.store.intersection(request.namespace, self._names(request)))

    async def Difference(self, request, context):
        return pb.Members(members=await self.store.difference(request.namespace, self._names(request)))
