"""timeseries_basic probe: item i is the point (BASE_MS + i, i) of series `probe`{probe="chaos"};
read Queries every point of every series of the metric, so any point, value or series the
probe never wrote is seen. A second insert at a timestamp replaces the first: idempotent."""

from __future__ import annotations

import grpc

from prism.timeseries.v1 import timeseries_pb2 as pb
from prism.timeseries.v1 import timeseries_pb2_grpc as pb_grpc
from prism_accept.chaos.probes import NAME, check_value
from prism_accept.chaos.probes import Probe as Base

BASE_MS = 1_700_000_000_000  # item 0's timestamp (fixed, so another probe of the namespace agrees)
LABELS = {"probe": "chaos"}
EVERY = (-(2**63), 2**63 - 1)  # a range holding every valid point


class Probe(Base):
    interface = "timeseries_basic"
    ordered = True  # points come back ordered by time, so by item

    def __init__(self, channel: grpc.Channel, namespace: str):
        super().__init__(channel, namespace)
        self.stub = pb_grpc.TimeSeriesBasicStub(channel)
        self.metric = NAME

    def write(self, i: int, timeout: float) -> None:
        point = pb.Point(timestamp_ms=BASE_MS + i, value=float(i))
        self.stub.Insert(pb.InsertRequest(namespace=self.namespace, metric=self.metric, labels=LABELS, points=[point]), timeout=timeout)

    def read(self, timeout: float, want: frozenset[int] = frozenset()) -> list[int]:
        request = pb.QueryRequest(namespace=self.namespace, metric=self.metric, start_ms=EVERY[0], end_ms=EVERY[1])
        answer = self.stub.Query(request, timeout=timeout)
        operation = f"Query({self.metric!r}, every point)"
        got = []
        for series in answer.series:
            check_value(f"{operation}: a series' metric and labels", (series.metric, dict(series.labels)), (self.metric, LABELS))
            for p in series.points:
                i = p.timestamp_ms - BASE_MS
                if i < 0:
                    raise AssertionError(f"{operation}: got a point at {p.timestamp_ms}, want none before {BASE_MS} (item 0)")
                check_value(f"{operation}: the value at {p.timestamp_ms} (item {i})", p.value, float(i))
                got.append(i)
        return got
