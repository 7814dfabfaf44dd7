"""sortedset_operations: Union, Intersection with weights and SUM/MIN/MAX aggregation (Redis
ZUNION/ZINTER); a missing key is the empty sorted set."""

from __future__ import annotations

import math
from typing import Protocol

from prism.sortedset.v1 import sortedset_pb2 as pb
from prism.sortedset.v1 import sortedset_pb2_grpc as pb_grpc
from prism_plugin.contract import InterfaceServicer
from prism_plugin.contracts.sortedset.range import scored
from prism_plugin.status import invalid

AGGREGATES = {pb.CombineRequest.SUM: "SUM", pb.CombineRequest.MIN: "MIN", pb.CombineRequest.MAX: "MAX"}


class Store(Protocol):
    async def combine(self, ns: str, keys: list[str], weights: list[float], aggregate: str, intersect: bool) -> list[tuple[bytes, float]]:
        """Members of any key (intersect: of every key), each scored weight * score per key
        holding it (0 * inf is 0), combined by aggregate "SUM"/"MIN"/"MAX" (inf + -inf is 0),
        in order. One weight per key."""


class Servicer(InterfaceServicer[Store], pb_grpc.SortedSetOperationsServicer):
    async def _combine(self, request, intersect: bool):
        if not request.keys:
            raise invalid("keys must hold at least one key")
        weights = list(request.weights) or [1.0] * len(request.keys)
        if len(weights) != len(request.keys):
            raise invalid(f"weights has {len(request.weights)} values for {len(request.keys)} keys: give one per key or none")
        if any(math.isnan(w) for w in weights):
            raise invalid("weights holds NaN; a weight is a number, +inf or -inf")
        if request.aggregate not in AGGREGATES:
            raise invalid(f"aggregate {request.aggregate} is not SUM, MIN or MAX")
        members = await self.store.combine(request.namespace, list(request.keys), weights, AGGREGATES[request.aggregate], intersect)
        return scored(members)

    async def Union(self, request, context):
        return await self._combine(request, intersect=False)

    async def Intersection(self, request, context):
        return await self._combine(request, intersect=True)
