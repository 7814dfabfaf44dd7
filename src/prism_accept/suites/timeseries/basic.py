"""timeseries_basic: Insert, Query. Series are a metric and its labels; points come back
ascending, a second write at a timestamp replaces the first, ranges are [start_ms, end_ms), label
matchers compare whole values (a missing label is "")."""

from __future__ import annotations

import math
import random

import grpc
import pytest

from prism.timeseries.v1 import timeseries_pb2 as pb
from prism.timeseries.v1 import timeseries_pb2_grpc as pb_grpc
from prism_accept.suites.base import InterfaceSuite, check, describe, expect_status

MAX_TS = 2**53  # point timestamps are within [-2^53, 2^53]
ALL = (-(2**63), 2**63 - 1)  # a range holding every valid point

Labels = dict[str, str]
Points = list[tuple[int, float]]
# An answer as the suites compare it: (metric, sorted label items, points in the order sent),
# sorted by series, so a series sent twice, an empty series or a wrong order all show.
Answer = list[tuple[str, tuple[tuple[str, str], ...], Points]]


def eq(label: str, value: str) -> pb.LabelMatcher:
    return pb.LabelMatcher(label=label, op=pb.LabelMatcher.EQUAL, value=value)


def ne(label: str, value: str) -> pb.LabelMatcher:
    return pb.LabelMatcher(label=label, op=pb.LabelMatcher.NOT_EQUAL, value=value)


def answer(response: pb.QueryResponse) -> Answer:
    return sorted((s.metric, tuple(sorted(s.labels.items())), [(p.timestamp_ms, p.value) for p in s.points]) for s in response.series)


def expected(metric: str, series: list[tuple[Labels, Points]]) -> Answer:
    """The answer holding these series (those with no points left out)."""
    return sorted((metric, tuple(sorted(labels.items())), points) for labels, points in series if points)


def close(a: float, b: float) -> bool:
    return a == b or math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


def check_answer(operation: str, got: Answer, want: Answer) -> None:
    """As check, with values compared to a relative 1e-9 (timestamps and series exactly)."""
    shape = [(m, labels, [t for t, _ in points]) for m, labels, points in got]
    if shape != [(m, labels, [t for t, _ in points]) for m, labels, points in want] or not all(
        close(g, w) for (_, _, gp), (_, _, wp) in zip(got, want) for (_, g), (_, w) in zip(gp, wp)
    ):
        raise AssertionError(f"{operation}: got {describe(got, 600)}, want {describe(want, 600)}")


def in_range(points: Points, start: int, end: int) -> Points:
    return sorted((t, v) for t, v in points if start <= t < end)


class SeriesOps:
    """The timeseries_basic calls, for readable cases (the other suites use it to set up state)."""

    def __init__(self, channel: grpc.Channel, ns: str):
        self.channel = channel
        self.ns = ns
        self.basic = pb_grpc.TimeSeriesBasicStub(channel)

    def insert(self, metric: str, labels: Labels, points: Points) -> int:
        request = pb.InsertRequest(
            namespace=self.ns, metric=metric, labels=labels, points=[pb.Point(timestamp_ms=t, value=v) for t, v in points]
        )
        return self.basic.Insert(request).inserted

    def query(self, metric: str, *matchers: pb.LabelMatcher, start: int = ALL[0], end: int = ALL[1]) -> Answer:
        return answer(self.basic.Query(pb.QueryRequest(namespace=self.ns, metric=metric, matchers=matchers, start_ms=start, end_ms=end)))


# Series of one metric with labels chosen so that prefix, substring, case or missing-label
# matching picks a wrong one.
LABELLED: list[Labels] = [
    {"host": "a", "env": "prod"},
    {"host": "b", "env": "prod"},
    {"host": "a", "env": "dev"},
    {"host": "ab", "env": "prod"},
    {"host": "A"},
    {"env": "production"},
    {},
]


