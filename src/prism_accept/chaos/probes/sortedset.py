"""sortedset_basic probe: member `item-<i>` of sorted set `probe` has score i; read asks
GetScore of every member the probe wrote (sortedset_basic cannot list members, so a phantom
member the probe never wrote goes unseen)."""

from __future__ import annotations

import grpc

from prism.sortedset.v1 import sortedset_pb2 as pb
from prism.sortedset.v1 import sortedset_pb2_grpc as pb_grpc
from prism_accept.chaos.probes import NAME, KnownItems, check_value, item_payload, not_found


class Probe(KnownItems):
    interface = "sortedset_basic"

    def __init__(self, channel: grpc.Channel, namespace: str):
        super().__init__(channel, namespace)
        self.stub = pb_grpc.SortedSetBasicStub(channel)
        self.key = NAME

    def put(self, i: int, timeout: float) -> None:
        member = pb.ScoredMember(member=item_payload(i), score=float(i))
        self.stub.Add(pb.AddRequest(namespace=self.namespace, key=self.key, members=[member]), timeout=timeout)

    def held(self, i: int, timeout: float) -> bool:
        request = pb.GetScoreRequest(namespace=self.namespace, key=self.key, member=item_payload(i))
        try:
            got = self.stub.GetScore(request, timeout=timeout).score
        except grpc.RpcError as e:
            if not_found(e):
                return False
            raise
        check_value(f"GetScore({self.key!r}, {item_payload(i)!r})", got, float(i))
        return True
