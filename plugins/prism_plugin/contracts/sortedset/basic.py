"""sortedset_basic: Add (or update a score), Remove, GetScore (Redis ZADD/ZREM/ZSCORE)."""

from __future__ import annotations

import math
from typing import Protocol

from prism.sortedset.v1 import sortedset_pb2 as pb
from prism.sortedset.v1 import sortedset_pb2_grpc as pb_grpc
from prism_plugin.contract import InterfaceServicer
from prism_plugin.status import invalid, not_found, shown


class Store(Protocol):
    async def add(self, ns: str, key: str, members: list[tuple[bytes, float]]) -> int:
        """Set each member's score (a member given twice takes its last); how many were new."""

    async def remove(self, ns: str, key: str, members: list[bytes]) -> int:
        """How many distinct members were there; a sorted set emptied stops existing."""

    async def score(self, ns: str, key: str, member: bytes) -> float | None:
        """None when the member (or the sorted set) is missing."""


class Servicer(InterfaceServicer[Store], pb_grpc.SortedSetBasicServicer):
    async def Add(self, request, context):
        if not request.members:
            raise invalid("members must hold at least one member")
        for i, m in enumerate(request.members):
            if math.isnan(m.score):
                raise invalid(f"members[{i}].score is NaN; scores must be numbers (+inf and -inf allowed)")
        members = [(m.member, m.score) for m in request.members]
        return pb.AddResponse(added=await self.store.add(request.namespace, request.key, members))

    async def Remove(self, request, context):
        if not request.members:
            raise invalid("members must hold at least one member")
        return pb.RemoveResponse(removed=await self.store.remove(request.namespace, request.key, list(request.members)))

    async def GetScore(self, request, context):
        score = await self.store.score(request.namespace, request.key, request.member)
        if score is None:
            raise not_found(f"member {shown(request.member)} not in sorted set {shown(request.key)}")
        return pb.GetScoreResponse(score=score)
