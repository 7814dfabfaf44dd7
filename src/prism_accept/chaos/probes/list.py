"""list probe: PushRight (list_basic) of `item-<i>` to list `probe`, read back whole by
GetRange(0, -1) of list_range, since list_basic reads only by popping. Hence `interface` is
list_range (every backend declaring it declares list_basic too). A list keeps what is pushed:
a re-write of item i is a second element, and read keeps it (duplicates, in list order)."""

from __future__ import annotations

import grpc

from prism.list.v1 import list_pb2 as pb
from prism.list.v1 import list_pb2_grpc as pb_grpc
from prism_accept.chaos.probes import NAME, item_of, item_payload
from prism_accept.chaos.probes import Probe as Base


class Probe(Base):
    interface = "list_range"
    ordered = True

    def __init__(self, channel: grpc.Channel, namespace: str):
        super().__init__(channel, namespace)
        self.basic = pb_grpc.ListBasicStub(channel)
        self.range = pb_grpc.ListRangeStub(channel)
        self.key = NAME

    def write(self, i: int, timeout: float) -> None:
        self.basic.PushRight(pb.PushRequest(namespace=self.namespace, key=self.key, values=[item_payload(i)]), timeout=timeout)

    def read(self, timeout: float, want: frozenset[int] = frozenset()) -> list[int]:
        request = pb.GetRangeRequest(namespace=self.namespace, key=self.key, start=0, stop=-1)
        values = self.range.GetRange(request, timeout=timeout).values
        return [item_of(f"GetRange({self.key!r}, 0, -1) element", v) for v in values]
