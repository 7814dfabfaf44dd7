"""document_basic probe: document `item-<i>` of collection `probe` is {"value": "value-<i>"};
read Gets every document the probe wrote (document_basic cannot list documents, so a phantom
document the probe never wrote goes unseen). Insert refuses an existing id, so a re-write
answered ALREADY_EXISTS is the document already there: acknowledged (read checks its body)."""

from __future__ import annotations

import grpc
from google.protobuf import json_format, struct_pb2

from prism.document.v1 import document_pb2 as pb
from prism.document.v1 import document_pb2_grpc as pb_grpc
from prism_accept.chaos.probes import NAME, KnownItems, check_value, item_name, item_value, not_found


def body(i: int) -> dict:
    return {"value": item_value(i).decode()}


class Probe(KnownItems):
    interface = "document_basic"

    def __init__(self, channel: grpc.Channel, namespace: str):
        super().__init__(channel, namespace)
        self.stub = pb_grpc.DocumentBasicStub(channel)
        self.collection = NAME

    def put(self, i: int, timeout: float) -> None:
        struct = struct_pb2.Struct()
        struct.update(body(i))
        request = pb.InsertRequest(namespace=self.namespace, collection=self.collection, document=pb.Document(id=item_name(i), body=struct))
        try:
            self.stub.Insert(request, timeout=timeout)
        except grpc.RpcError as e:
            if e.code() != grpc.StatusCode.ALREADY_EXISTS:
                raise

    def held(self, i: int, timeout: float) -> bool:
        request = pb.GetRequest(namespace=self.namespace, collection=self.collection, id=item_name(i))
        try:
            document = self.stub.Get(request, timeout=timeout)
        except grpc.RpcError as e:
            if not_found(e):
                return False
            raise
        operation = f"Get({self.collection!r}, {item_name(i)!r})"
        check_value(f"{operation}.id", document.id, item_name(i))
        check_value(f"{operation}.body", json_format.MessageToDict(document.body), body(i))
        return True
