"""The time-series model cell: every declared time-series interface against dicts of
{timestamp: value} per series, with the suites' reference arithmetic (buckets, interpolation).

Timestamps are a small set around the epoch (1970: older than a day) and a few far in the
future, so Compact under a one-day retention removes exactly the old ones, whatever the clock."""

from __future__ import annotations

from hypothesis import strategies as st
from hypothesis.stateful import rule

from prism.timeseries.v1 import timeseries_pb2 as pb
from prism.timeseries.v1 import timeseries_pb2_grpc as pb_grpc
from prism_accept.models.machine import ModelMachine, declares, namespace_index, run
from prism_accept.suites.base import check
from prism_accept.suites.requirements import requires
from prism_accept.suites.timeseries.aggregation import buckets
from prism_accept.suites.timeseries.basic import ALL, answer, check_answer, eq, expected, ne
from prism_accept.suites.timeseries.interpolation import drop_outside, linear, step

FUTURE = 2**42  # year 2109
TIMESTAMPS = [-100, -1, 0, 1, 7, 50, 99, 100, 999, FUTURE, FUTURE + 1, FUTURE + 500]
DAY_MS = 86_400_000
CENTURIES_MS = 200 * 365 * DAY_MS  # keeps every point
METRICS = ["cpu", "cpu_total", "CPU"]
ROLLUP_METRIC = "cpu_rollup"
LABELS = [{}, {"host": "a"}, {"host": "b"}, {"host": "a", "env": "prod"}, {"host": "ab"}]
MATCHERS = [[], [eq("host", "a")], [ne("host", "a")], [eq("host", "")], [eq("host", "a"), eq("env", "prod")]]
FUNCTIONS = ["avg", "sum", "min", "max", "count", "first", "last"]
READ_AT = [-50, 0, 3, 60, 500, FUTURE - 1, FUTURE + 250, FUTURE + 600]
PATHS = {"points": "timeseries_basic", "buckets": "timeseries_aggregation", "interpolated": "timeseries_interpolation"}

Key = tuple[str, str, frozenset[tuple[str, str]]]  # namespace, metric, labels


def shown(matchers: list[pb.LabelMatcher]) -> str:
    return ", ".join(f"{m.label}{'=' if m.op == pb.LabelMatcher.EQUAL else '!='}{m.value!r}" for m in matchers)


def matches(labels: dict[str, str], matchers: list[pb.LabelMatcher]) -> bool:
    return all((labels.get(m.label, "") == m.value) == (m.op == pb.LabelMatcher.EQUAL) for m in matchers)


