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
from prism_accept.suites.rows import AllRows

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


def matching(labels: Labels, matchers: tuple[pb.LabelMatcher, ...]) -> bool:
    """The reference selection: whole values, a missing label is ""."""
    return all((labels.get(m.label, "") == m.value) == (m.op == pb.LabelMatcher.EQUAL) for m in matchers)


# More points, buckets or answers than any plausible internal cap (1,000 or 5,000 rows, one
# page of a scan), written with as few Inserts as the backend's max_batch_size allows.
MANY = 5_200


def batch_size(capabilities) -> int:
    """Points per Insert: the declared max_batch_size (a repeated field's elements), at most 1,000."""
    return min(1000, capabilities.decl.limits.get("max_batch_size", 1000))


def many_points(n: int = MANY, start: int = -9_000) -> Points:
    """n points 3 ms apart from `start` (across the epoch), values exact binary fractions."""
    return [(start + 3 * i, float(i % 97 - 48) / 4) for i in range(n)]


# Label sets that a key built by joining names and values (`a=1,b=2`, `{a="1"}`, NUL-separated)
# would merge or split: each must stay its own series with exactly these labels.
LOOK_ALIKE_LABELS: list[Labels] = [
    {"a": "1,b=2"},
    {"a": "1", "b": "2"},
    {"a": "1"},
    {"a": "1=b"},
    {"a=1": "b"},
    {"a": "1\x00b"},
    {"a": "1", "\x00b": "2"},
    {"a": "1\x00b=2"},
    {"a": '{b="2"}'},
    {"a,b": "1"},
    {"a": '"1"'},
    {"a": "1}", "{b": "2"},
    {"a": "1", "b": "2,c=3"},
    {"a": "1", "b": "2", "c": "3"},
]
# Metric names that a LIKE, a glob or a regular expression built from the name would confuse
# (`_` `%` `*` `?` `.` `\` are literal), and names that a "metric{labels}" key would collide with.
LOOK_ALIKE_METRICS = ["cpu_1", "cpu%1", "cpuX1", "cpu1", "a*", "ab", "a", "a\\", "a\\*", "a.b", "a?b", "a%", 'cpu{a="1"}', "cpu,a=1"]


