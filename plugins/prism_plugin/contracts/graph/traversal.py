"""graph_traversal: breadth- and depth-first traversals with exact tie order (ascending node id),
direction, max depth and an edge label filter."""

from __future__ import annotations

from typing import Protocol

from prism.graph.v1 import graph_pb2 as pb
from prism.graph.v1 import graph_pb2_grpc as pb_grpc
from prism_plugin.contract import InterfaceServicer
from prism_plugin.status import invalid, not_found, shown

DIRECTIONS = {pb.OUTGOING: "outgoing", pb.INCOMING: "incoming", pb.BOTH: "both"}


class Store(Protocol):
    async def breadth_first(self, ns: str, start: str, direction: str, max_depth: int, labels: frozenset[str]) -> list[str] | None:
        """Visit order, start first (None: no start node). direction is outgoing, incoming or
        both; max_depth 0 is no limit; labels empty is every label."""

    async def depth_first(self, ns: str, start: str, direction: str, max_depth: int, labels: frozenset[str]) -> list[str] | None:
        """Preorder, as breadth_first's arguments; depth is along the search path."""


class Servicer(InterfaceServicer[Store], pb_grpc.GraphTraversalServicer):
    async def _traverse(self, request, method) -> pb.TraverseResponse:
        if request.direction not in DIRECTIONS:
            raise invalid(f"unknown direction {request.direction}")
        if request.max_depth < 0:
            raise invalid(f"max_depth must be >= 0 (0: no limit), got {request.max_depth}")
        order = await method(
            request.namespace, request.start, DIRECTIONS[request.direction], request.max_depth, frozenset(request.edge_labels)
        )
        if order is None:
            raise not_found(f"no node {shown(request.start)}")
        return pb.TraverseResponse(node_ids=order)

    async def TraverseBreadthFirst(self, request, context):
        return await self._traverse(request, self.store.breadth_first)

    async def TraverseDepthFirst(self, request, context):
        return await self._traverse(request, self.store.depth_first)
