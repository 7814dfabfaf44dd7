"""sortedset_operations: Union, Intersection with weights and SUM/MIN/MAX aggregation (Redis
ZUNION/ZINTER); a missing key is the empty sorted set."""

from __future__ import annotations

import math
from typing import Callable, Protocol

from prism.sortedset.v1 import sortedset_pb2 as pb
from prism.sortedset.v1 import sortedset_pb2_grpc as pb_grpc
from prism_plugin.contract import InterfaceServicer
from prism_plugin.contracts.sortedset.range import scored
from prism_plugin.status import invalid

AGGREGATES = {pb.CombineRequest.SUM: "SUM", pb.CombineRequest.MIN: "MIN", pb.CombineRequest.MAX: "MAX"}
MERGE: dict[str, Callable[[float, float], float]] = {"SUM": lambda a, b: a + b, "MIN": min, "MAX": max}


def _no_nan(score: float) -> float:
    """0 * inf and inf + -inf count as 0."""
    return 0.0 if math.isnan(score) else score


def combine_scores(held: list[dict[bytes, float]], weights: list[float], aggregate: str, intersect: bool) -> list[tuple[bytes, float]]:
    """The contract's arithmetic over the member -> score dicts of the keys, in key order: each
    weight * score (0 * inf is 0), merged by aggregate (a SUM of +inf and -inf is 0), in order.
    Over three or more terms holding +inf, -inf and others a SUM depends on the order of the
    terms (this adds in key order; Redis in an order of its own): the contract pins two terms."""
    merge = MERGE[aggregate]
    result: dict[bytes, float] = {}
    for i, (scores, weight) in enumerate(zip(held, weights)):
        if intersect and i > 0:
            result = {m: s for m, s in result.items() if m in scores}
        for member, score in scores.items():
            weighted = _no_nan(weight * score)
            if member in result:
                result[member] = _no_nan(merge(result[member], weighted))
            elif not intersect or i == 0:
                result[member] = weighted
    return sorted(result.items(), key=lambda ms: (ms[1], ms[0]))


class Store(Protocol):
    async def combine(self, ns: str, keys: list[str], weights: list[float], aggregate: str, intersect: bool) -> list[tuple[bytes, float]]:
        """Members of any key (intersect: of every key), each scored weight * score per key
        holding it (0 * inf is 0), combined by aggregate "SUM"/"MIN"/"MAX" (inf + -inf is 0),
        in order. One weight per key. combine_scores() is that arithmetic."""


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