def shown_matchers(matchers) -> str:
    return ", ".join(f"{m.label!r}{'=' if m.op == pb.LabelMatcher.EQUAL else '!='}{m.value!r}" for m in matchers)


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

    def insert_many(self, metric: str, labels: Labels, points: Points, batch: int) -> int:
        """Points of distinct timestamps in Inserts of `batch` points, sent concurrently."""
        futures = []
        for i in range(0, len(points), batch):
            chunk = [pb.Point(timestamp_ms=t, value=v) for t, v in points[i : i + batch]]
            futures.append(self.basic.Insert.future(pb.InsertRequest(namespace=self.ns, metric=metric, labels=labels, points=chunk)))
        return sum(f.result().inserted for f in futures)

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

    def test_a_query_answers_thousands_of_points(self, ts, capabilities):
        """5,200 points, shuffled, in a few concurrent Inserts: Query answers every one, ascending,
        whole and in a range (a silent cap of 1,000 or 5,000 points, or one page of a scan, shows)."""
        points = many_points()
        shuffled = random.Random(13).sample(points, MANY)
        check(f"Insert of {MANY} shuffled points", ts.insert_many("cpu", {"host": "a"}, shuffled, batch_size(capabilities)), MANY)
        check_answer(f"Query of {MANY} points", ts.query("cpu"), expected("cpu", [({"host": "a"}, points)]))
        check_answer(
            "Query of [-6000, 9000)",
            ts.query("cpu", start=-6000, end=9000),
            expected("cpu", [({"host": "a"}, in_range(points, -6000, 9000))]),
        )

    def test_label_sets_that_look_alike_are_distinct_series(self, ts):
        """Label values and names holding `,` `=` NUL `{` `}` `"`: every set is its own series,
        answered with exactly its labels, and matchers compare those whole values."""
        data = [(labels, [(i, float(i)), (100 + i, -float(i))]) for i, labels in enumerate(LOOK_ALIKE_LABELS)]
        with AllRows() as rows:
            for labels, points in data:
                rows.check(f"Insert into cpu{labels}", ts.insert("cpu", labels, points), 2)
        check_answer("Query cpu (every look-alike label set)", ts.query("cpu"), expected("cpu", data))
        for labels in LOOK_ALIKE_LABELS:
            for matchers in (tuple(eq(n, v) for n, v in labels.items()), tuple(ne(n, v) for n, v in labels.items())):
                want = expected("cpu", [(lb, points) for lb, points in data if matching(lb, matchers)])
                check_answer(f"Query cpu{{{shown_matchers(matchers)}}}", ts.query("cpu", *matchers), want)

    def test_metric_names_are_literal(self, ts):
        """Names with `_` `%` `*` `\\` `{` and look-alikes (`cpu_1` vs `cpu%1`, `a*` vs `ab`, `cpu{a="1"}`
        vs cpu with a="1"): each Query answers its own metric's points only."""
        ts.insert("cpu", {"a": "1"}, [(0, -1.0)])
        for i, metric in enumerate(LOOK_ALIKE_METRICS):
            ts.insert(metric, {}, [(i, float(i))])
        for i, metric in enumerate(LOOK_ALIKE_METRICS):
            check_answer(f"Query {metric!r}", ts.query(metric), expected(metric, [({}, [(i, float(i))])]))
        check_answer("Query 'cpu'", ts.query("cpu"), expected("cpu", [({"a": "1"}, [(0, -1.0)])]))
        check_answer("Query 'cpu_'", ts.query("cpu_"), [])
        check_answer("Query '%'", ts.query("%"), [])

    def test_every_query_sees_the_writes_before_it(self, ts):
        """Query, write, Query again: a new point, a replaced point, a new series (a cached answer shows)."""
        points = {10: 1.0, 20: 2.0}
        ts.insert("cpu", {"host": "a"}, sorted(points.items()))
        for write in ({15: 1.5}, {20: 4.0}, {10: -1.0, 30: 3.0}):
            check_answer("Query cpu", ts.query("cpu"), expected("cpu", [({"host": "a"}, sorted(points.items()))]))
            want = expected("cpu", [({"host": "a"}, in_range(sorted(points.items()), 0, 25))])
            check_answer("Query cpu [0, 25)", ts.query("cpu", start=0, end=25), want)
            ts.insert("cpu", {"host": "a"}, sorted(write.items()))
            points.update(write)
        want = expected("cpu", [({"host": "a"}, sorted(points.items()))])
        check_answer("Query cpu{host='a'} after three writes", ts.query("cpu", eq("host", "a")), want)
        ts.insert("cpu", {"host": "b"}, [(5, 0.5)])
        want = expected("cpu", [({"host": "a"}, sorted(points.items())), ({"host": "b"}, [(5, 0.5)])])
        check_answer("Query cpu after a new series", ts.query("cpu"), want)
        want = [(m, lb, in_range(p, 0, 25)) for m, lb, p in want]
        check_answer("Query cpu [0, 25) after a new series", ts.query("cpu", start=0, end=25), want)

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
        """The same metric and labels in namespaces whose names extend one another (`ns`,
        `ns:ts`, `ns-other`): each Query answers its own namespace's points."""
        for suffix in (":ts", "-other"):
            other = SeriesOps(ts.channel, related(suffix))
            ts.insert("cpu", {"host": "a"}, [(1, 1.0)])
            other.insert("cpu", {"host": "a"}, [(1, 2.0), (2, 2.0)])
            check_answer("Query in own namespace", ts.query("cpu"), expected("cpu", [({"host": "a"}, [(1, 1.0)])]))
            check_answer(f"Query in namespace + {suffix!r}", other.query("cpu"), expected("cpu", [({"host": "a"}, [(1, 2.0), (2, 2.0)])]))

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
