"""timeseries_aggregation: Aggregate into epoch-aligned buckets, Rollup (store the aggregate as
another metric), as Prometheus recording rules or TimescaleDB continuous aggregates do."""

from __future__ import annotations

from typing import Protocol

from prism.timeseries.v1 import timeseries_pb2 as pb
from prism.timeseries.v1 import timeseries_pb2_grpc as pb_grpc
from prism_plugin.contract import InterfaceServicer
from prism_plugin.contracts.timeseries.basic import MAX_TIMESTAMP_MS, Selection, SeriesPoints, response, selection, time_range
from prism_plugin.status import invalid, shown

# The functions by their proto names, lower-case, as the store receives them.
FUNCTIONS = {pb.AVG: "avg", pb.SUM: "sum", pb.MIN: "min", pb.MAX: "max", pb.COUNT: "count", pb.FIRST: "first", pb.LAST: "last"}


class Store(Protocol):
    async def aggregate(
        self, ns: str, selection: Selection, start_ms: int, end_ms: int, bucket_ms: int, function: str
    ) -> list[SeriesPoints]:
        """Per selected series, the points in [start_ms, end_ms) grouped into buckets starting at
        floor(t / bucket_ms) * bucket_ms; one point (bucket start, function of its values) per
        non-empty bucket, ascending. `function` is one of FUNCTIONS' values."""

    async def rollup(
        self, ns: str, selection: Selection, start_ms: int, end_ms: int, bucket_ms: int, function: str, target_metric: str
    ) -> int:
        """Write what aggregate answers to the series (target_metric, same labels), replacing
        points at the same timestamps; how many points were written."""


def bucket_and_function(request) -> tuple[int, str]:
    if not 1 <= request.bucket_ms <= MAX_TIMESTAMP_MS:
        raise invalid(f"bucket_ms {request.bucket_ms} is outside [1, 2^53]")
    if request.function not in FUNCTIONS:
        raise invalid(f"function {request.function} is not one of {sorted(pb.AggregateFunction.Name(f) for f in FUNCTIONS)}")
    return request.bucket_ms, FUNCTIONS[request.function]


class Servicer(InterfaceServicer[Store], pb_grpc.TimeSeriesAggregationServicer):
    async def Aggregate(self, request, context):
        start, end = time_range(request)
        bucket, function = bucket_and_function(request)
        return response(await self.store.aggregate(request.namespace, selection(request), start, end, bucket, function))

    async def Rollup(self, request, context):
        start, end = time_range(request)
        bucket, function = bucket_and_function(request)
        if request.target_metric == request.metric:
            raise invalid(f"target_metric {shown(request.target_metric)} is the metric rolled up")
        written = await self.store.rollup(request.namespace, selection(request), start, end, bucket, function, request.target_metric)
        return pb.InsertResponse(inserted=written)
