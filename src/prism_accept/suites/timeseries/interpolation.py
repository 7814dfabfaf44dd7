"""timeseries_interpolation: InterpolateLinear, InterpolateStep. Expected values are computed
here from the points the case wrote; before the first point and after the last the backend
declares absent or clamp (behaviours.timeseries_interpolation.outside_range), one case each."""

from __future__ import annotations

import bisect
import math
from fractions import Fraction

import grpc
import pytest

from prism.timeseries.v1 import timeseries_pb2 as pb
from prism.timeseries.v1 import timeseries_pb2_grpc as pb_grpc
from prism_accept.suites.base import InterfaceSuite, expect_status
from prism_accept.suites.requirements import requires
from prism_accept.suites.timeseries.basic import (
    LOOK_ALIKE_LABELS,
    LOOK_ALIKE_METRICS,
    Answer,
    Labels,
    Points,
    SeriesOps,
    answer,
    batch_size,
    check_answer,
    eq,
    expected,
    matching,
)

POINTS: Points = [(0, 10.0), (100, 20.0), (300, 0.0), (400, -5.0), (1000, 1.5)]
BETWEEN = [1, 50, 99, 101, 200, 299, 350, 399, 401, 700, 999]
EXACT = [t for t, _ in POINTS]
OUTSIDE = [-(2**63), -1000, -1, 1001, 5000, 2**63 - 1]


def neighbours(points: Points, t: int) -> tuple[tuple[int, float] | None, tuple[int, float] | None]:
    """Of points ascending: the latest at or before t and the earliest at or after t (None if none)."""
    before = bisect.bisect_right(points, (t, math.inf))
    after = bisect.bisect_left(points, (t, -math.inf))
    return points[before - 1] if before else None, points[after] if after < len(points) else None


def linear(points: Points, t: int, outside: str) -> float | None:
    """The reference: the formula of the proto over the neighbours, computed exactly (fractions)
    and rounded once, so that no intermediate overflows."""
    a, b = neighbours(points, t)
    if a is None or b is None:
        return outside_value(points, t, outside)
    (t0, v0), (t1, v1) = a, b
    return v0 if t0 == t1 else float(Fraction(v0) + (Fraction(v1) - Fraction(v0)) * (t - t0) / (t1 - t0))


def step(points: Points, t: int, outside: str) -> float | None:
    a, b = neighbours(points, t)
    if a is None or b is None:
        return outside_value(points, t, outside)
    return a[1]


def outside_value(points: Points, t: int, outside: str) -> float | None:
    if outside == "absent":
        return None
    return points[0][1] if t < points[0][0] else points[-1][1]


def interpolated(metric: str, series: list[tuple[Labels, Points]], timestamps: list[int], method, outside: str = "absent") -> Answer:
    answers = []
    for labels, points in series:
        values = [(t, method(sorted(points), t, outside)) for t in sorted(set(timestamps))]
        answers.append((labels, [(t, v) for t, v in values if v is not None]))
    return expected(metric, answers)


class InterpolationOps(SeriesOps):
    def __init__(self, channel: grpc.Channel, ns: str):
        super().__init__(channel, ns)
        self.interpolation = pb_grpc.TimeSeriesInterpolationStub(channel)

    def interpolate(self, method: str, metric: str, timestamps: list[int], *matchers: pb.LabelMatcher) -> Answer:
        request = pb.InterpolateRequest(namespace=self.ns, metric=metric, matchers=matchers, timestamps_ms=timestamps)
        call = self.interpolation.InterpolateLinear if method == "linear" else self.interpolation.InterpolateStep
        return answer(call(request))


METHODS = {"linear": linear, "step": step}


