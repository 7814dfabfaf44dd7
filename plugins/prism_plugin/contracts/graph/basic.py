"""graph_basic: AddNode, AddEdge, GetNode, GetEdge, DeleteNode (with its edges), DeleteEdge, and
the batch writes AddNodes, AddEdges (atomic; the batch size bound is a convention, max_batch_size).
A store adds a batch natively with the optional methods of BatchStore; without them the servicer
adds one entry at a time and, when one is refused, deletes the ones it added before answering."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Protocol

from google.protobuf import json_format, struct_pb2

from prism.graph.v1 import graph_pb2 as pb
from prism.graph.v1 import graph_pb2_grpc as pb_grpc
from prism_plugin.contract import InterfaceServicer
from prism_plugin.status import already_exists, invalid, not_found, shown


@dataclass(frozen=True)
class NodeData:
    id: str
    labels: tuple[str, ...]  # distinct, ascending
    properties: dict[str, Any] = field(default_factory=dict)  # JSON-shaped (Struct as a dict)


@dataclass(frozen=True)
class EdgeData:
    id: str
    from_node: str
    to_node: str
    label: str
    weight: float
    properties: dict[str, Any] = field(default_factory=dict)


class Store(Protocol):
    async def add_node(self, ns: str, node: NodeData) -> None:
        """Raises ALREADY_EXISTS for an existing node id."""

    async def add_edge(self, ns: str, edge: EdgeData) -> None:
        """Raises ALREADY_EXISTS for an existing edge id, and the backend's declared status
        (FAILED_PRECONDITION or NOT_FOUND) when an endpoint is missing, adding nothing."""

    async def get_node(self, ns: str, node_id: str) -> NodeData | None:
        ...

    async def get_edge(self, ns: str, edge_id: str) -> EdgeData | None:
        ...

    async def delete_node(self, ns: str, node_id: str) -> int | None:
        """Removes the node and every edge from or to it; how many edges (None: no node)."""

    async def delete_edge(self, ns: str, edge_id: str) -> bool:
        ...


class BatchStore(Protocol):
    """Optional: a store that has these adds a batch in one step (the servicer checks each entry
    first, and that the batch repeats no id)."""

    async def add_nodes(self, ns: str, nodes: list[NodeData]) -> None:
        """Every node or none: ALREADY_EXISTS when an id exists."""

    async def add_edges(self, ns: str, edges: list[EdgeData]) -> None:
        """Every edge or none: ALREADY_EXISTS when an id exists, the declared missing-endpoint
        status when an endpoint is missing."""


def struct_to_dict(struct: struct_pb2.Struct) -> dict[str, Any]:
    """A Struct as plain JSON values; non-finite numbers (no JSON for them) are INVALID_ARGUMENT."""
    _check_finite(struct)
    return json_format.MessageToDict(struct)


def dict_to_struct(values: dict[str, Any]) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    struct.update(values)
    return struct


def _check_finite(message: Any) -> None:
    if isinstance(message, struct_pb2.Struct):
        for value in message.fields.values():
            _check_finite(value)
    elif isinstance(message, struct_pb2.ListValue):
        for value in message.values:
            _check_finite(value)
    elif isinstance(message, struct_pb2.Value):
        kind = message.WhichOneof("kind")
        if kind == "number_value" and not math.isfinite(message.number_value):
            raise invalid("properties: numbers must be finite")
        if kind in ("struct_value", "list_value"):
            _check_finite(getattr(message, kind))


def node_message(node: NodeData) -> pb.Node:
    return pb.Node(id=node.id, labels=node.labels, properties=dict_to_struct(node.properties))


def edge_message(edge: EdgeData) -> pb.Edge:
    return pb.Edge(
        id=edge.id,
        from_node=edge.from_node,
        to_node=edge.to_node,
        label=edge.label,
        weight=edge.weight,
        properties=dict_to_struct(edge.properties),
    )


def node_data(node: pb.Node) -> NodeData:
    if any(not label for label in node.labels):
        raise invalid("node labels must be non-empty strings")
    return NodeData(node.id, tuple(sorted(set(node.labels))), struct_to_dict(node.properties))


def edge_data(edge: pb.Edge) -> EdgeData:
    weight = edge.weight if edge.HasField("weight") else 1.0
    if not math.isfinite(weight) or weight < 0:
        raise invalid(f"edge weight must be finite and >= 0, got {weight}")
    return EdgeData(edge.id, edge.from_node, edge.to_node, edge.label, weight, struct_to_dict(edge.properties))


def _distinct_ids(kind: str, items: list[NodeData] | list[EdgeData]) -> None:
    seen: set[str] = set()
    for item in items:
        if item.id in seen:
            raise already_exists(f"{kind} {shown(item.id)} appears twice in the batch")
        seen.add(item.id)


class Servicer(InterfaceServicer[Store], pb_grpc.GraphBasicServicer):
    async def AddNode(self, request, context):
        if not request.HasField("node"):
            raise invalid("node is required")
        await self.store.add_node(request.namespace, node_data(request.node))
        return pb.AddNodeResponse()

    async def AddEdge(self, request, context):
        if not request.HasField("edge"):
            raise invalid("edge is required")
        await self.store.add_edge(request.namespace, edge_data(request.edge))
        return pb.AddEdgeResponse()

    async def AddNodes(self, request, context):
        nodes = [node_data(node) for node in request.nodes]
        await self._add_all(request.namespace, "node", nodes, "add_nodes", self.store.add_node, self.store.delete_node)
        return pb.AddNodesResponse()

    async def AddEdges(self, request, context):
        edges = [edge_data(edge) for edge in request.edges]
        await self._add_all(request.namespace, "edge", edges, "add_edges", self.store.add_edge, self.store.delete_edge)
        return pb.AddEdgesResponse()

    async def _add_all(self, ns: str, kind: str, items: list, batch: str, add: Callable, delete: Callable) -> None:
        """A batch of nodes or edges: the store's own batch method (`batch`) where it has one,
        else one at a time, undone on the first refusal."""
        _distinct_ids(kind, items)
        if not items:
            return
        native = getattr(self.store, batch, None)
        if native is not None:
            await native(ns, items)
        else:
            await _one_at_a_time(items, lambda item: add(ns, item), lambda item: delete(ns, item.id))

    async def GetNode(self, request, context):
        node = await self.store.get_node(request.namespace, request.id)
        if node is None:
            raise not_found(f"no node {shown(request.id)}")
        return node_message(node)

    async def GetEdge(self, request, context):
        edge = await self.store.get_edge(request.namespace, request.id)
        if edge is None:
            raise not_found(f"no edge {shown(request.id)}")
        return edge_message(edge)

    async def DeleteNode(self, request, context):
        removed = await self.store.delete_node(request.namespace, request.id)
        return pb.DeleteResponse(found=removed is not None, edges_removed=removed or 0)

    async def DeleteEdge(self, request, context):
        found = await self.store.delete_edge(request.namespace, request.id)
        return pb.DeleteResponse(found=found, edges_removed=1 if found else 0)


async def _one_at_a_time(items: list[Any], add: Callable[[Any], Awaitable[Any]], undo: Callable[[Any], Awaitable[Any]]) -> None:
    """A batch through a store's single add: when one entry fails, the ones added before it are
    deleted again (they were new, so that restores the namespace) and the failure is answered."""
    added: list[Any] = []
    try:
        for item in items:
            await add(item)
            added.append(item)
    except Exception:
        for item in reversed(added):
            await undo(item)
        raise
