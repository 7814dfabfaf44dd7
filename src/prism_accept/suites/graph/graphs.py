"""What the graph suites share: readable graph_basic calls, and the graph a case wrote as a
networkx MultiDiGraph, the independent reference expected results are computed from."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

import networkx as nx
from google.protobuf import json_format, struct_pb2

from prism.graph.v1 import graph_pb2 as pb
from prism.graph.v1 import graph_pb2_grpc as pb_grpc


def batch_size(capabilities) -> int:
    """Entries per AddNodes or AddEdges: the declared max_batch_size, at most 1,000 (a case
    calling it carries @requires.limit("max_batch_size"))."""
    return min(1000, capabilities.limit("max_batch_size"))


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

    def add_nodes(self, nodes: Iterable[pb.Node]) -> None:
        """One AddNodes call (every node added, or the call raises and nothing is recorded)."""
        nodes = list(nodes)
        self.stub.AddNodes(pb.AddNodesRequest(namespace=self.ns, nodes=nodes))
        for n in nodes:
            self.reference.add_node(n.id, labels=sorted(set(n.labels)), properties=json_format.MessageToDict(n.properties))

    def add_edges(self, edges: Iterable[pb.Edge]) -> None:
        """One AddEdges call, recorded as AddEdge's (weight 1 when unset)."""
        edges = list(edges)
        self.stub.AddEdges(pb.AddEdgesRequest(namespace=self.ns, edges=edges))
        for e in edges:
            weight = e.weight if e.HasField("weight") else 1.0
            attrs = {"label": e.label, "weight": weight, "properties": json_format.MessageToDict(e.properties)}
            self.reference.add_edge(e.from_node, e.to_node, key=e.id, **attrs)

    def bulk(self, node_ids: Iterable[str], pairs: Iterable[tuple[str, str]], *, batch: int, label: str = "link") -> None:
        """Many bare nodes, then edges u->v of one label (ids '<label>:u>v'), for cases over
        thousands of items: AddNodes and AddEdges calls of `batch` entries (see batch_size)."""
        node_ids, pairs = list(node_ids), list(pairs)
        for i in range(0, len(node_ids), batch):
            self.add_nodes(pb.Node(id=n) for n in node_ids[i : i + batch])
        for i in range(0, len(pairs), batch):
            self.add_edges(pb.Edge(id=f"{label}:{u}>{v}", from_node=u, to_node=v, label=label) for u, v in pairs[i : i + batch])

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