class TimeSeriesMachine(ModelMachine):
    PATHS = PATHS

    def __init__(self, plugin, declared, base, outside_range: str | None):
        super().__init__(plugin, declared, base)
        ch = plugin.channel
        self.basic, self.aggregation = pb_grpc.TimeSeriesBasicStub(ch), pb_grpc.TimeSeriesAggregationStub(ch)
        self.retention, self.interpolation = pb_grpc.TimeSeriesRetentionStub(ch), pb_grpc.TimeSeriesInterpolationStub(ch)
        self.outside_range = outside_range
        self.model: dict[Key, dict[int, float]] = {}
        self.retained: dict[tuple[str, str], int] = {}

    def series(self, ns: str, metric: str, selected: list[pb.LabelMatcher] | None = None) -> list[tuple[dict[str, str], list]]:
        """The model's series of a metric (optionally those matching), with their sorted points."""
        return [
            (dict(labels), sorted(points.items()))
            for (n, m, labels), points in self.model.items()
            if n == ns and m == metric and points and matches(dict(labels), selected or [])
        ]

    @declares("timeseries_basic")
    @rule(
        i=namespace_index,
        metric=st.sampled_from(METRICS),
        labels=st.sampled_from(LABELS),
        points=st.lists(st.tuples(st.sampled_from(TIMESTAMPS), st.integers(-8, 8).map(lambda n: n / 4)), min_size=1, max_size=4),
    )
    def insert(self, i, metric, labels, points):
        ns = self.namespaces[i]
        request = pb.InsertRequest(
            namespace=ns, metric=metric, labels=labels, points=[pb.Point(timestamp_ms=t, value=v) for t, v in points]
        )
        got = self.call(self.basic.Insert, request).inserted
        check(f"Insert {metric} {labels} {points}", got, len({t for t, _ in points}))
        self.model.setdefault((ns, metric, frozenset(labels.items())), {}).update(points)

    @declares("timeseries_aggregation")
    @rule(
        i=namespace_index,
        metric=st.sampled_from(METRICS),
        matchers=st.sampled_from(MATCHERS),
        bucket_ms=st.sampled_from([1, 7, 100, 1000]),
        function=st.sampled_from(FUNCTIONS),
    )
    def rollup(self, i, metric, matchers, bucket_ms, function):
        ns = self.namespaces[i]
        request = pb.RollupRequest(
            namespace=ns,
            metric=metric,
            matchers=matchers,
            start_ms=ALL[0],
            end_ms=ALL[1],
            bucket_ms=bucket_ms,
            function=pb.AggregateFunction.Value(function.upper()),
            target_metric=ROLLUP_METRIC,
        )
        got = self.call(self.aggregation.Rollup, request).inserted
        written = 0
        for labels, points in self.series(ns, metric, matchers):
            rolled = buckets(points, bucket_ms, function)
            self.model.setdefault((ns, ROLLUP_METRIC, frozenset(labels.items())), {}).update(rolled)
            written += len(rolled)
        check(f"Rollup {metric} {function} bucket_ms={bucket_ms}", got, written)

    @declares("timeseries_retention")
    @rule(i=namespace_index, metric=st.sampled_from(METRICS), retention_ms=st.sampled_from([0, DAY_MS, CENTURIES_MS]))
    def set_retention(self, i, metric, retention_ms):
        ns = self.namespaces[i]
        self.call(self.retention.SetRetention, pb.SetRetentionRequest(namespace=ns, metric=metric, retention_ms=retention_ms))
        self.retained[(ns, metric)] = retention_ms

    @declares("timeseries_retention")
    @rule(i=namespace_index, metric=st.sampled_from(METRICS))
    def compact(self, i, metric):
        ns = self.namespaces[i]
        got = self.call(self.retention.Compact, pb.CompactRequest(namespace=ns, metric=metric)).removed
        removed = 0
        if self.retained.get((ns, metric)) == DAY_MS:  # removes the 1970 points, keeps the future ones
            for (n, m, _), points in self.model.items():
                if (n, m) == (ns, metric):
                    for t in [t for t in points if t < FUTURE]:
                        del points[t]
                        removed += 1
        check(f"Compact {metric} (retention {self.retained.get((ns, metric), 0)} ms)", got, removed)

    @rule(i=namespace_index, path=st.sampled_from(sorted(PATHS)))
    def observe(self, i, path):
        self.read(path, self.namespaces[i])

    def read_points(self, ns):
        for metric in [*METRICS, ROLLUP_METRIC]:
            for matchers in MATCHERS[:3]:
                request = pb.QueryRequest(namespace=ns, metric=metric, matchers=matchers, start_ms=ALL[0], end_ms=ALL[1])
                want = expected(metric, self.series(ns, metric, matchers))
                check_answer(f"Query {metric}{{{shown(matchers)}}}", answer(self.call(self.basic.Query, request)), want)
        request = pb.QueryRequest(namespace=ns, metric="cpu", start_ms=0, end_ms=100)
        want = expected("cpu", [(labels, [(t, v) for t, v in points if 0 <= t < 100]) for labels, points in self.series(ns, "cpu")])
        check_answer("Query cpu [0, 100)", answer(self.call(self.basic.Query, request)), want)

    def read_buckets(self, ns):
        for metric, function, bucket_ms in (("cpu", "sum", 100), ("cpu", "first", 7), ("cpu_total", "avg", 1000)):
            request = pb.AggregateRequest(
                namespace=ns,
                metric=metric,
                start_ms=ALL[0],
                end_ms=ALL[1],
                bucket_ms=bucket_ms,
                function=pb.AggregateFunction.Value(function.upper()),
            )
            want = expected(metric, [(labels, buckets(points, bucket_ms, function)) for labels, points in self.series(ns, metric)])
            check_answer(
                f"Aggregate {metric} {function} bucket_ms={bucket_ms}", answer(self.call(self.aggregation.Aggregate, request)), want
            )

    def read_interpolated(self, ns):
        for name, method in (("InterpolateLinear", linear), ("InterpolateStep", step)):
            request = pb.InterpolateRequest(namespace=ns, metric="cpu", timestamps_ms=READ_AT)
            answers = []
            for labels, points in self.series(ns, "cpu"):
                values = [(t, method(points, t, self.outside_range or "absent")) for t in READ_AT]
                answers.append((labels, [(t, v) for t, v in values if v is not None]))
            want = expected("cpu", answers)
            got = answer(self.call(getattr(self.interpolation, name), request))
            if self.outside_range is None:  # undeclared: only the answers inside each series' span are checked
                got = drop_outside(got, want)
            check_answer(f"{name} cpu at {READ_AT}", got, want)


@requires.interface("timeseries_basic")  # the machine writes points with Insert
class TimeSeriesModelTests:
    def test_state_machine(self, plugin, declaration):
        outside = declaration.behaviours.get("timeseries_interpolation", {}).get("outside_range")
        run(lambda: TimeSeriesMachine(plugin, frozenset(declaration.implements), "pa-model-timeseries", outside))
