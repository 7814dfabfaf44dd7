"""What the graph suites share: readable graph_basic calls, and the graph a case wrote as a
networkx MultiDiGraph, the independent reference expected results are computed from."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any, Iterable

import networkx as nx
from google.protobuf import struct_pb2

from prism.graph.v1 import graph_pb2 as pb
from prism.graph.v1 import graph_pb2_grpc as pb_grpc


def struct(values: dict[str, Any] | None) -> struct_pb2.Struct:
    s = struct_pb2.Struct()
    s.update(values or {})
    return s


def unset_if_empty(message):
    """Empty properties read back set or unset alike (a message compares equal to one built
    without them)."""
    if not message.properties.fields:
        message.ClearField("properties")
    return message


@dataclass
class GraphOps:
    """graph_basic calls in one namespace; every node and edge written is also added to
    `reference` (node attributes labels/properties; edges keyed by id with label/weight/properties)."""

    stub: pb_grpc.GraphBasicStub
    ns: str
    reference: nx.MultiDiGraph = field(default_factory=nx.MultiDiGraph)

    @classmethod
    def on(cls, channel, ns: str) -> GraphOps:
        return cls(pb_grpc.GraphBasicStub(channel), ns)

    def node(self, node_id: str, *labels: str, **properties: Any) -> None:
        self.stub.AddNode(pb.AddNodeRequest(namespace=self.ns, node=pb.Node(id=node_id, labels=labels, properties=struct(properties))))
        self.reference.add_node(node_id, labels=sorted(set(labels)), properties=properties)

    def edge(self, edge_id: str, from_node: str, to_node: str, label: str = "link", weight: float | None = None, **properties: Any) -> None:
        edge = pb.Edge(id=edge_id, from_node=from_node, to_node=to_node, label=label, properties=struct(properties))
        if weight is not None:
            edge.weight = weight
        self.stub.AddEdge(pb.AddEdgeRequest(namespace=self.ns, edge=edge))
        self.reference.add_edge(
            from_node, to_node, key=edge_id, label=label, weight=1.0 if weight is None else weight, properties=properties
        )

    def edges(self, label: str, *pairs: str) -> None:
        """Edges 'u>v' of one label, ids '<label>:u>v', in the order given."""
        for pair in pairs:
            u, v = pair.split(">")
            self.edge(f"{label}:{pair}", u, v, label)

    def nodes(self, *ids: str) -> None:
        for node_id in ids:
            self.node(node_id)

    def bulk(self, node_ids: Iterable[str], pairs: Iterable[tuple[str, str]], label: str = "link", window: int = 64) -> None:
        """Many bare nodes, then edges u->v of one label (ids '<label>:u>v'), for cases over
        thousands of items: the proto has no batch form, so up to `window` calls are in flight
        at once (futures, no threads); every call must answer OK."""

        def run(calls: Iterable[tuple[Any, Any]]) -> None:
            pending: deque = deque()
            for method, request in calls:
                pending.append(method.future(request))
                if len(pending) >= window:
                    pending.popleft().result()
            while pending:
                pending.popleft().result()

        node_ids, pairs = list(node_ids), list(pairs)
        run((self.stub.AddNode, pb.AddNodeRequest(namespace=self.ns, node=pb.Node(id=n))) for n in node_ids)
        self.reference.add_nodes_from(node_ids, labels=[], properties={})
        edges = [pb.Edge(id=f"{label}:{u}>{v}", from_node=u, to_node=v, label=label) for u, v in pairs]
        run((self.stub.AddEdge, pb.AddEdgeRequest(namespace=self.ns, edge=e)) for e in edges)
        self.reference.add_edges_from((e.from_node, e.to_node, e.id, {"label": label, "weight": 1.0, "properties": {}}) for e in edges)

    def get_node(self, node_id: str) -> pb.Node:
        return unset_if_empty(self.stub.GetNode(pb.GetNodeRequest(namespace=self.ns, id=node_id)))

    def get_edge(self, edge_id: str) -> pb.Edge:
        return unset_if_empty(self.stub.GetEdge(pb.GetEdgeRequest(namespace=self.ns, id=edge_id)))

    def delete_node(self, node_id: str) -> tuple[bool, int]:
        r = self.stub.DeleteNode(pb.DeleteNodeRequest(namespace=self.ns, id=node_id))
        return r.found, r.edges_removed

    def delete_edge(self, edge_id: str) -> tuple[bool, int]:
        r = self.stub.DeleteEdge(pb.DeleteEdgeRequest(namespace=self.ns, id=edge_id))
        return r.found, r.edges_removed
