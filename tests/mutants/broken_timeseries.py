"""Plausible time-series bugs, each a small change to MemStore's MemTimeSeries: every
timeseries suite must fail against at least one (tests/mutants/test_suites_catch_broken_plugins.py)."""

from __future__ import annotations

import bisect
import math
from typing import Callable

import prism_memstore
from prism_memstore import timeseries
from prism_memstore.timeseries import AGGREGATES, MemTimeSeries, now_ms
from prism_plugin.contracts.timeseries.basic import Matcher, SeriesPoints


def series_store(store_class: type[MemTimeSeries]) -> Callable[[], None]:
    def patch() -> None:
        prism_memstore.MemTimeSeries = store_class  # type: ignore[misc]

    return patch


# timeseries_basic
class ReplacedPointKeptTwice(MemTimeSeries):
    """Points appended to a list: a second write at a timestamp adds a point."""

    async def insert(self, ns, metric, labels, points):
        series = self._spaces.setdefault(ns, {}).setdefault(metric, {}).setdefault(frozenset(labels.items()), {})
        for t, v in points:
            series[t if t not in series else t + 0.5] = v  # type: ignore[index]

    async def query(self, ns, selection, start_ms, end_ms):
        answers = await super().query(ns, selection, start_ms, end_ms)
        return [SeriesPoints(s.metric, s.labels, [(int(t), v) for t, v in s.points]) for s in answers]


class RangeEndInclusive(MemTimeSeries):
    async def query(self, ns, selection, start_ms, end_ms):
        return await super().query(ns, selection, start_ms, end_ms + 1)


class MatcherComparesPrefixes(MemTimeSeries):
    def _selected(self, ns, selection):
        prefixes = type(selection)(selection.metric, tuple(PrefixMatcher(m.label, m.value, m.equal) for m in selection.matchers))
        return super()._selected(ns, prefixes)


class PrefixMatcher(Matcher):
    def matches(self, labels):
        return labels.get(self.label, "").startswith(self.value) == self.equal


class NotEqualNeedsTheLabel(MemTimeSeries):
    def _selected(self, ns, selection):
        for labels, points in super()._selected(ns, selection):
            if all(m.equal or m.label in labels for m in selection.matchers):
                yield labels, points


# timeseries_aggregation
def bucketed(points, bucket_start, function):
    grouped: dict[int, list[float]] = {}
    for t, v in points:
        grouped.setdefault(bucket_start(t), []).append(v)
    return [(start, AGGREGATES[function](values)) for start, values in sorted(grouped.items())]


class BucketsAlignedToTheFirstPoint(MemTimeSeries):
    async def aggregate(self, ns, selection, start_ms, end_ms, bucket_ms, function):
        answers = []
        for s in await self.query(ns, selection, start_ms, end_ms):
            first = s.points[0][0]
            answers.append(SeriesPoints(s.metric, s.labels, bucketed(s.points, lambda t: t - (t - first) % bucket_ms, function)))
        return answers


class BucketsTruncatedTowardZero(MemTimeSeries):
    async def aggregate(self, ns, selection, start_ms, end_ms, bucket_ms, function):
        return [
            SeriesPoints(s.metric, s.labels, bucketed(s.points, lambda t: int(t / bucket_ms) * bucket_ms, function))
            for s in await self.query(ns, selection, start_ms, end_ms)
        ]


class EmptyBucketsReported(MemTimeSeries):
    """Fills the gaps between the first and last bucket with zeros."""

    async def aggregate(self, ns, selection, start_ms, end_ms, bucket_ms, function):
        answers = await super().aggregate(ns, selection, start_ms, end_ms, bucket_ms, function)
        filled = []
        for s in answers:
            values = dict(s.points)
            first, last = s.points[0][0], s.points[-1][0]
            filled.append(SeriesPoints(s.metric, s.labels, [(t, values.get(t, 0.0)) for t in range(first, last + 1, bucket_ms)]))
        return filled


