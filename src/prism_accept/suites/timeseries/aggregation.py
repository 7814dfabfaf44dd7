"""timeseries_aggregation: Aggregate, Rollup. Buckets start at multiples of bucket_ms from the
epoch (floor, also before it), only non-empty buckets are answered, each function's value is
computed here from the points the case wrote."""

from __future__ import annotations

from fractions import Fraction
from typing import Callable

import grpc
import pytest

from prism.timeseries.v1 import timeseries_pb2 as pb
from prism.timeseries.v1 import timeseries_pb2_grpc as pb_grpc
from prism_accept.suites.base import InterfaceSuite, check, expect_status
from prism_accept.suites.requirements import requires
from prism_accept.suites.rows import AllRows
from prism_accept.suites.timeseries.basic import (
    ALL,
    LOOK_ALIKE_LABELS,
    LOOK_ALIKE_METRICS,
    MANY,
    MAX_TS,
    Answer,
    Labels,
    Points,
    SeriesOps,
    answer,
    batch_size,
    check_answer,
    eq,
    expected,
    in_range,
    many_points,
    matching,
)

# Sums and means exact (fractions), rounded once: a running float sum may overflow where the sum
# does not (float() of a sum beyond a double raises OverflowError).
FUNCTIONS: dict[str, Callable[[list[float]], float]] = {
    "avg": lambda values: float(sum(map(Fraction, values)) / len(values)),
    "sum": lambda values: float(sum(map(Fraction, values))),
    "min": min,
    "max": max,
    "count": lambda values: float(len(values)),
    "first": lambda values: values[0],
    "last": lambda values: values[-1],
}

# Irregular points across the epoch, written out of order: a gap (empty buckets 3000, 4000),
# negative timestamps (floor, not truncation), the first point not on a bucket boundary, and
# values whose first/last/min/max differ. Values are exact binary fractions, so sums are exact.
POINTS: Points = [
    (-2500, 3.0),
    (-1500, -1.5),
    (-1000, 4.0),
    (-1, 1.25),
    (0, 5.0),
    (1, 9.0),
    (999, 2.5),
    (1000, 6.0),
    (2999, -5.0),
    (5000, 3.5),
    (5001, 5.0),
    (5500, 8.0),
]
WRITE_ORDER = [7, 2, 11, 0, 5, 9, 3, 10, 1, 8, 4, 6]


