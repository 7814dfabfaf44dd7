"""Plausible time-series bugs, each a small change to MemStore's MemTimeSeries: every
timeseries suite must fail against at least one (tests/mutants/test_suites_catch_broken_plugins.py)."""

from __future__ import annotations

import bisect
import math
import re
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


class QueryAnswersOnePage(MemTimeSeries):
    """Answers the first page of 1,000 points of each series as the whole."""

    async def query(self, ns, selection, start_ms, end_ms):
        return [SeriesPoints(s.metric, s.labels, s.points[:1000]) for s in await super().query(ns, selection, start_ms, end_ms)]


def joined(labels):
    return ",".join(f"{name}={value}" for name, value in sorted(labels.items()))


def split(text):
    return dict(pair.partition("=")[::2] for pair in text.split(",")) if text else {}


class LabelsKeyedByJoinedText(MemTimeSeries):
    """Keys a series by its labels joined as `a=1,b=2` and answers the labels parsed back:
    {a: "1,b=2"} and {a: "1", b: "2"} are one series."""

    async def insert(self, ns, metric, labels, points):
        await super().insert(ns, metric, split(joined(labels)), points)


def like(pattern):
    """A SQL LIKE pattern as a regular expression: `%` any text, `_` any character."""
    return re.compile("".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern), re.DOTALL)


def like_selection(store, ns, selection):
    """The selected series of every metric the metric name matches as a LIKE pattern."""
    regex = like(selection.metric)
    for metric in list(store._spaces.get(ns, {})):
        if regex.fullmatch(metric):
            yield from MemTimeSeries._selected(store, ns, type(selection)(metric, selection.matchers))


class QueryMetricAsLikePattern(MemTimeSeries):
    """Selects by `metric LIKE name`: a Query of cpu_1 also answers cpu%1's and cpuX1's series."""

    def _selected(self, ns, selection):
        return like_selection(self, ns, selection)


class CachedAnswers(MemTimeSeries):
    """Caches answers per request, cleared only when a write creates a series (a point added to
    or replaced in an existing series leaves the cached answers stale)."""

    def __init__(self) -> None:
        super().__init__()
        self._cache: dict = {}

    async def insert(self, ns, metric, labels, points):
        if frozenset(labels.items()) not in self._spaces.get(ns, {}).get(metric, {}):
            self._cache.clear()
        await super().insert(ns, metric, labels, points)


class QueryAnswersCached(CachedAnswers):
    async def query(self, ns, selection, start_ms, end_ms):
        key = ("query", ns, selection, start_ms, end_ms)
        if key not in self._cache:
            self._cache[key] = await super().query(ns, selection, start_ms, end_ms)
        return self._cache[key]


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


class AverageOfARunningFloatSum(MemTimeSeries):
    """Averages as a running float sum over the count: the mean of 1.5e308 and 1.7e308 overflows."""

    async def aggregate(self, ns, selection, start_ms, end_ms, bucket_ms, function):
        if function != "avg":
            return await super().aggregate(ns, selection, start_ms, end_ms, bucket_ms, function)
        answers = []
        for s in await self.query(ns, selection, start_ms, end_ms):
            grouped: dict[int, list[float]] = {}
            for t, v in s.points:
                grouped.setdefault(t - t % bucket_ms, []).append(v)
            answers.append(SeriesPoints(s.metric, s.labels, [(start, sum(vs) / len(vs)) for start, vs in sorted(grouped.items())]))
        return answers


class AggregateAnswersAThousandBuckets(MemTimeSeries):
    """Answers at most 1,000 buckets per series (and Rollup writes those)."""

    async def aggregate(self, ns, selection, start_ms, end_ms, bucket_ms, function):
        answers = await super().aggregate(ns, selection, start_ms, end_ms, bucket_ms, function)
        return [SeriesPoints(s.metric, s.labels, s.points[:1000]) for s in answers]


class RollupLabelsParsedFromAKey(MemTimeSeries):
    """Rollup writes each target series under its source's labels joined as `a=1,b=2` and parsed back."""

    async def rollup(self, ns, selection, start_ms, end_ms, bucket_ms, function, target_metric):
        written = 0
        for s in await self.aggregate(ns, selection, start_ms, end_ms, bucket_ms, function):
            await self.insert(ns, target_metric, split(joined(s.labels)), s.points)
            written += len(s.points)
        return written


