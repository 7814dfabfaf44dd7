"""timeseries_retention: SetRetention, Compact. Compact removes a metric's points older than the
backend's now minus the retention, across every series of the metric, keeping the newer ones.

Points far from the boundary (an hour and more) make most cases independent of timing; one case
writes a point at the current time with a 300 ms retention and polls Compact, with a deadline,
until it goes: not before it is 300 ms old (less the declared tolerance), and by the first
Compact after it is 300 ms old plus the tolerance."""

from __future__ import annotations

import time

import grpc
import pytest

from prism.timeseries.v1 import timeseries_pb2 as pb
from prism.timeseries.v1 import timeseries_pb2_grpc as pb_grpc
from prism_accept.suites.base import InterfaceSuite, check, expect_status, poll_until
from prism_accept.suites.requirements import requires
from prism_accept.suites.rows import AllRows
from prism_accept.suites.timeseries.aggregation import AggregationOps, buckets
from prism_accept.suites.timeseries.basic import LOOK_ALIKE_METRICS, Points, SeriesOps, batch_size, check_answer, expected
from prism_accept.suites.timeseries.interpolation import InterpolationOps, drop_outside, interpolated, linear, step

HOUR_MS = 3_600_000
RETENTION_MS = 300  # the timing case's retention


def now_ms() -> int:
    return time.time_ns() // 1_000_000


class RetentionOps(SeriesOps):
    def __init__(self, channel: grpc.Channel, ns: str):
        super().__init__(channel, ns)
        self.retention = pb_grpc.TimeSeriesRetentionStub(channel)

    def set_retention(self, metric: str, retention_ms: int) -> None:
        self.retention.SetRetention(pb.SetRetentionRequest(namespace=self.ns, metric=metric, retention_ms=retention_ms))

    def compact(self, metric: str) -> int:
        return self.retention.Compact(pb.CompactRequest(namespace=self.ns, metric=metric)).removed


