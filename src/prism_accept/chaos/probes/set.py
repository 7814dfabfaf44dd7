"""set_basic probe: member `item-<i>` of set `probe`; read is GetMembers, so any member the
probe never wrote is seen. Adding a member again is harmless (a set)."""

from __future__ import annotations

import grpc

from prism.set.v1 import set_pb2 as pb
from prism.set.v1 import set_pb2_grpc as pb_grpc
from prism_accept.chaos.probes import NAME, item_of, item_payload
from prism_accept.chaos.probes import Probe as Base


class Probe(Base):
    interface = "set_basic"

    def __init__(self, channel: grpc.Channel, namespace: str):
        super().__init__(channel, namespace)
        self.stub = pb_grpc.SetBasicStub(channel)
        self.set = NAME

    def write(self, i: int, timeout: float) -> None:
        self.stub.Add(pb.MembersRequest(namespace=self.namespace, set=self.set, members=[item_payload(i)]), timeout=timeout)

    def read(self, timeout: float, want: frozenset[int] = frozenset()) -> list[int]:
        members = self.stub.GetMembers(pb.SetRequest(namespace=self.namespace, set=self.set), timeout=timeout).members
        return sorted(item_of(f"GetMembers({self.set!r}) member", m) for m in members)