class AggregateAnswersCached(CachedAnswers):
    async def aggregate(self, ns, selection, start_ms, end_ms, bucket_ms, function):
        key = ("aggregate", ns, selection, start_ms, end_ms, bucket_ms, function)
        if key not in self._cache:
            self._cache[key] = await super().aggregate(ns, selection, start_ms, end_ms, bucket_ms, function)
        return self._cache[key]


class RollupReadsEveryNamespace(MemTimeSeries):
    """Rollup reads the metric's series in every namespace (the last namespace's point wins at a
    timestamp), and writes them into the namespace asked."""

    async def rollup(self, ns, selection, start_ms, end_ms, bucket_ms, function, target_metric):
        merged: dict[frozenset, dict[int, float]] = {}
        for space in self._spaces.values():
            for key, series in space.get(selection.metric, {}).items():
                if selection.matches(dict(key)):
                    merged.setdefault(key, {}).update((t, v) for t, v in series.items() if start_ms <= t < end_ms)
        written = 0
        for key, series in merged.items():
            points = timeseries.buckets(sorted(series.items()), bucket_ms, function)
            await self.insert(ns, target_metric, dict(key), points)
            written += len(points)
        return written


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


class CompactRemovesOnePage(MemTimeSeries):
    """Removes at most 1,000 points per Compact (one page of a delete) and reports those."""

    async def compact(self, ns, metric):
        retention = self._retention.get(ns, {}).get(metric)
        if retention is None:
            return 0
        oldest_kept, removed = now_ms() - retention, 0
        for series in self._spaces.get(ns, {}).get(metric, {}).values():
            for t in [t for t in series if t < oldest_kept][: 1000 - removed]:
                del series[t]
                removed += 1
        return removed


class CompactMetricAsLikePattern(MemTimeSeries):
    """Compact deletes from every metric matching the name as a LIKE pattern (`_` any character)."""

    async def compact(self, ns, metric):
        retention = self._retention.get(ns, {}).get(metric)
        if retention is None:
            return 0
        oldest_kept, removed, regex = now_ms() - retention, 0, like(metric)
        for name, space in self._spaces.get(ns, {}).items():
            if regex.fullmatch(name):
                for series in space.values():
                    for t in [t for t in series if t < oldest_kept]:
                        del series[t]
                        removed += name == metric
        return removed


class CompactLeavesQueriesCached(MemTimeSeries):
    """Caches Query answers, cleared by Insert but not by Compact."""

    def __init__(self) -> None:
        super().__init__()
        self._cache: dict = {}

    async def insert(self, ns, metric, labels, points):
        self._cache.clear()
        await super().insert(ns, metric, labels, points)

    async def query(self, ns, selection, start_ms, end_ms):
        key = (ns, selection, start_ms, end_ms)
        if key not in self._cache:
            self._cache[key] = await super().query(ns, selection, start_ms, end_ms)
        return self._cache[key]


class CompactLeavesAggregatesCached(CompactLeavesQueriesCached):
    """Caches Aggregate answers (not Query's), cleared by Insert but not by Compact."""

    async def aggregate(self, ns, selection, start_ms, end_ms, bucket_ms, function):
        key = ("aggregate", ns, selection, start_ms, end_ms, bucket_ms, function)
        if key not in self._cache:
            self._cache[key] = await super().aggregate(ns, selection, start_ms, end_ms, bucket_ms, function)
        return self._cache[key]

    async def query(self, ns, selection, start_ms, end_ms):
        return await MemTimeSeries.query(self, ns, selection, start_ms, end_ms)


class CompactLeavesInterpolationsCached(CompactLeavesQueriesCached):
    """Caches interpolations (not Query's), cleared by Insert but not by Compact."""

    def _interpolate(self, ns, selection, timestamps_ms, at):
        key = ("interpolate", ns, selection, tuple(timestamps_ms), at)
        if key not in self._cache:
            self._cache[key] = super()._interpolate(ns, selection, timestamps_ms, at)
        return self._cache[key]

    async def query(self, ns, selection, start_ms, end_ms):
        return await MemTimeSeries.query(self, ns, selection, start_ms, end_ms)