def buckets(points: Points, bucket_ms: int, function: str) -> Points:
    """The reference: group by floor(t / bucket_ms) * bucket_ms, in time order."""
    grouped: dict[int, list[float]] = {}
    for t, v in sorted(points):
        grouped.setdefault((t // bucket_ms) * bucket_ms, []).append(v)
    return [(start, FUNCTIONS[function](values)) for start, values in sorted(grouped.items())]


class AggregationOps(SeriesOps):
    def __init__(self, channel: grpc.Channel, ns: str):
        super().__init__(channel, ns)
        self.aggregation = pb_grpc.TimeSeriesAggregationStub(channel)

    def aggregate(
        self, metric: str, bucket_ms: int, function: str, *matchers: pb.LabelMatcher, start: int = ALL[0], end: int = ALL[1]
    ) -> Answer:
        request = pb.AggregateRequest(
            namespace=self.ns,
            metric=metric,
            matchers=matchers,
            start_ms=start,
            end_ms=end,
            bucket_ms=bucket_ms,
            function=pb.AggregateFunction.Value(function.upper()),
        )
        return answer(self.aggregation.Aggregate(request))

    def rollup(self, metric: str, bucket_ms: int, function: str, target: str, *matchers: pb.LabelMatcher, start=ALL[0], end=ALL[1]) -> int:
        request = pb.RollupRequest(
            namespace=self.ns,
            metric=metric,
            matchers=matchers,
            start_ms=start,
            end_ms=end,
            bucket_ms=bucket_ms,
            function=pb.AggregateFunction.Value(function.upper()),
            target_metric=target,
        )
        return self.aggregation.Rollup(request).inserted


@requires.interface("timeseries_basic")  # points are written with Insert (and rollups read with Query)
class TimeSeriesAggregationTests(InterfaceSuite):
    interface = "timeseries_aggregation"

    @pytest.fixture
    def ts(self, plugin, namespace):
        return AggregationOps(plugin.channel, namespace)

    def write(self, ts: AggregationOps, metric: str = "cpu", labels: Labels | None = None, points: Points = POINTS) -> None:
        order = WRITE_ORDER if points is POINTS else range(len(points))
        for half in (order[: len(order) // 2], order[len(order) // 2 :]):
            if half:
                ts.insert(metric, labels or {}, [points[i] for i in half])

    @pytest.mark.parametrize("function", list(FUNCTIONS))
    def test_each_function_in_epoch_aligned_buckets(self, ts, function):
        self.write(ts)
        for bucket_ms in (1000, 700):
            want = expected("cpu", [({}, buckets(POINTS, bucket_ms, function))])
            check_answer(f"Aggregate({function}, bucket_ms={bucket_ms}) of every point", ts.aggregate("cpu", bucket_ms, function), want)

    def test_buckets_align_to_the_epoch_not_the_range_or_first_point(self, ts):
        points = [(250, 1.0), (260, 2.0), (349, 4.0), (350, 8.0), (1234, 16.0)]
        self.write(ts, points=points)
        want = expected("cpu", [({}, [(200, 3.0), (300, 12.0), (1200, 16.0)])])
        check_answer("Aggregate(sum, bucket_ms=100) of [250, 2000)", ts.aggregate("cpu", 100, "sum", start=250, end=2000), want)
        want = expected("cpu", [({}, buckets(points, 7, "count"))])
        check_answer("Aggregate(count, bucket_ms=7) of [3, 2000)", ts.aggregate("cpu", 7, "count", start=3, end=2000), want)

    def test_empty_buckets_are_absent(self, ts):
        self.write(ts, points=[(0, 1.0), (10_000, 2.0), (10_999, 3.0)])
        want = expected("cpu", [({}, [(0, 1.0), (10_000, 5.0)])])
        check_answer("Aggregate(sum, bucket_ms=1000) of points 10 s apart", ts.aggregate("cpu", 1000, "sum"), want)
        check_answer("Aggregate of a range with no points", ts.aggregate("cpu", 1000, "count", start=1000, end=10_000), [])

    def test_the_range_cuts_buckets(self, ts):
        self.write(ts)
        for start, end in [(-1500, 1000), (-1499, 5001), (0, 5500), (1, 999)]:
            want = expected("cpu", [({}, buckets(in_range(POINTS, start, end), 1000, "count"))])
            check_answer(
                f"Aggregate(count, bucket_ms=1000) of [{start}, {end})", ts.aggregate("cpu", 1000, "count", start=start, end=end), want
            )

    def test_a_replaced_point_counts_once(self, ts):
        self.write(ts)
        replaced = {-1000: 40.0, 999: -7.5, 5500: 0.25}
        ts.insert("cpu", {}, sorted(replaced.items()))
        points = [(t, replaced.get(t, v)) for t, v in POINTS]
        for function in ("count", "sum", "avg", "min", "last"):
            want = expected("cpu", [({}, buckets(points, 1000, function))])
            check_answer(f"Aggregate({function}) after replacing 3 points", ts.aggregate("cpu", 1000, function), want)

    def test_a_sum_beyond_the_range_of_a_double_is_out_of_range(self, ts):
        ts.insert("cpu", {}, [(0, 1.5e308), (1, 1.5e308), (2000, 1.0)])
        check_answer(
            "Aggregate(max) of two 1.5e308 values", ts.aggregate("cpu", 1000, "max"), expected("cpu", [({}, [(0, 1.5e308), (2000, 1.0)])])
        )
        expect_status("Aggregate(sum) of two 1.5e308 values", grpc.StatusCode.OUT_OF_RANGE, lambda: ts.aggregate("cpu", 1000, "sum"))

    def test_sums_and_averages_beyond_a_running_float_sum_are_answered(self, ts):
        """1.5e308 + 1.5e308 - 1.5e308 and the mean of 1.5e308 and 1.7e308 are doubles although a
        running float sum of them is not: answered (OUT_OF_RANGE is for a value beyond a double)."""
        big = 1.5e308
        points = [(0, big), (1, big), (2, -big), (1000, big), (1001, 1.7e308), (2000, -big), (2001, -1.7e308)]
        ts.insert("cpu", {}, points)
        for function in ("avg", "min", "max", "count", "first", "last"):
            want = expected("cpu", [({}, buckets(points, 1000, function))])
            check_answer(f"Aggregate({function}) of values near the largest double", ts.aggregate("cpu", 1000, function), want)
        want = expected("cpu", [({}, [(0, big)])])
        check_answer("Aggregate(sum) of 1.5e308 + 1.5e308 - 1.5e308", ts.aggregate("cpu", 1000, "sum", end=1000), want)
        check("Rollup(avg) to cpu_avg", ts.rollup("cpu", 1000, "avg", "cpu_avg"), 3)
        check_answer("Query cpu_avg", ts.query("cpu_avg"), expected("cpu_avg", [({}, buckets(points, 1000, "avg"))]))
        expect_status("Aggregate(sum) of 1.5e308 + 1.7e308", grpc.StatusCode.OUT_OF_RANGE, lambda: ts.aggregate("cpu", 1000, "sum"))

    def test_series_are_aggregated_separately(self, ts):
        other = [(t + 300, v * 2) for t, v in POINTS]
        self.write(ts, labels={"host": "a"})
        self.write(ts, labels={"host": "b"}, points=other)
        self.write(ts, metric="memory", labels={"host": "a"}, points=[(0, 100.0)])
        for function in ("sum", "max", "first"):
            want = expected("cpu", [({"host": "a"}, buckets(POINTS, 1000, function)), ({"host": "b"}, buckets(other, 1000, function))])
            check_answer(f"Aggregate({function}) of two series", ts.aggregate("cpu", 1000, function), want)
        want = expected("cpu", [({"host": "b"}, buckets(other, 2000, "avg"))])
        check_answer("Aggregate(avg) of cpu{host='b'}", ts.aggregate("cpu", 2000, "avg", eq("host", "b")), want)

    def test_bucket_of_one_ms_keeps_every_point(self, ts):
        self.write(ts)
        check_answer("Aggregate(sum, bucket_ms=1)", ts.aggregate("cpu", 1, "sum"), expected("cpu", [({}, POINTS)]))
        want = expected("cpu", [({}, [(-MAX_TS, 4.0), (0, 8.0)])])
        check_answer("Aggregate(count, bucket_ms=2^53): buckets [-2^53, 0) and [0, 2^53)", ts.aggregate("cpu", MAX_TS, "count"), want)

    def test_rollup_stores_the_aggregate(self, ts):
        other = [(t, v + 1) for t, v in POINTS[:5]]
        self.write(ts, labels={"host": "a"})
        self.write(ts, labels={"host": "b"}, points=other)
        a, b = buckets(POINTS, 1000, "max"), buckets(other, 1000, "max")
        check("Rollup(max, bucket_ms=1000) to cpu_1s", ts.rollup("cpu", 1000, "max", "cpu_1s"), len(a) + len(b))
        check_answer("Query cpu_1s", ts.query("cpu_1s"), expected("cpu_1s", [({"host": "a"}, a), ({"host": "b"}, b)]))
        check_answer(
            "Query cpu after Rollup (unchanged)", ts.query("cpu"), expected("cpu", [({"host": "a"}, POINTS), ({"host": "b"}, other)])
        )
        # A second rollup over more data replaces the points at the same timestamps.
        more = [(1500, 50.0), (7000, 1.0)]
        ts.insert("cpu", {"host": "a"}, more)
        a = buckets(POINTS + more, 1000, "max")
        check("Rollup(max) of cpu{host='a'} again", ts.rollup("cpu", 1000, "max", "cpu_1s", eq("host", "a")), len(a))
        check_answer(
            "Query cpu_1s after the second Rollup", ts.query("cpu_1s"), expected("cpu_1s", [({"host": "a"}, a), ({"host": "b"}, b)])
        )
        part = buckets(in_range(POINTS + more, 0, 3000), 500, "sum")
        check(
            "Rollup(sum, bucket_ms=500) of [0, 3000) to cpu_500",
            ts.rollup("cpu", 500, "sum", "cpu_500", eq("host", "a"), start=0, end=3000),
            len(part),
        )
        check_answer("Query cpu_500", ts.query("cpu_500"), expected("cpu_500", [({"host": "a"}, part)]))

    def test_bucket_edges_before_and_after_the_epoch(self, ts):
        """Points on, just before and just after bucket edges around the epoch, with a width that
        does not divide them: floor(t / bucket_ms), never truncation or rounding."""
        day = 86_400_000
        points = [(-day - 1, 1.0), (-day, 2.0), (-day + 1, 4.0), (-1, 8.0), (0, 16.0), (day - 1, 32.0), (day, 64.0), (-2 * day, 128.0)]
        self.write(ts, points=points)
        for bucket_ms in (day, 3, 7_000_001, 2 * day + 1):
            for function in ("sum", "first"):
                want = expected("cpu", [({}, buckets(points, bucket_ms, function))])
                got = ts.aggregate("cpu", bucket_ms, function)
                check_answer(f"Aggregate({function}, bucket_ms={bucket_ms}) at the day edges", got, want)

    def test_more_than_a_thousand_buckets_are_answered(self, ts, capabilities):
        """5,200 points in 2,600 buckets of 6 ms: Aggregate answers every bucket, and Rollup writes
        every one (a cap of 1,000 buckets or rows, or one page, shows)."""
        points = many_points()
        check(f"Insert of {MANY} points", ts.insert_many("cpu", {"host": "a"}, points, batch_size(capabilities)), MANY)
        want = expected("cpu", [({"host": "a"}, buckets(points, 6, "last"))])
        check_answer(f"Aggregate(last, bucket_ms=6) of {MANY} points", ts.aggregate("cpu", 6, "last"), want)
        rolled = buckets(points, 6, "sum")
        check("Rollup(sum, bucket_ms=6) to cpu_6ms", ts.rollup("cpu", 6, "sum", "cpu_6ms"), len(rolled))
        check_answer("Query cpu_6ms", ts.query("cpu_6ms"), expected("cpu_6ms", [({"host": "a"}, rolled)]))

    def test_look_alike_series_are_aggregated_and_rolled_up_apart(self, ts):
        """Label sets holding `,` `=` NUL `{` `"`, and metric names with `_` `%` `*`: Aggregate and
        Rollup read only the metric and series named, and the rolled-up series keep their exact labels."""
        data = [(labels, [(i * 10, float(i)), (i * 10 + 1, 0.5), (5000 + i, -float(i))]) for i, labels in enumerate(LOOK_ALIKE_LABELS)]
        for labels, points in data:
            ts.insert("cpu_1", labels, points)
        for i, metric in enumerate(LOOK_ALIKE_METRICS):
            if metric != "cpu_1":
                ts.insert(metric, {"a": "1"}, [(0, 100.0 + i)])
        want = expected("cpu_1", [(labels, buckets(points, 1000, "sum")) for labels, points in data])
        check_answer("Aggregate(sum) of cpu_1", ts.aggregate("cpu_1", 1000, "sum"), want)
        for labels in LOOK_ALIKE_LABELS[:3]:
            matchers = tuple(eq(n, v) for n, v in labels.items())
            want = expected("cpu_1", [(lb, buckets(points, 1000, "max")) for lb, points in data if matching(lb, matchers)])
            check_answer(f"Aggregate(max) of cpu_1{labels}", ts.aggregate("cpu_1", 1000, "max", *matchers), want)
        written = sum(len(buckets(p, 1000, "count")) for _, p in data)
        check("Rollup(count) of cpu_1 to cpu%1s", ts.rollup("cpu_1", 1000, "count", "cpu%1s"), written)
        want = expected("cpu%1s", [(labels, buckets(points, 1000, "count")) for labels, points in data])
        check_answer("Query cpu%1s (the rollup of cpu_1, labels as written)", ts.query("cpu%1s"), want)
        check("Rollup(first) of a* to a_first", ts.rollup("a*", 1000, "first", "a_first"), 1)
        i = LOOK_ALIKE_METRICS.index("a*")
        check_answer("Query a_first (the rollup of a* alone)", ts.query("a_first"), expected("a_first", [({"a": "1"}, [(0, 100.0 + i)])]))
        for i, metric in enumerate(LOOK_ALIKE_METRICS):
            if metric != "cpu_1":
                want = expected(metric, [({"a": "1"}, [(0, 100.0 + i)])])
                check_answer(f"Aggregate(sum) of {metric!r}", ts.aggregate(metric, 1000, "sum"), want)

    def test_aggregate_and_rollup_see_every_write(self, ts):
        """Aggregate, write, Aggregate again (a new point in a bucket, a replaced point, a new
        series), and the same over a Rollup's target after a second Rollup: a cached answer shows."""
        points = {0: 1.0, 500: 2.0, 1500: 4.0}
        series = {"host": "a"}
        ts.insert("cpu", series, sorted(points.items()))
        for write in ({700: 8.0}, {500: -2.0}, {2500: 16.0}):
            for function in ("sum", "count"):
                want = expected("cpu", [(series, buckets(sorted(points.items()), 1000, function))])
                check_answer(f"Aggregate({function}) of cpu", ts.aggregate("cpu", 1000, function), want)
            ts.insert("cpu", series, sorted(write.items()))
            points.update(write)
        ts.insert("cpu", {"host": "b"}, [(100, 32.0)])
        all_series = [(series, sorted(points.items())), ({"host": "b"}, [(100, 32.0)])]
        want = expected("cpu", [(lb, buckets(p, 1000, "sum")) for lb, p in all_series])
        check_answer("Aggregate(sum) after a new series", ts.aggregate("cpu", 1000, "sum"), want)
        with AllRows() as rows:
            for write in ({900: 64.0}, {2500: 1.0}):
                rolled = [(lb, buckets(p, 1000, "sum")) for lb, p in all_series]
                rows.check("Rollup(sum) to cpu_1s", ts.rollup("cpu", 1000, "sum", "cpu_1s"), sum(len(b) for _, b in rolled))
                check_answer("Aggregate(max, bucket_ms=1) of cpu_1s", ts.aggregate("cpu_1s", 1, "max"), expected("cpu_1s", rolled))
                check_answer("Query cpu_1s", ts.query("cpu_1s"), expected("cpu_1s", rolled))
                ts.insert("cpu", series, sorted(write.items()))
                points.update(write)
                all_series[0] = (series, sorted(points.items()))

    def test_rollup_and_aggregate_are_per_namespace(self, ts, related):
        """The same metric and labels in `ns`, `ns:ts` and `ns-other`: Rollup reads and writes only
        its own namespace's series, and Aggregate answers only its own namespace's points."""
        spaces = {"": ts, **{suffix: AggregationOps(ts.channel, related(suffix)) for suffix in (":ts", "-other")}}
        data = {suffix: [(0, 1.0 + k), (10, 2.0 * k), (1500, 3.0)] for k, suffix in enumerate(spaces)}
        for suffix, ops in spaces.items():
            ops.insert("cpu", {"host": "a"}, data[suffix])
        with AllRows() as rows:
            for suffix, ops in spaces.items():
                want = buckets(data[suffix], 1000, "sum")
                rows.check(f"Rollup(sum) in namespace + {suffix!r}", ops.rollup("cpu", 1000, "sum", "cpu_1s"), len(want))
                check_answer(f"Query cpu_1s in namespace + {suffix!r}", ops.query("cpu_1s"), expected("cpu_1s", [({"host": "a"}, want)]))
        for suffix, ops in spaces.items():
            for function in ("sum", "first"):
                want = expected("cpu", [({"host": "a"}, buckets(data[suffix], 1000, function))])
                check_answer(f"Aggregate({function}) in namespace + {suffix!r}", ops.aggregate("cpu", 1000, function), want)
            want = expected("cpu_1s", [({"host": "a"}, buckets(data[suffix], 1000, "sum"))])
            check_answer(f"Query cpu_1s in namespace + {suffix!r} after every Rollup", ops.query("cpu_1s"), want)

    def test_invalid_arguments(self, ts):
        self.write(ts)
        invalid = grpc.StatusCode.INVALID_ARGUMENT
        for bucket_ms in (0, -1000, MAX_TS + 1):
            expect_status(f"Aggregate with bucket_ms={bucket_ms}", invalid, lambda: ts.aggregate("cpu", bucket_ms, "sum"))
        request = pb.AggregateRequest(namespace=ts.ns, metric="cpu", start_ms=ALL[0], end_ms=ALL[1], bucket_ms=1000)
        expect_status("Aggregate with function unspecified", invalid, lambda: ts.aggregation.Aggregate(request))
        expect_status("Aggregate with end_ms < start_ms", invalid, lambda: ts.aggregate("cpu", 1000, "sum", start=1, end=0))
        expect_status("Rollup to the metric rolled up", invalid, lambda: ts.rollup("cpu", 1000, "sum", "cpu"))
        expect_status("Rollup with bucket_ms=0", invalid, lambda: ts.rollup("cpu", 0, "sum", "cpu_1s"))
        check_answer("Query cpu_1s after rejected Rollups", ts.query("cpu_1s"), [])
