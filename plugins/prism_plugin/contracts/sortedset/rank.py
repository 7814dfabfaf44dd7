"""sortedset_rank: GetRank, GetReverseRank (Redis ZRANK/ZREVRANK); a missing member is
found=false, never rank 0."""

from __future__ import annotations

from typing import Protocol

from prism.sortedset.v1 import sortedset_pb2 as pb
from prism.sortedset.v1 import sortedset_pb2_grpc as pb_grpc
from prism_plugin.contract import InterfaceServicer


class Store(Protocol):
    async def rank(self, ns: str, key: str, member: bytes, reverse: bool) -> int | None:
        """0-based position in the order (reverse: descending); None when missing."""


class Servicer(InterfaceServicer[Store], pb_grpc.SortedSetRankServicer):
    async def _rank(self, request, reverse: bool):
        rank = await self.store.rank(request.namespace, request.key, request.member, reverse)
        return pb.RankResponse(found=False) if rank is None else pb.RankResponse(found=True, rank=rank)

    async def GetRank(self, request, context):
        return await self._rank(request, reverse=False)

    async def GetReverseRank(self, request, context):
        return await self._rank(request, reverse=True)