class FirstAndLastInWriteOrder(MemTimeSeries):
    async def aggregate(self, ns, selection, start_ms, end_ms, bucket_ms, function):
        answers = []
        for key, series in self._spaces.get(ns, {}).get(selection.metric, {}).items():
            labels = dict(key)
            if selection.matches(labels):
                written = [(t, v) for t, v in series.items() if start_ms <= t < end_ms]  # insertion order, not time
                answers.append(SeriesPoints(selection.metric, labels, bucketed(written, lambda t: t - t % bucket_ms, function)))
        return answers


class ReplacedPointsAggregatedAgain(MemTimeSeries):
    """Aggregates an append-only log of every write: a replaced point still counts."""

    def __init__(self) -> None:
        super().__init__()
        self._log: dict[tuple[str, str], list[tuple[frozenset, int, float]]] = {}

    def drop(self, ns):
        super().drop(ns)
        self._log = {k: v for k, v in self._log.items() if k[0] != ns}

    async def insert(self, ns, metric, labels, points):
        await super().insert(ns, metric, labels, points)
        self._log.setdefault((ns, metric), []).extend((frozenset(labels.items()), t, v) for t, v in points)

    async def aggregate(self, ns, selection, start_ms, end_ms, bucket_ms, function):
        by_series: dict[frozenset, list[tuple[int, float]]] = {}
        for key, t, v in self._log.get((ns, selection.metric), []):
            if selection.matches(dict(key)) and start_ms <= t < end_ms:
                by_series.setdefault(key, []).append((t, v))
        return [
            SeriesPoints(selection.metric, dict(key), bucketed(sorted(points), lambda t: t - t % bucket_ms, function))
            for key, points in by_series.items()
        ]


class RollupIgnoresMatchers(MemTimeSeries):
    async def rollup(self, ns, selection, start_ms, end_ms, bucket_ms, function, target_metric):
        everything = type(selection)(selection.metric, ())
        return await super().rollup(ns, everything, start_ms, end_ms, bucket_ms, function, target_metric)


# timeseries_retention
class RetentionTrimsTheNewest(MemTimeSeries):
    async def compact(self, ns, metric):
        retention = self._retention.get(ns, {}).get(metric)
        if retention is None:
            return 0
        removed = 0
        for series in self._spaces.get(ns, {}).get(metric, {}).values():
            for t in [t for t in series if t >= now_ms() - retention]:
                del series[t]
                removed += 1
        return removed


class RetentionFromTheNewestPoint(MemTimeSeries):
    async def compact(self, ns, metric):
        retention = self._retention.get(ns, {}).get(metric)
        if retention is None:
            return 0
        removed = 0
        for series in self._spaces.get(ns, {}).get(metric, {}).values():
            newest = max(series, default=0)
            for t in [t for t in series if t < newest - retention]:
                del series[t]
                removed += 1
        return removed


class RetentionForEveryMetric(MemTimeSeries):
    """One retention per namespace: the last SetRetention applies to every metric."""

    async def set_retention(self, ns, metric, retention_ms):
        self._retention[ns] = {}
        await super().set_retention(ns, "*", retention_ms)

    async def compact(self, ns, metric):
        retention = self._retention.get(ns, {}).get("*")
        if retention:
            self._retention.setdefault(ns, {})[metric] = retention
        return await super().compact(ns, metric)


class RetentionInSeconds(MemTimeSeries):
    async def set_retention(self, ns, metric, retention_ms):
        await super().set_retention(ns, metric, retention_ms * 1000)


# timeseries_interpolation
def step_takes_the_next_point(points, t):
    i = bisect.bisect_left(points, (t, -math.inf))
    if i == len(points) or t < points[0][0]:
        return None
    return points[i][1]


def linear_first_point_outside(points, t):
    i = bisect.bisect_left(points, (t, -math.inf))
    if i == 0:
        return None
    return timeseries.linear(points, t)