class TimeSeriesBasicTests(InterfaceSuite):
    interface = "timeseries_basic"

    @pytest.fixture
    def ts(self, plugin, namespace):
        return SeriesOps(plugin.channel, namespace)

    def test_points_come_back_ordered_by_time(self, ts):
        points = [(t * 7 - 300, t / 4) for t in range(100)]
        shuffled = random.Random(7).sample(points, len(points))
        check("Insert of 60 shuffled points", ts.insert("cpu", {"host": "a"}, shuffled[:60]), 60)
        check("Insert of 40 more", ts.insert("cpu", {"host": "a"}, shuffled[60:]), 40)
        check_answer("Query of every point", ts.query("cpu"), expected("cpu", [({"host": "a"}, sorted(points))]))

    def test_a_second_write_at_a_timestamp_replaces_the_first(self, ts):
        ts.insert("cpu", {}, [(10, 1.0), (20, 2.0), (30, 3.0)])
        check("Insert of (20, 5.0) over (20, 2.0)", ts.insert("cpu", {}, [(20, 5.0)]), 1)
        check_answer("Query after replacing t=20", ts.query("cpu"), expected("cpu", [({}, [(10, 1.0), (20, 5.0), (30, 3.0)])]))
        check("Insert of (40, 1.0), (40, 4.0), (10, 0.5) in one request", ts.insert("cpu", {}, [(40, 1.0), (40, 4.0), (10, 0.5)]), 2)
        want = [(10, 0.5), (20, 5.0), (30, 3.0), (40, 4.0)]
        check_answer("Query after a request writing t=40 twice (the later wins)", ts.query("cpu"), expected("cpu", [({}, want)]))
        check_answer("Query of [20, 21) after replacements", ts.query("cpu", start=20, end=21), expected("cpu", [({}, [(20, 5.0)])]))

    def test_range_start_is_inclusive_and_end_exclusive(self, ts):
        points = [(t, float(t)) for t in range(0, 100, 10)]
        ts.insert("cpu", {}, points)
        for start, end in [(20, 50), (19, 51), (21, 50), (20, 41), (0, 1), (90, 91), (-5, 0), (100, 200), (30, 30)]:
            check_answer(
                f"Query of [{start}, {end})", ts.query("cpu", start=start, end=end), expected("cpu", [({}, in_range(points, start, end))])
            )

    def test_series_with_no_point_in_range_are_absent(self, ts):
        ts.insert("cpu", {"host": "a"}, [(100, 1.0), (200, 2.0)])
        ts.insert("cpu", {"host": "b"}, [(300, 3.0)])
        check_answer("Query of [0, 250)", ts.query("cpu", start=0, end=250), expected("cpu", [({"host": "a"}, [(100, 1.0), (200, 2.0)])]))
        check_answer("Query of [250, 1000)", ts.query("cpu", start=250, end=1000), expected("cpu", [({"host": "b"}, [(300, 3.0)])]))
        check_answer("Query of [400, 1000)", ts.query("cpu", start=400, end=1000), [])
        check_answer("Query of a missing metric", ts.query("memory"), [])

    def test_label_matchers_compare_whole_values(self, ts):
        for i, labels in enumerate(LABELLED):
            ts.insert("cpu", labels, [(i, float(i))])
        data = [(labels, [(i, float(i))]) for i, labels in enumerate(LABELLED)]

        def want(keep) -> Answer:
            return expected("cpu", [(labels, points) for labels, points in data if keep(labels)])

        cases = [
            ((), lambda lb: True),
            ((eq("host", "a"),), lambda lb: lb.get("host") == "a"),
            ((eq("env", "prod"),), lambda lb: lb.get("env") == "prod"),
            ((eq("host", "a"), eq("env", "prod")), lambda lb: lb.get("host") == "a" and lb.get("env") == "prod"),
            ((ne("env", "prod"),), lambda lb: lb.get("env", "") != "prod"),
            ((ne("host", "a"), eq("env", "prod")), lambda lb: lb.get("host", "") != "a" and lb.get("env") == "prod"),
            ((eq("env", ""),), lambda lb: "env" not in lb),
            ((ne("host", ""),), lambda lb: "host" in lb),
            ((eq("zone", "x"),), lambda lb: False),
            ((ne("zone", "x"),), lambda lb: True),
            ((eq("host", "a"), ne("host", "a")), lambda lb: False),
        ]
        for matchers, keep in cases:
            shown = ", ".join(f"{m.label}{'=' if m.op == pb.LabelMatcher.EQUAL else '!='}{m.value!r}" for m in matchers)
            check_answer(f"Query cpu{{{shown}}}", ts.query("cpu", *matchers), want(keep))

    def test_labels_and_metrics_identify_series(self, ts):
        ts.insert("cpu", {"a": "1"}, [(1, 1.0)])
        ts.insert("cpu", {"a": "1", "b": "2"}, [(1, 2.0)])
        ts.insert("cpu", {"b": "2", "a": "1"}, [(2, 3.0)])
        ts.insert("CPU", {"a": "1"}, [(1, 4.0)])
        ts.insert("cpu2", {"a": "1"}, [(1, 5.0)])
        want = expected("cpu", [({"a": "1"}, [(1, 1.0)]), ({"a": "1", "b": "2"}, [(1, 2.0), (2, 3.0)])])
        check_answer("Query cpu (labels {a} and {a, b} are two series)", ts.query("cpu"), want)
        check_answer("Query CPU (metrics are case-sensitive)", ts.query("CPU"), expected("CPU", [({"a": "1"}, [(1, 4.0)])]))
        check_answer("Query cpu2", ts.query("cpu2", eq("a", "1")), expected("cpu2", [({"a": "1"}, [(1, 5.0)])]))

    def test_extreme_timestamps_and_values_round_trip(self, ts):
        points = [(-MAX_TS, -1e300), (-1, -0.5), (0, 0.0), (1, 5e-324), (MAX_TS, 1.7976931348623157e308)]
        check("Insert of points at the ends of the timestamp range", ts.insert("cpu", {"unicode": "é✓"}, points), 5)
        check_answer("Query of every point", ts.query("cpu"), expected("cpu", [({"unicode": "é✓"}, points)]))
        check_answer("Query of [-1, 1)", ts.query("cpu", start=-1, end=1), expected("cpu", [({"unicode": "é✓"}, points[1:3])]))
        check_answer(
            "Query of [-2^53, -2^53 + 1)",
            ts.query("cpu", start=-MAX_TS, end=-MAX_TS + 1),
            expected("cpu", [({"unicode": "é✓"}, points[:1])]),
        )

    def test_namespace_isolation(self, ts, related):
        other = SeriesOps(ts.channel, related("-other"))
        ts.insert("cpu", {"host": "a"}, [(1, 1.0)])
        other.insert("cpu", {"host": "a"}, [(1, 2.0), (2, 2.0)])
        check_answer("Query in own namespace", ts.query("cpu"), expected("cpu", [({"host": "a"}, [(1, 1.0)])]))
        check_answer("Query in the other namespace", other.query("cpu"), expected("cpu", [({"host": "a"}, [(1, 2.0), (2, 2.0)])]))

    def test_invalid_arguments(self, ts):
        invalid = grpc.StatusCode.INVALID_ARGUMENT
        expect_status("Insert with no points", invalid, lambda: ts.insert("cpu", {}, []))
        expect_status("Insert at 2^53 + 1", invalid, lambda: ts.insert("cpu", {}, [(0, 1.0), (MAX_TS + 1, 1.0)]))
        expect_status("Insert at -2^53 - 1", invalid, lambda: ts.insert("cpu", {}, [(-MAX_TS - 1, 1.0)]))
        expect_status("Insert of a NaN value", invalid, lambda: ts.insert("cpu", {}, [(0, 1.0), (1, math.nan)]))
        expect_status("Insert of an infinite value", invalid, lambda: ts.insert("cpu", {}, [(1, math.inf)]))
        expect_status("Insert with an empty label name", invalid, lambda: ts.insert("cpu", {"": "x"}, [(1, 1.0)]))
        expect_status("Insert with an empty metric", invalid, lambda: ts.insert("", {}, [(1, 1.0)]))
        expect_status("Query with end_ms < start_ms", invalid, lambda: ts.query("cpu", start=10, end=9))
        expect_status("Query with an empty matcher label", invalid, lambda: ts.query("cpu", eq("", "x")))
        check_answer("Query after rejected inserts", ts.query("cpu"), [])
