"""stream_basic probe: Append of payload `item-<i>` to stream `probe`; read is a Read from the
earliest record to the current end (idle_timeout_ms 0), in offset order. A stream keeps what is
appended: an Append retried after a fault may add item i twice, and read keeps both
(at-least-once accounting)."""

from __future__ import annotations

import grpc

from prism.stream.v1 import stream_pb2 as pb
from prism.stream.v1 import stream_pb2_grpc as pb_grpc
from prism_accept.chaos.probes import NAME, check_value, item_of, item_payload
from prism_accept.chaos.probes import Probe as Base


class Probe(Base):
    interface = "stream_basic"
    messages = True
    ordered = True

    def __init__(self, channel: grpc.Channel, namespace: str):
        super().__init__(channel, namespace)
        self.stub = pb_grpc.StreamBasicStub(channel)
        self.stream = NAME

    def write(self, i: int, timeout: float) -> None:
        self.stub.Append(pb.AppendRequest(namespace=self.namespace, stream=self.stream, payload=item_payload(i)), timeout=timeout)

    def read(self, timeout: float, want: frozenset[int] = frozenset()) -> list[int]:
        request = pb.ReadRequest(namespace=self.namespace, stream=self.stream, idle_timeout_ms=0, **{"from": pb.Position(earliest=True)})
        operation = f"Read({self.stream!r}, from=earliest)"
        call = self.stub.Read(request, timeout=timeout)
        try:
            kinds, got = [], []
            for event in call:
                kinds.append(event.WhichOneof("event"))
                if kinds[-1] == "record":
                    got.append(item_of(f"{operation} record", event.record.payload))
            check_value(f"{operation}: the first event", kinds[:1], ["ready"])
            check_value(f"{operation}: events after the first that are not records", [k for k in kinds[1:] if k != "record"], [])
            return got
        finally:
            call.cancel()
