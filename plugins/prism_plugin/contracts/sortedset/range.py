"""sortedset_range: GetRange by rank (Redis ZRANGE), GetRangeByScore (ZRANGE BYSCORE) with
inclusive/exclusive bounds, infinities, offset/limit, reverse."""

from __future__ import annotations

import math
from typing import Protocol

from prism.sortedset.v1 import sortedset_pb2 as pb
from prism.sortedset.v1 import sortedset_pb2_grpc as pb_grpc
from prism_plugin.contract import InterfaceServicer
from prism_plugin.status import invalid

# (value, exclusive)
ScoreBound = tuple[float, bool]


class Store(Protocol):
    async def range(self, ns: str, key: str, start: int, stop: int, reverse: bool) -> list[tuple[bytes, float]]:
        """Redis ZRANGE [REV]: inclusive ranks, negative from the end, clamped."""

    async def range_by_score(
        self, ns: str, key: str, low: ScoreBound, high: ScoreBound, offset: int, limit: int, reverse: bool
    ) -> list[tuple[bytes, float]]:
        """Members with low <= score <= high (strict at an exclusive end), in order (reverse:
        descending), `offset` skipped, at most `limit` (0: all)."""


def score_bound(request, field: str, unset: float) -> ScoreBound:
    if not request.HasField(field):
        return unset, False
    bound = getattr(request, field)
    if math.isnan(bound.value):
        raise invalid(f"{field}.value is NaN; a bound is a number, +inf or -inf")
    return bound.value, bound.exclusive


def window(request) -> tuple[int, int]:
    """(offset, limit), both >= 0."""
    if request.offset < 0 or request.limit < 0:
        raise invalid(f"offset and limit must be >= 0, got offset={request.offset} limit={request.limit}")
    return request.offset, request.limit


def scored(members: list[tuple[bytes, float]]) -> pb.ScoredMembers:
    return pb.ScoredMembers(members=[pb.ScoredMember(member=m, score=s) for m, s in members])


class Servicer(InterfaceServicer[Store], pb_grpc.SortedSetRangeServicer):
    async def GetRange(self, request, context):
        return scored(await self.store.range(request.namespace, request.key, request.start, request.stop, request.reverse))

    async def GetRangeByScore(self, request, context):
        low, high = score_bound(request, "min", -math.inf), score_bound(request, "max", math.inf)
        offset, limit = window(request)
        return scored(await self.store.range_by_score(request.namespace, request.key, low, high, offset, limit, request.reverse))
