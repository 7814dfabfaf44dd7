"""timeseries_basic: Insert, Query (Prometheus/InfluxDB-style series: a metric and its labels),
and the request checks and types the other time-series contracts share."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

from prism.timeseries.v1 import timeseries_pb2 as pb
from prism.timeseries.v1 import timeseries_pb2_grpc as pb_grpc
from prism_plugin.contract import InterfaceServicer
from prism_plugin.status import invalid, out_of_range

MAX_TIMESTAMP_MS = 2**53  # point timestamps are within [-2^53, 2^53]: exact as doubles

Labels = dict[str, str]


@dataclass(frozen=True)
class Matcher:
    label: str
    value: str
    equal: bool  # False: NOT_EQUAL

    def matches(self, labels: Labels) -> bool:
        """A missing label has the value ""; values compare whole, as strings."""
        return (labels.get(self.label, "") == self.value) == self.equal


@dataclass(frozen=True)
class Selection:
    """The series of `metric` whose labels match every matcher."""

    metric: str
    matchers: tuple[Matcher, ...]

    def matches(self, labels: Labels) -> bool:
        return all(m.matches(labels) for m in self.matchers)


@dataclass(frozen=True)
class SeriesPoints:
    """One series' answer: its labels and points (timestamp_ms, value), ascending, non-empty."""

    metric: str
    labels: Labels
    points: list[tuple[int, float]]


def selection(request) -> Selection:
    """The series selection of a request with `metric` and `matchers` (an empty label name is
    INVALID_ARGUMENT)."""
    matchers = []
    for i, m in enumerate(request.matchers):
        if not m.label:
            raise invalid(f"matchers[{i}].label must be a non-empty label name")
        if m.op not in (pb.LabelMatcher.EQUAL, pb.LabelMatcher.NOT_EQUAL):
            raise invalid(f"matchers[{i}].op {m.op} is not EQUAL or NOT_EQUAL")
        matchers.append(Matcher(m.label, m.value, m.op == pb.LabelMatcher.EQUAL))
    return Selection(request.metric, tuple(matchers))


def time_range(request) -> tuple[int, int]:
    """[start_ms, end_ms): end before start is INVALID_ARGUMENT."""
    if request.end_ms < request.start_ms:
        raise invalid(f"end_ms {request.end_ms} is before start_ms {request.start_ms}")
    return request.start_ms, request.end_ms


def response(series: list[SeriesPoints]) -> pb.QueryResponse:
    """The answer; a computed value beyond the range of a double is OUT_OF_RANGE."""
    for s in series:
        for t, v in s.points:
            if not math.isfinite(v):
                raise out_of_range(f"the value at {t} is {v}: beyond the range of a double")
    return pb.QueryResponse(
        series=[
            pb.Series(metric=s.metric, labels=s.labels, points=[pb.Point(timestamp_ms=t, value=v) for t, v in s.points])
            for s in series
            if s.points
        ]
    )


class Store(Protocol):
    async def insert(self, ns: str, metric: str, labels: Labels, points: list[tuple[int, float]]) -> None:
        """Write points (distinct timestamps) to the series (metric, labels); a point at a
        timestamp the series holds replaces it."""

    async def query(self, ns: str, selection: Selection, start_ms: int, end_ms: int) -> list[SeriesPoints]:
        """Each selected series' points with start_ms <= t < end_ms, ascending; series with
        none are left out."""


class Servicer(InterfaceServicer[Store], pb_grpc.TimeSeriesBasicServicer):
    async def Insert(self, request, context):
        if not request.points:
            raise invalid("points must hold at least one point")
        for name in request.labels:
            if not name:
                raise invalid("labels must not hold an empty label name")
        points: dict[int, float] = {}
        for i, p in enumerate(request.points):
            if not -MAX_TIMESTAMP_MS <= p.timestamp_ms <= MAX_TIMESTAMP_MS:
                raise invalid(f"points[{i}].timestamp_ms {p.timestamp_ms} is outside [-2^53, 2^53]")
            if not math.isfinite(p.value):
                raise invalid(f"points[{i}].value {p.value} is not a finite number")
            points[p.timestamp_ms] = p.value  # a later point at a timestamp replaces an earlier one
        await self.store.insert(request.namespace, request.metric, dict(request.labels), sorted(points.items()))
        return pb.InsertResponse(inserted=len(points))

    async def Query(self, request, context):
        start, end = time_range(request)
        return response(await self.store.query(request.namespace, selection(request), start, end))
