"""MemStore's time series: per namespace and metric, a dict of series (by their labels) of
{timestamp_ms: value}, and a retention per metric. Interpolating outside a series' span gives
no value (behaviours.timeseries_interpolation.outside_range: absent)."""

from __future__ import annotations

import bisect
import math
import time
from fractions import Fraction
from typing import Callable, Iterator

from prism_plugin.contracts.timeseries.basic import Labels, Selection, SeriesPoints

LabelKey = frozenset[tuple[str, str]]
Points = list[tuple[int, float]]


def exact_sum(values: list[float]) -> Fraction | float:
    """The values' sum, rounded once (fsum), or exact where a partial sum overflows a double
    although the sum may not (1.5e308 + 1.5e308 - 1.5e308)."""
    try:
        return math.fsum(values)
    except OverflowError:
        return sum(map(Fraction, values))


def rounded(value: Fraction | float) -> float:
    """A double; inf beyond the range of a double (answered OUT_OF_RANGE)."""
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf


AGGREGATES: dict[str, Callable[[list[float]], float]] = {
    "avg": lambda values: rounded(exact_sum(values) / len(values)),
    "sum": lambda values: rounded(exact_sum(values)),
    "min": min,
    "max": max,
    "count": lambda values: float(len(values)),
    "first": lambda values: values[0],
    "last": lambda values: values[-1],
}


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def buckets(points: Points, bucket_ms: int, function: str) -> Points:
    """One point per non-empty epoch-aligned bucket (points ascending)."""
    grouped: dict[int, list[float]] = {}
    for t, v in points:
        grouped.setdefault(t - t % bucket_ms, []).append(v)  # Python's % floors: t - t % b = floor(t / b) * b
    return [(start, AGGREGATES[function](values)) for start, values in sorted(grouped.items())]


def linear(points: Points, t: int) -> float | None:
    i = bisect.bisect_left(points, (t, -math.inf))
    if i < len(points) and points[i][0] == t:
        return points[i][1]
    if i == 0 or i == len(points):
        return None
    (t0, v0), (t1, v1) = points[i - 1], points[i]
    # v0 + (v1 - v0) * (t - t0) / (t1 - t0) on halves: no intermediate leaves the range of a
    # double (v1 - v0 may, and so may the difference times t - t0), and the value never does.
    return 2 * (v0 / 2 + (v1 / 2 - v0 / 2) * ((t - t0) / (t1 - t0)))


def step(points: Points, t: int) -> float | None:
    i = bisect.bisect_right(points, (t, math.inf))
    if i == 0 or t > points[-1][0]:
        return None
    return points[i - 1][1]


class MemTimeSeries:
    def __init__(self) -> None:
        self._spaces: dict[str, dict[str, dict[LabelKey, dict[int, float]]]] = {}
        self._retention: dict[str, dict[str, int]] = {}

    def drop(self, ns: str) -> None:
        self._spaces.pop(ns, None)
        self._retention.pop(ns, None)

    def _selected(self, ns: str, selection: Selection) -> Iterator[tuple[Labels, Points]]:
        for key, series in self._spaces.get(ns, {}).get(selection.metric, {}).items():
            labels = dict(key)
            if selection.matches(labels):
                yield labels, sorted(series.items())

    # timeseries_basic
    async def insert(self, ns: str, metric: str, labels: Labels, points: Points) -> None:
        series = self._spaces.setdefault(ns, {}).setdefault(metric, {}).setdefault(frozenset(labels.items()), {})
        series.update(points)

    async def query(self, ns: str, selection: Selection, start_ms: int, end_ms: int) -> list[SeriesPoints]:
        return [
            SeriesPoints(selection.metric, labels, [(t, v) for t, v in points if start_ms <= t < end_ms])
            for labels, points in self._selected(ns, selection)
        ]

    # timeseries_aggregation
    async def aggregate(
        self, ns: str, selection: Selection, start_ms: int, end_ms: int, bucket_ms: int, function: str
    ) -> list[SeriesPoints]:
        return [
            SeriesPoints(s.metric, s.labels, buckets(s.points, bucket_ms, function))
            for s in await self.query(ns, selection, start_ms, end_ms)
        ]

    async def rollup(
        self, ns: str, selection: Selection, start_ms: int, end_ms: int, bucket_ms: int, function: str, target_metric: str
    ) -> int:
        written = 0
        for s in await self.aggregate(ns, selection, start_ms, end_ms, bucket_ms, function):
            await self.insert(ns, target_metric, s.labels, s.points)
            written += len(s.points)
        return written

    # timeseries_retention
    async def set_retention(self, ns: str, metric: str, retention_ms: int) -> None:
        if retention_ms:
            self._retention.setdefault(ns, {})[metric] = retention_ms
        else:
            self._retention.get(ns, {}).pop(metric, None)

    async def compact(self, ns: str, metric: str) -> int:
        retention = self._retention.get(ns, {}).get(metric)
        if retention is None:
            return 0
        oldest_kept = now_ms() - retention
        removed = 0
        for series in self._spaces.get(ns, {}).get(metric, {}).values():
            for t in [t for t in series if t < oldest_kept]:
                del series[t]
                removed += 1
        return removed

    # timeseries_interpolation
    def _interpolate(self, ns: str, selection: Selection, timestamps_ms: list[int], at) -> list[SeriesPoints]:
        answers = []
        for labels, points in self._selected(ns, selection):
            values = ((t, at(points, t)) for t in timestamps_ms)
            answers.append(SeriesPoints(selection.metric, labels, [(t, v) for t, v in values if v is not None]))
        return answers

    async def interpolate_linear(self, ns: str, selection: Selection, timestamps_ms: list[int]) -> list[SeriesPoints]:
        return self._interpolate(ns, selection, timestamps_ms, linear)

    async def interpolate_step(self, ns: str, selection: Selection, timestamps_ms: list[int]) -> list[SeriesPoints]:
        return self._interpolate(ns, selection, timestamps_ms, step)