class RetentionKeyedByTheNamespaceBeforeAColon(MemTimeSeries):
    """Stores a retention under the namespace up to its first colon: "ns:ts"'s retention is "ns"'s."""

    async def set_retention(self, ns, metric, retention_ms):
        await super().set_retention(ns.split(":")[0], metric, retention_ms)

    async def compact(self, ns, metric):
        retention = self._retention.get(ns.split(":")[0], {}).get(metric)
        if retention is not None:
            self._retention.setdefault(ns, {})[metric] = retention
        return await super().compact(ns, metric)


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


def linear_multiplies_before_dividing(points, t):
    """The proto's formula in float order: (v1 - v0) * (t - t0) overflows between far-apart values."""
    i = bisect.bisect_left(points, (t, -math.inf))
    if i < len(points) and points[i][0] == t:
        return points[i][1]
    if i == 0 or i == len(points):
        return None
    (t0, v0), (t1, v1) = points[i - 1], points[i]
    return v0 + (v1 - v0) * (t - t0) / (t1 - t0)


class LinearMultipliesBeforeDividing(MemTimeSeries):
    async def interpolate_linear(self, ns, selection, timestamps_ms):
        return self._interpolate(ns, selection, timestamps_ms, linear_multiplies_before_dividing)


class StepTakesTheNextPoint(MemTimeSeries):
    async def interpolate_step(self, ns, selection, timestamps_ms):
        return self._interpolate(ns, selection, timestamps_ms, step_takes_the_next_point)


class LinearFirstPointIsOutside(MemTimeSeries):
    async def interpolate_linear(self, ns, selection, timestamps_ms):
        return self._interpolate(ns, selection, timestamps_ms, linear_first_point_outside)


class StepCarriesTheLastValueOn(MemTimeSeries):
    async def interpolate_step(self, ns, selection, timestamps_ms):
        return self._interpolate(ns, selection, timestamps_ms, step_carries_the_last_value_on)


class InterpolationAnswersAThousandPoints(MemTimeSeries):
    """Answers at most 1,000 interpolated points in all (a row limit), series by series."""

    def _interpolate(self, ns, selection, timestamps_ms, at):
        answers, left = [], 1000
        for s in super()._interpolate(ns, selection, timestamps_ms, at):
            answers.append(SeriesPoints(s.metric, s.labels, s.points[:left]))
            left = max(0, left - len(s.points))
        return answers


class InterpolationAnswersCached(CachedAnswers):
    def _interpolate(self, ns, selection, timestamps_ms, at):
        key = ("interpolate", ns, selection, tuple(timestamps_ms), at)
        if key not in self._cache:
            self._cache[key] = super()._interpolate(ns, selection, timestamps_ms, at)
        return self._cache[key]


class InterpolationMetricAsLikePattern(MemTimeSeries):
    """Interpolates every metric matching the name as a LIKE pattern (`_` any character)."""

    def _interpolate(self, ns, selection, timestamps_ms, at):
        answers = []
        for labels, points in like_selection(self, ns, selection):
            values = ((t, at(points, t)) for t in timestamps_ms)
            answers.append(SeriesPoints(selection.metric, labels, [(t, v) for t, v in values if v is not None]))
        return answers