def step_carries_the_last_value_on(points, t):
    i = bisect.bisect_right(points, (t, math.inf))
    return points[i - 1][1] if i else None


class StepTakesTheNextPoint(MemTimeSeries):
    async def interpolate_step(self, ns, selection, timestamps_ms):
        return self._interpolate(ns, selection, timestamps_ms, step_takes_the_next_point)


class LinearFirstPointIsOutside(MemTimeSeries):
    async def interpolate_linear(self, ns, selection, timestamps_ms):
        return self._interpolate(ns, selection, timestamps_ms, linear_first_point_outside)


class StepCarriesTheLastValueOn(MemTimeSeries):
    async def interpolate_step(self, ns, selection, timestamps_ms):
        return self._interpolate(ns, selection, timestamps_ms, step_carries_the_last_value_on)


# model-timeseries
class NamespaceCutAtColon(MemTimeSeries):
    """Keys its data by the namespace up to its first colon: "ns" and "ns:kv" share series."""

    def __init__(self) -> None:
        super().__init__()
        spaces, retention = self._spaces, self._retention
        self._spaces, self._retention = CutKeys(), CutKeys()
        self._spaces.update(spaces)
        self._retention.update(retention)


class CutKeys(dict):
    def _cut(self, key):
        return key.split(":")[0]

    def get(self, key, default=None):
        return super().get(self._cut(key), default)

    def setdefault(self, key, default=None):
        return super().setdefault(self._cut(key), default)

    def pop(self, key, *default):
        return super().pop(self._cut(key), *default)


MUTANTS: dict[str, tuple[str, Callable[[], None]]] = {
    "timeseries-replaced-point-kept-twice": ("timeseries_basic", series_store(ReplacedPointKeptTwice)),
    "timeseries-range-end-inclusive": ("timeseries_basic", series_store(RangeEndInclusive)),
    "timeseries-matcher-compares-prefixes": ("timeseries_basic", series_store(MatcherComparesPrefixes)),
    "timeseries-not-equal-needs-the-label": ("timeseries_basic", series_store(NotEqualNeedsTheLabel)),
    "timeseries-buckets-aligned-to-the-first-point": ("timeseries_aggregation", series_store(BucketsAlignedToTheFirstPoint)),
    "timeseries-buckets-truncated-toward-zero": ("timeseries_aggregation", series_store(BucketsTruncatedTowardZero)),
    "timeseries-empty-buckets-reported": ("timeseries_aggregation", series_store(EmptyBucketsReported)),
    "timeseries-first-and-last-in-write-order": ("timeseries_aggregation", series_store(FirstAndLastInWriteOrder)),
    "timeseries-replaced-points-aggregated-again": ("timeseries_aggregation", series_store(ReplacedPointsAggregatedAgain)),
    "timeseries-rollup-ignores-matchers": ("timeseries_aggregation", series_store(RollupIgnoresMatchers)),
    "timeseries-retention-trims-the-newest": ("timeseries_retention", series_store(RetentionTrimsTheNewest)),
    "timeseries-retention-from-the-newest-point": ("timeseries_retention", series_store(RetentionFromTheNewestPoint)),
    "timeseries-retention-for-every-metric": ("timeseries_retention", series_store(RetentionForEveryMetric)),
    "timeseries-retention-in-seconds": ("timeseries_retention", series_store(RetentionInSeconds)),
    "timeseries-namespace-cut-at-colon": ("model-timeseries", series_store(NamespaceCutAtColon)),
    "timeseries-step-takes-the-next-point": ("timeseries_interpolation", series_store(StepTakesTheNextPoint)),
    "timeseries-linear-first-point-is-outside": ("timeseries_interpolation", series_store(LinearFirstPointIsOutside)),
    "timeseries-step-carries-the-last-value-on": ("timeseries_interpolation", series_store(StepCarriesTheLastValueOn)),
}