@requires.interface("timeseries_basic")  # points are written with Insert
class TimeSeriesInterpolationTests(InterfaceSuite):
    interface = "timeseries_interpolation"

    @pytest.fixture
    def ts(self, plugin, namespace):
        ops = InterpolationOps(plugin.channel, namespace)
        ops.insert("cpu", {"host": "a"}, POINTS[::-1])
        return ops

    def check(self, ts, method: str, timestamps: list[int], outside: str = "absent", what: str = "") -> None:
        want = interpolated("cpu", [({"host": "a"}, POINTS)], timestamps, METHODS[method], outside)
        check_answer(f"Interpolate{method.title()} at {timestamps}{what}", ts.interpolate(method, "cpu", timestamps), want)

    def test_linear_between_points(self, ts):
        self.check(ts, "linear", BETWEEN)

    def test_step_takes_the_previous_point(self, ts):
        self.check(ts, "step", BETWEEN)

    @pytest.mark.parametrize("method", list(METHODS))
    def test_exact_points_give_their_own_value(self, ts, method):
        self.check(ts, method, EXACT)
        self.check(ts, method, [0, 1, 100, 101, 299, 300, 1000])

    @requires.behaviour("timeseries_interpolation", "outside_range", "absent")
    @pytest.mark.parametrize("method", list(METHODS))
    def test_outside_the_points_no_value_is_returned(self, ts, method):
        self.check(ts, method, OUTSIDE + [0, 1000], what=" (outside_range: absent)")
        check_answer(f"Interpolate{method.title()} only outside the points", ts.interpolate(method, "cpu", OUTSIDE), [])

    @requires.behaviour("timeseries_interpolation", "outside_range", "clamp")
    @pytest.mark.parametrize("method", list(METHODS))
    def test_outside_the_points_the_nearest_value_is_returned(self, ts, method):
        self.check(ts, method, OUTSIDE + [0, 1000], outside="clamp", what=" (outside_range: clamp)")

    def test_timestamps_are_answered_ascending_once(self, ts):
        self.check(ts, "linear", [700, 50, 700, 0, 50])
        self.check(ts, "step", [999, 1, 999, 400])

    def test_series_are_interpolated_separately(self, ts):
        other = [(50, 1.0), (60, 2.0), (2000, 3.0)]
        ts.insert("cpu", {"host": "b"}, other)
        ts.insert("memory", {"host": "a"}, [(-100, 7.0), (5000, 7.0)])
        timestamps = [-50, 0, 55, 150, 999, 1500]
        for method, reference in METHODS.items():
            want = interpolated("cpu", [({"host": "a"}, POINTS), ({"host": "b"}, other)], timestamps, reference)
            check_answer(
                f"Interpolate{method.title()} of two series (outside_range answers left out)",
                drop_outside(ts.interpolate(method, "cpu", timestamps), want),
                want,
            )
            want = interpolated("cpu", [({"host": "b"}, other)], timestamps, reference)
            check_answer(
                f"Interpolate{method.title()} of cpu{{host='b'}}",
                drop_outside(ts.interpolate(method, "cpu", timestamps, eq("host", "b")), want),
                want,
            )

    def test_replaced_points_are_used(self, ts):
        ts.insert("cpu", {"host": "a"}, [(100, 40.0)])
        points = [(0, 10.0), (100, 40.0)] + POINTS[2:]
        for method, reference in METHODS.items():
            want = interpolated("cpu", [({"host": "a"}, points)], [50, 100, 200], reference)
            check_answer(f"Interpolate{method.title()} after replacing t=100", ts.interpolate(method, "cpu", [50, 100, 200]), want)

    @pytest.mark.parametrize("method", list(METHODS))
    def test_values_far_apart_are_interpolated_within_a_double(self, ts, method):
        """Between -1.5e308 and 1.5e308 (a difference beyond a double), and between 0 and 1e308 far
        apart in time (the difference times the time offset beyond a double), every value is a double:
        answered, never OUT_OF_RANGE."""
        points = [(0, -1.5e308), (100, 1.5e308), (200, 0.0), (1_000_200, 1e308), (1_000_300, -1.7e308)]
        ts.insert("far", {}, points)
        timestamps = [0, 1, 25, 50, 75, 99, 100, 150, 201, 600_000, 1_000_199, 1_000_200, 1_000_250, 1_000_300]
        want = interpolated("far", [({}, points)], timestamps, METHODS[method])
        check_answer(f"Interpolate{method.title()} between values near the largest double", ts.interpolate(method, "far", timestamps), want)

    def test_a_single_point_series(self, ts):
        ts.insert("cpu", {"host": "one"}, [(500, 3.0)])
        for method in METHODS:
            got = ts.interpolate(method, "cpu", [500], eq("host", "one"))
            check_answer(f"Interpolate{method.title()} at the only point", got, expected("cpu", [({"host": "one"}, [(500, 3.0)])]))

    def test_thousands_of_interpolated_points_are_answered(self, ts, capabilities):
        """Five series and up to 1,000 timestamps in one request (5,000 answered points): every
        series answers every timestamp (a cap of 1,000 rows or points shows)."""
        batch = batch_size(capabilities)
        series = [({"host": f"h{k}"}, [(i * 100, float((i * (k + 1)) % 13)) for i in range(101)]) for k in range(5)]
        for labels, points in series:
            ts.insert_many("many", labels, points, batch)
        timestamps = [i * 10 + i % 3 for i in range(batch)]  # inside each series' span [0, 10000], on and between points
        for method, reference in METHODS.items():
            want = interpolated("many", series, timestamps, reference)
            check_answer(f"Interpolate{method.title()} of 5 series at {batch} timestamps", ts.interpolate(method, "many", timestamps), want)

    def test_interpolation_sees_every_write(self, ts):
        """Interpolate, write, Interpolate again (a point between two, a replaced point, a new
        series): a cached answer shows."""
        points = dict(POINTS)
        timestamps = [50, 100, 150, 350]
        for write in ({50: 100.0}, {100: -20.0}, {320: 4.0}):
            for method, reference in METHODS.items():
                want = interpolated("cpu", [({"host": "a"}, sorted(points.items()))], timestamps, reference)
                check_answer(f"Interpolate{method.title()} at {timestamps}", ts.interpolate(method, "cpu", timestamps), want)
            ts.insert("cpu", {"host": "a"}, sorted(write.items()))
            points.update(write)
        ts.insert("cpu", {"host": "b"}, [(0, 1.0), (1000, 2.0)])
        series = [({"host": "a"}, sorted(points.items())), ({"host": "b"}, [(0, 1.0), (1000, 2.0)])]
        for method, reference in METHODS.items():
            want = interpolated("cpu", series, timestamps, reference)
            got = ts.interpolate(method, "cpu", timestamps)
            check_answer(f"Interpolate{method.title()} at {timestamps} after three writes and a new series", got, want)

    def test_look_alike_series_are_interpolated_apart(self, ts):
        """Label sets holding `,` `=` NUL `{` `"` and metric names with `_` `%` `*`: each
        interpolation reads the metric and series named only, answered with their exact labels."""
        data = [(labels, [(0, float(i)), (100, float(2 * i)), (200, -1.0)]) for i, labels in enumerate(LOOK_ALIKE_LABELS)]
        for labels, points in data:
            ts.insert("cpu_1", labels, points)
        for i, metric in enumerate(LOOK_ALIKE_METRICS):
            if metric != "cpu_1":
                ts.insert(metric, {"a": "1"}, [(0, 100.0 + i), (200, 300.0 + i)])
        timestamps = [0, 50, 150, 200]
        for method, reference in METHODS.items():
            got = ts.interpolate(method, "cpu_1", timestamps)
            check_answer(f"Interpolate{method.title()} of cpu_1", got, interpolated("cpu_1", data, timestamps, reference))
            for labels in LOOK_ALIKE_LABELS[:3]:
                matchers = tuple(eq(n, v) for n, v in labels.items())
                want = interpolated("cpu_1", [(lb, p) for lb, p in data if matching(lb, matchers)], timestamps, reference)
                check_answer(f"Interpolate{method.title()} of cpu_1{labels}", ts.interpolate(method, "cpu_1", timestamps, *matchers), want)
        for i, metric in enumerate(LOOK_ALIKE_METRICS):
            if metric != "cpu_1":
                method = ("linear", "step")[i % 2]
                want = interpolated(metric, [({"a": "1"}, [(0, 100.0 + i), (200, 300.0 + i)])], timestamps, METHODS[method])
                check_answer(f"Interpolate{method.title()} of {metric!r}", ts.interpolate(method, metric, timestamps), want)

    def test_namespace_isolation(self, ts, related):
        """The same metric and labels in `ns`, `ns:ts` and `ns-other`, with other values: each
        interpolation answers its own namespace's series."""
        for k, suffix in enumerate((":ts", "-other")):
            other = InterpolationOps(ts.channel, related(suffix))
            points = [(0, 50.0 + k), (1000, -50.0)]
            other.insert("cpu", {"host": "a"}, points)
            for method, reference in METHODS.items():
                want = interpolated("cpu", [({"host": "a"}, POINTS)], [0, 50, 500, 1000], reference)
                check_answer(f"Interpolate{method.title()} in own namespace", ts.interpolate(method, "cpu", [0, 50, 500, 1000]), want)
                want = interpolated("cpu", [({"host": "a"}, points)], [0, 50, 500, 1000], reference)
                check_answer(
                    f"Interpolate{method.title()} in namespace + {suffix!r}", other.interpolate(method, "cpu", [0, 50, 500, 1000]), want
                )

    def test_invalid_arguments(self, ts):
        for method in METHODS:
            expect_status(
                f"Interpolate{method.title()} with no timestamps",
                grpc.StatusCode.INVALID_ARGUMENT,
                lambda: ts.interpolate(method, "cpu", []),
            )
            expect_status(
                f"Interpolate{method.title()} with an empty metric",
                grpc.StatusCode.INVALID_ARGUMENT,
                lambda: ts.interpolate(method, "", [1]),
            )


def drop_outside(got: Answer, want: Answer) -> Answer:
    """`got` restricted to the timestamps `want` has per series (outside_range answers are
    checked by their own cases, whatever the backend declares); a series `want` lacks stays whole."""
    wanted = {(m, labels): {t for t, _ in points} for m, labels, points in want}
    return [
        (m, labels, [(t, v) for t, v in points if t in wanted[(m, labels)]] if (m, labels) in wanted else points)
        for m, labels, points in got
    ]
