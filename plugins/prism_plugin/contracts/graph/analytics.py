"""graph_analytics: ShortestPath (weighted and unweighted), PageRank, ConnectedComponents."""

from __future__ import annotations

from typing import Protocol

from prism.graph.v1 import graph_pb2 as pb
from prism.graph.v1 import graph_pb2_grpc as pb_grpc
from prism_plugin.contract import InterfaceServicer
from prism_plugin.status import invalid, not_found, shown

MAX_ITERATIONS = 1000
CONVERGED = 1e-10  # a backend may stop once the ranks change by less than this (L1, per node)


class Store(Protocol):
    async def shortest_path(self, ns: str, from_node: str, to_node: str, weighted: bool) -> tuple[list[str], float] | None:
        """A least-cost path along edge direction and its cost; None when a node is missing
        or no path exists."""

    async def page_rank(self, ns: str, damping: float, iterations: int) -> dict[str, float]:
        """Every node's rank (parallel edges count once, weights ignored, dangling nodes spread
        evenly), at most `iterations` power iterations."""

    async def components(self, ns: str) -> list[list[str]]:
        """Weakly connected components, in any order."""


class Servicer(InterfaceServicer[Store], pb_grpc.GraphAnalyticsServicer):
    async def ShortestPath(self, request, context):
        found = await self.store.shortest_path(request.namespace, request.from_node, request.to_node, request.weighted)
        if found is None:
            raise not_found(f"no path from {shown(request.from_node)} to {shown(request.to_node)}")
        path, cost = found
        return pb.ShortestPathResponse(node_ids=path, cost=cost)

    async def PageRank(self, request, context):
        if not (0 < request.damping < 1):
            raise invalid(f"damping must be in (0, 1), got {request.damping}")
        if not (1 <= request.iterations <= MAX_ITERATIONS):
            raise invalid(f"iterations must be in [1, {MAX_ITERATIONS}], got {request.iterations}")
        return pb.PageRankResponse(ranks=await self.store.page_rank(request.namespace, request.damping, request.iterations))

    async def ConnectedComponents(self, request, context):
        components = sorted(sorted(c) for c in await self.store.components(request.namespace) if c)
        return pb.ConnectedComponentsResponse(components=[pb.Component(node_ids=c) for c in components])