@requires.interface("timeseries_basic")  # points are written with Insert and read with Query
class TimeSeriesRetentionTests(InterfaceSuite):
    interface = "timeseries_retention"

    @pytest.fixture
    def ts(self, plugin, namespace):
        return RetentionOps(plugin.channel, namespace)

    @staticmethod
    def old_and_new(now: int) -> tuple[Points, Points]:
        """Points 1-3 hours old, and points from an hour ago up to an hour ahead."""
        return [(now - HOUR_MS * k - k, float(k)) for k in (3, 2, 1)], [(now - HOUR_MS // 2, 10.0), (now, 11.0), (now + HOUR_MS, 12.0)]

    def test_without_retention_compact_removes_nothing(self, ts):
        old, new = self.old_and_new(now_ms())
        ts.insert("cpu", {}, old + new)
        check("Compact of a metric without retention", ts.compact("cpu"), 0)
        check("Compact of a missing metric", ts.compact("memory"), 0)
        check_answer("Query after Compact", ts.query("cpu"), expected("cpu", [({}, old + new)]))

    def test_compact_removes_the_old_points_of_every_series(self, ts):
        old, new = self.old_and_new(now_ms())
        ts.insert("cpu", {"host": "a"}, old + new)
        ts.insert("cpu", {"host": "b"}, old[:2])
        ts.insert("cpu", {"host": "c"}, new[1:])
        ts.set_retention("cpu", 90 * 60 * 1000)  # 1.5 h: the points 2 and 3 hours old go
        check("Compact with a 1.5 h retention", ts.compact("cpu"), 4)
        want = expected("cpu", [({"host": "a"}, old[2:] + new), ({"host": "c"}, new[1:])])
        check_answer("Query after Compact (the newest points kept)", ts.query("cpu"), want)
        check("Compact again", ts.compact("cpu"), 0)
        check_answer("Query after the second Compact", ts.query("cpu"), want)

    def test_retention_counts_from_now_not_from_the_newest_point(self, ts):
        now = now_ms()
        points = [(now - 20 * 60_000, 1.0), (now - 10 * 60_000, 2.0)]
        ts.insert("cpu", {}, points)
        ts.set_retention("cpu", 15 * 60_000)
        check("Compact of points 20 and 10 min old with a 15 min retention", ts.compact("cpu"), 1)
        check_answer("Query after Compact", ts.query("cpu"), expected("cpu", [({}, points[1:])]))

    def test_retention_is_per_metric_and_replaceable(self, ts):
        old, new = self.old_and_new(now_ms())
        for metric in ("cpu", "memory", "cpu_total"):
            ts.insert(metric, {}, old + new)
        ts.set_retention("cpu", HOUR_MS * 4)
        ts.set_retention("cpu", HOUR_MS * 2 + HOUR_MS // 2)  # replaces 4 h: only the 3 h old point goes
        ts.set_retention("memory", 60_000)
        ts.set_retention("memory", 0)  # removes memory's retention
        check("Compact of cpu, retention 2.5 h", ts.compact("cpu"), 1)
        check("Compact of memory, retention removed", ts.compact("memory"), 0)
        check("Compact of cpu_total, no retention", ts.compact("cpu_total"), 0)
        check_answer("Query cpu", ts.query("cpu"), expected("cpu", [({}, old[1:] + new)]))
        check_answer("Query memory", ts.query("memory"), expected("memory", [({}, old + new)]))
        check_answer("Query cpu_total", ts.query("cpu_total"), expected("cpu_total", [({}, old + new)]))

    def test_retention_is_per_namespace(self, ts, related):
        """The same metric in `ns`, `ns:ts` and `ns-other`: SetRetention and Compact act on their
        own namespace only, checked in both."""
        old, new = self.old_and_new(now_ms())
        ts.insert("cpu", {}, old + new)
        with AllRows() as rows:
            for suffix in (":ts", "-other"):
                other = RetentionOps(ts.channel, related(suffix))
                other.insert("cpu", {}, old + new)
                other.set_retention("cpu", HOUR_MS // 2)
                rows.check("Compact in own namespace (no retention here)", ts.compact("cpu"), 0)
                check_answer("Query in own namespace", ts.query("cpu"), expected("cpu", [({}, old + new)]))
                rows.check(f"Compact in namespace + {suffix!r}", other.compact("cpu"), 4)
                check_answer(f"Query in namespace + {suffix!r}", other.query("cpu"), expected("cpu", [({}, new[1:])]))
                rows.check("Compact in own namespace after the other's", ts.compact("cpu"), 0)
                check_answer("Query in own namespace after the other's Compact", ts.query("cpu"), expected("cpu", [({}, old + new)]))
        ts.set_retention("cpu", HOUR_MS * 2 + HOUR_MS // 2)
        check("Compact in own namespace, retention 2.5 h", ts.compact("cpu"), 1)
        check_answer(f"Query in namespace + {suffix!r} after own Compact", other.query("cpu"), expected("cpu", [({}, new[1:])]))
        check_answer("Query in own namespace", ts.query("cpu"), expected("cpu", [({}, old[1:] + new)]))

    def test_compact_leaves_look_alike_metrics_alone(self, ts):
        """Metric names with `_` `%` `*` `\\` and look-alikes (`cpu_1` vs `cpu%1`, `a*` vs `ab`):
        a retention and a Compact act on the metric named only (a LIKE or glob removes others' points)."""
        old, new = self.old_and_new(now_ms())
        for metric in LOOK_ALIKE_METRICS:
            ts.insert(metric, {"host": "a"}, old + new)
        retained = {"cpu_1", "cpu%1", "a*", "a\\", "a%"}
        for metric in sorted(retained):
            ts.set_retention(metric, 90 * 60 * 1000)  # 1.5 h: the points 2 and 3 hours old go
        with AllRows() as rows:
            for metric in LOOK_ALIKE_METRICS:
                rows.check(f"Compact {metric!r}", ts.compact(metric), 2 if metric in retained else 0)
        for metric in LOOK_ALIKE_METRICS:
            kept = old[2:] + new if metric in retained else old + new
            check_answer(f"Query {metric!r} after every Compact", ts.query(metric), expected(metric, [({"host": "a"}, kept)]))

    def test_compact_removes_thousands_of_points(self, ts, capabilities):
        """5,000 points 2-3 hours old and 200 new ones in one series: one Compact removes every old
        one and says so (a Compact of one page of 1,000 rows, or a capped count, shows)."""
        now = now_ms()
        old = [(now - 3 * HOUR_MS + i, float(i % 7)) for i in range(5_000)]
        new = [(now - HOUR_MS // 2 + i * 1000, float(i)) for i in range(200)]
        check("Insert of 5,200 points", ts.insert_many("cpu", {"host": "a"}, old + new, batch_size(capabilities)), 5_200)
        ts.set_retention("cpu", 90 * 60 * 1000)
        check("Compact of 5,000 old points", ts.compact("cpu"), 5_000)
        check_answer("Query after Compact", ts.query("cpu"), expected("cpu", [({"host": "a"}, new)]))
        check("Compact again", ts.compact("cpu"), 0)

    def test_every_query_sees_what_compact_removed(self, ts):
        """Query, Compact, Query again, then a write and a second Compact: a cached answer shows."""
        old, new = self.old_and_new(now_ms())
        ts.insert("cpu", {"host": "a"}, old + new)
        ts.insert("cpu", {"host": "b"}, old[:1])
        check_answer("Query before Compact", ts.query("cpu"), expected("cpu", [({"host": "a"}, old + new), ({"host": "b"}, old[:1])]))
        ts.set_retention("cpu", 90 * 60 * 1000)
        check("Compact with a 1.5 h retention", ts.compact("cpu"), 3)
        check_answer("Query after Compact", ts.query("cpu"), expected("cpu", [({"host": "a"}, old[2:] + new)]))
        ts.insert("cpu", {"host": "b"}, old[1:])
        want = expected("cpu", [({"host": "a"}, old[2:] + new), ({"host": "b"}, old[1:])])
        check_answer("Query after writing old points again", ts.query("cpu"), want)
        check("Compact again", ts.compact("cpu"), 1)
        want = expected("cpu", [({"host": "a"}, old[2:] + new), ({"host": "b"}, old[2:])])
        check_answer("Query after the second Compact", ts.query("cpu"), want)

    @requires.interface("timeseries_aggregation")
    def test_aggregate_sees_what_compact_removed(self, ts):
        """Aggregate, Compact, Aggregate again: an aggregate cached before the Compact shows."""
        old, new = self.old_and_new(now_ms())
        ts.insert("cpu", {"host": "a"}, old + new)
        aggregation = AggregationOps(ts.channel, ts.ns)
        for function in ("count", "sum"):
            want = expected("cpu", [({"host": "a"}, buckets(old + new, HOUR_MS, function))])
            check_answer(f"Aggregate({function}, bucket_ms=1 h) before Compact", aggregation.aggregate("cpu", HOUR_MS, function), want)
        ts.set_retention("cpu", 90 * 60 * 1000)
        check("Compact with a 1.5 h retention", ts.compact("cpu"), 2)
        for function in ("count", "sum"):
            want = expected("cpu", [({"host": "a"}, buckets(old[2:] + new, HOUR_MS, function))])
            check_answer(f"Aggregate({function}, bucket_ms=1 h) after Compact", aggregation.aggregate("cpu", HOUR_MS, function), want)

    @requires.interface("timeseries_interpolation")
    def test_interpolation_sees_what_compact_removed(self, ts, declaration):
        """Interpolate, Compact, Interpolate again (between and at the removed points): an
        interpolation cached before the Compact shows."""
        old, new = self.old_and_new(now_ms())
        ts.insert("cpu", {"host": "a"}, old + new)
        interpolation = InterpolationOps(ts.channel, ts.ns)
        at = [t for t, _ in old + new] + [(a + b) // 2 for (a, _), (b, _) in zip(old + new, (old + new)[1:])]
        outside = declaration.behaviours.get("timeseries_interpolation", {}).get("outside_range")
        with AllRows() as rows:
            for points, when in ((old + new, "before"), (old[2:] + new, "after")):
                if when == "after":
                    ts.set_retention("cpu", 90 * 60 * 1000)
                    rows.check("Compact with a 1.5 h retention", ts.compact("cpu"), 2)
                for method, reference in (("linear", linear), ("step", step)):
                    want = interpolated("cpu", [({"host": "a"}, points)], at, reference, outside or "absent")
                    got = interpolation.interpolate(method, "cpu", at)
                    if outside is None:  # undeclared: only the answers inside the series' span are checked
                        got = drop_outside(got, want)
                    check_answer(f"Interpolate{method.title()} {when} Compact", got, want)

    def test_a_point_goes_once_older_than_the_retention(self, ts, capabilities):
        tolerance = capabilities.timing_tolerance_ms
        written = now_ms()
        ts.insert("cpu", {}, [(written, 1.0), (written + HOUR_MS, 2.0)])
        ts.set_retention("cpu", RETENTION_MS)
        gone_at: list[int] = []

        def gone() -> bool:
            sent = now_ms()
            removed = ts.compact("cpu")
            answered = now_ms()
            if removed:
                gone_at.append(answered)
                check(f"Compact {answered - written} ms after the write", removed, 1)
                return True
            if sent > written + RETENTION_MS + tolerance:
                raise AssertionError(
                    f"Compact sent {sent - written} ms after writing a point with retention {RETENTION_MS} ms: "
                    f"got 0 removed, want the point removed (tolerance {tolerance} ms)"
                )
            return False

        if not poll_until(gone, (RETENTION_MS + tolerance) / 1000 + 5, 0.02):
            raise AssertionError(f"Compact never removed a point written with retention {RETENTION_MS} ms")
        age = gone_at[0] - written
        if age < RETENTION_MS - tolerance:
            raise AssertionError(
                f"Compact: got the point removed {age} ms after its timestamp, want not before {RETENTION_MS} ms (tolerance {tolerance} ms)"
            )
        check_answer("Query after the point went", ts.query("cpu"), expected("cpu", [({}, [(written + HOUR_MS, 2.0)])]))

    def test_invalid_arguments(self, ts):
        ts.insert("cpu", {}, [(0, 1.0)])
        expect_status("SetRetention(-1)", grpc.StatusCode.INVALID_ARGUMENT, lambda: ts.set_retention("cpu", -1))
        expect_status("SetRetention with an empty metric", grpc.StatusCode.INVALID_ARGUMENT, lambda: ts.set_retention("", 1000))
        expect_status("Compact with an empty metric", grpc.StatusCode.INVALID_ARGUMENT, lambda: ts.compact(""))
        check("Compact after the rejected SetRetention", ts.compact("cpu"), 0)
        check_answer("Query after Compact", ts.query("cpu"), expected("cpu", [({}, [(0, 1.0)])]))
