"""keyvalue_basic probe: key `item-<i>` holds `value-<i>`; read Gets every key the probe wrote
(keyvalue_basic cannot list keys, so a phantom key the probe never wrote goes unseen)."""

from __future__ import annotations

import grpc

from prism.keyvalue.v1 import keyvalue_pb2 as pb
from prism.keyvalue.v1 import keyvalue_pb2_grpc as pb_grpc
from prism_accept.chaos.probes import KnownItems, check_value, item_name, item_value, not_found


class Probe(KnownItems):
    interface = "keyvalue_basic"

    def __init__(self, channel: grpc.Channel, namespace: str):
        super().__init__(channel, namespace)
        self.stub = pb_grpc.KeyValueBasicStub(channel)

    def put(self, i: int, timeout: float) -> None:
        self.stub.Set(pb.SetRequest(namespace=self.namespace, key=item_name(i), value=item_value(i)), timeout=timeout)

    def held(self, i: int, timeout: float) -> bool:
        try:
            got = self.stub.Get(pb.GetRequest(namespace=self.namespace, key=item_name(i)), timeout=timeout).value
        except grpc.RpcError as e:
            if not_found(e):
                return False
            raise
        check_value(f"Get({item_name(i)!r})", got, item_value(i))
        return True