class InterpolationReadsTheNamespaceBeforeAColon(MemTimeSeries):
    """Interpolates the series of the namespace up to its first colon: "ns:ts" reads "ns"."""

    def _interpolate(self, ns, selection, timestamps_ms, at):
        return super()._interpolate(ns.split(":")[0], selection, timestamps_ms, at)


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
    "timeseries-query-answers-one-page": ("timeseries_basic", series_store(QueryAnswersOnePage)),
    "timeseries-labels-keyed-by-joined-text": ("timeseries_basic", series_store(LabelsKeyedByJoinedText)),
    "timeseries-query-metric-as-like-pattern": ("timeseries_basic", series_store(QueryMetricAsLikePattern)),
    "timeseries-query-answers-cached": ("timeseries_basic", series_store(QueryAnswersCached)),
    "timeseries-namespace-cut-at-colon-in-queries": ("timeseries_basic", series_store(NamespaceCutAtColon)),
    "timeseries-buckets-aligned-to-the-first-point": ("timeseries_aggregation", series_store(BucketsAlignedToTheFirstPoint)),
    "timeseries-buckets-truncated-toward-zero": ("timeseries_aggregation", series_store(BucketsTruncatedTowardZero)),
    "timeseries-empty-buckets-reported": ("timeseries_aggregation", series_store(EmptyBucketsReported)),
    "timeseries-first-and-last-in-write-order": ("timeseries_aggregation", series_store(FirstAndLastInWriteOrder)),
    "timeseries-replaced-points-aggregated-again": ("timeseries_aggregation", series_store(ReplacedPointsAggregatedAgain)),
    "timeseries-rollup-ignores-matchers": ("timeseries_aggregation", series_store(RollupIgnoresMatchers)),
    "timeseries-average-of-a-running-float-sum": ("timeseries_aggregation", series_store(AverageOfARunningFloatSum)),
    "timeseries-aggregate-answers-a-thousand-buckets": ("timeseries_aggregation", series_store(AggregateAnswersAThousandBuckets)),
    "timeseries-rollup-labels-parsed-from-a-key": ("timeseries_aggregation", series_store(RollupLabelsParsedFromAKey)),
    "timeseries-aggregate-answers-cached": ("timeseries_aggregation", series_store(AggregateAnswersCached)),
    "timeseries-rollup-reads-every-namespace": ("timeseries_aggregation", series_store(RollupReadsEveryNamespace)),
    "timeseries-retention-trims-the-newest": ("timeseries_retention", series_store(RetentionTrimsTheNewest)),
    "timeseries-retention-from-the-newest-point": ("timeseries_retention", series_store(RetentionFromTheNewestPoint)),
    "timeseries-retention-for-every-metric": ("timeseries_retention", series_store(RetentionForEveryMetric)),
    "timeseries-retention-in-seconds": ("timeseries_retention", series_store(RetentionInSeconds)),
    "timeseries-compact-removes-one-page": ("timeseries_retention", series_store(CompactRemovesOnePage)),
    "timeseries-compact-metric-as-like-pattern": ("timeseries_retention", series_store(CompactMetricAsLikePattern)),
    "timeseries-compact-leaves-queries-cached": ("timeseries_retention", series_store(CompactLeavesQueriesCached)),
    "timeseries-compact-leaves-aggregates-cached": ("timeseries_retention", series_store(CompactLeavesAggregatesCached)),
    "timeseries-compact-leaves-interpolations-cached": ("timeseries_retention", series_store(CompactLeavesInterpolationsCached)),
    "timeseries-retention-keyed-by-the-namespace-before-a-colon": (
        "timeseries_retention",
        series_store(RetentionKeyedByTheNamespaceBeforeAColon),
    ),
    "timeseries-namespace-cut-at-colon": ("model-timeseries", series_store(NamespaceCutAtColon)),
    "timeseries-step-takes-the-next-point": ("timeseries_interpolation", series_store(StepTakesTheNextPoint)),
    "timeseries-linear-first-point-is-outside": ("timeseries_interpolation", series_store(LinearFirstPointIsOutside)),
    "timeseries-step-carries-the-last-value-on": ("timeseries_interpolation", series_store(StepCarriesTheLastValueOn)),
    "timeseries-linear-multiplies-before-dividing": ("timeseries_interpolation", series_store(LinearMultipliesBeforeDividing)),
    "timeseries-interpolation-answers-a-thousand-points": ("timeseries_interpolation", series_store(InterpolationAnswersAThousandPoints)),
    "timeseries-interpolation-answers-cached": ("timeseries_interpolation", series_store(InterpolationAnswersCached)),
    "timeseries-interpolation-metric-as-like-pattern": ("timeseries_interpolation", series_store(InterpolationMetricAsLikePattern)),
    "timeseries-interpolation-reads-the-namespace-before-a-colon": (
        "timeseries_interpolation",
        series_store(InterpolationReadsTheNamespaceBeforeAColon),
    ),
}
