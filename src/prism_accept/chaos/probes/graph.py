"""graph_basic probe: node `item-<i>` (label Probe) with property value=`value-<i>`; read asks
GetNode of every node the probe wrote (graph_basic cannot list nodes, so a phantom node the
probe never wrote goes unseen). AddNode refuses an existing id, so a re-write answered
ALREADY_EXISTS is the node already there: acknowledged (read checks what it holds)."""

from __future__ import annotations

import grpc
from google.protobuf import json_format, struct_pb2

from prism.graph.v1 import graph_pb2 as pb
from prism.graph.v1 import graph_pb2_grpc as pb_grpc
from prism_accept.chaos.probes import KnownItems, check_value, item_name, item_value, not_found

LABEL = "Probe"


def properties(i: int) -> dict:
    return {"value": item_value(i).decode()}


def struct(value: dict) -> struct_pb2.Struct:
    s = struct_pb2.Struct()
    s.update(value)
    return s


class Probe(KnownItems):
    interface = "graph_basic"

    def __init__(self, channel: grpc.Channel, namespace: str):
        super().__init__(channel, namespace)
        self.stub = pb_grpc.GraphBasicStub(channel)

    def put(self, i: int, timeout: float) -> None:
        node = pb.Node(id=item_name(i), labels=[LABEL], properties=struct(properties(i)))
        try:
            self.stub.AddNode(pb.AddNodeRequest(namespace=self.namespace, node=node), timeout=timeout)
        except grpc.RpcError as e:
            if e.code() != grpc.StatusCode.ALREADY_EXISTS:
                raise

    def held(self, i: int, timeout: float) -> bool:
        try:
            node = self.stub.GetNode(pb.GetNodeRequest(namespace=self.namespace, id=item_name(i)), timeout=timeout)
        except grpc.RpcError as e:
            if not_found(e):
                return False
            raise
        operation = f"GetNode({item_name(i)!r})"
        check_value(f"{operation}.labels", list(node.labels), [LABEL])
        check_value(f"{operation}.properties", json_format.MessageToDict(node.properties), properties(i))
        return True
