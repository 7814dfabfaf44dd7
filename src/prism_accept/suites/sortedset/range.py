"""sortedset_range: GetRange by rank (negative indexes, reverse, with scores), GetRangeByScore
(inclusive/exclusive bounds, infinities, offset/limit, reverse). Equal scores order by member
bytes."""

from __future__ import annotations

import math

import grpc
import pytest

from prism.sortedset.v1 import sortedset_pb2 as pb
from prism.sortedset.v1 import sortedset_pb2_grpc as pb_grpc
from prism_accept.suites.base import InterfaceSuite, check, expect_status
from prism_accept.suites.requirements import requires
from prism_accept.suites.sortedset.basic import Scored, ZOps, ordered, pairs

INF = math.inf
ITEMS = [
    (b"\xff", 1.0),
    (b"a", 1.0),
    (b"\x00", 1.0),
    (b"b", 2.0),
    (b"low", -INF),
    (b"high", INF),
    (b"e", 2.5),
    (b"\x00\x00", 2.0),
    (b"", 0.0),
    (b"neg", -3.5),
]
REFERENCE = ordered(ITEMS)
N = len(ITEMS)


def rank_slice(start: int, stop: int) -> slice:
    """Inclusive ranks, negative from the end, clamped (Redis ZRANGE)."""
    start = max(0, start + N) if start < 0 else start
    stop = stop + N if stop < 0 else min(stop, N - 1)
    return slice(start, stop + 1) if start <= stop else slice(0, 0)


def by_score(lo: float, lo_ex: bool, hi: float, hi_ex: bool, offset: int = 0, limit: int = 0, reverse: bool = False) -> Scored:
    inside = [(m, s) for m, s in REFERENCE if (s > lo if lo_ex else s >= lo) and (s < hi if hi_ex else s <= hi)]
    if reverse:
        inside.reverse()
    return inside[offset : offset + limit] if limit else inside[offset:]


def bound(value: float, exclusive: bool = False) -> pb.ScoreBound:
    return pb.ScoreBound(value=value, exclusive=exclusive)


@requires.interface("sortedset_basic")  # sorted sets are built with Add
class SortedSetRangeTests(InterfaceSuite):
    interface = "sortedset_range"

    @pytest.fixture
    def zsets(self, plugin, namespace):
        ops = ZOps(pb_grpc.SortedSetBasicStub(plugin.channel), namespace)
        ops.add("z", *ITEMS)
        return ops

    @pytest.fixture
    def rng(self, plugin):
        return pb_grpc.SortedSetRangeStub(plugin.channel)

    @staticmethod
    def get_range(rng, ns: str, key: str, start: int, stop: int, reverse: bool = False) -> Scored:
        return pairs(rng.GetRange(pb.GetRangeRequest(namespace=ns, key=key, start=start, stop=stop, reverse=reverse)))

    @staticmethod
    def by_score(rng, ns: str, key: str, **fields) -> Scored:
        return pairs(rng.GetRangeByScore(pb.GetRangeByScoreRequest(namespace=ns, key=key, **fields)))

    def test_full_range_orders_equal_scores_by_member_bytes(self, rng, zsets):
        check("GetRange(0, -1) (member, score)", self.get_range(rng, zsets.ns, "z", 0, -1), REFERENCE)

    def test_reverse_full_range(self, rng, zsets):
        check("GetRange(0, -1, reverse)", self.get_range(rng, zsets.ns, "z", 0, -1, True), REFERENCE[::-1])

    def test_rank_ranges_with_negative_indexes(self, rng, zsets):
        for start, stop in ((1, 3), (2, 2), (-3, -1), (-1, -1), (-N, 0), (1, -2), (-100, 2), (0, 100), (-4, 100)):
            for reverse in (False, True):
                want = (REFERENCE[::-1] if reverse else REFERENCE)[rank_slice(start, stop)]
                check(f"GetRange({start}, {stop}, reverse={reverse})", self.get_range(rng, zsets.ns, "z", start, stop, reverse), want)

    def test_empty_rank_ranges(self, rng, zsets):
        for start, stop in ((3, 2), (N, N + 5), (-1, -2), (5, -N), (100, 200)):
            check(f"GetRange({start}, {stop})", self.get_range(rng, zsets.ns, "z", start, stop), [])
        check("GetRange of a missing key", self.get_range(rng, zsets.ns, "missing", 0, -1), [])

    def test_inclusive_and_exclusive_score_bounds(self, rng, zsets):
        for lo_ex in (False, True):
            for hi_ex in (False, True):
                got = self.by_score(rng, zsets.ns, "z", min=bound(1.0, lo_ex), max=bound(2.0, hi_ex))
                check(f"GetRangeByScore({'(' if lo_ex else '['}1, 2{')' if hi_ex else ']'})", got, by_score(1.0, lo_ex, 2.0, hi_ex))

    def test_equal_bounds(self, rng, zsets):
        check("GetRangeByScore([1, 1])", self.by_score(rng, zsets.ns, "z", min=bound(1.0), max=bound(1.0)), by_score(1, False, 1, False))
        check("GetRangeByScore((1, 1])", self.by_score(rng, zsets.ns, "z", min=bound(1.0, True), max=bound(1.0)), [])
        check("GetRangeByScore([2, 1])", self.by_score(rng, zsets.ns, "z", min=bound(2.0), max=bound(1.0)), [])

    def test_infinite_bounds(self, rng, zsets):
        cases = [
            ((-INF, False), (INF, False)),
            ((-INF, True), (INF, True)),
            ((-INF, False), (0.0, True)),
            ((2.0, True), (INF, False)),
            ((INF, False), (INF, False)),
            ((-INF, False), (-INF, False)),
        ]
        for (lo, lo_ex), (hi, hi_ex) in cases:
            got = self.by_score(rng, zsets.ns, "z", min=bound(lo, lo_ex), max=bound(hi, hi_ex))
            check(f"GetRangeByScore({'(' if lo_ex else '['}{lo}, {hi}{')' if hi_ex else ']'})", got, by_score(lo, lo_ex, hi, hi_ex))

    def test_unset_bounds_are_infinite(self, rng, zsets):
        check("GetRangeByScore() with no bounds", self.by_score(rng, zsets.ns, "z"), REFERENCE)
        check("GetRangeByScore(max=[0])", self.by_score(rng, zsets.ns, "z", max=bound(0.0)), by_score(-INF, False, 0.0, False))
        check("GetRangeByScore(min=(1)", self.by_score(rng, zsets.ns, "z", min=bound(1.0, True)), by_score(1.0, True, INF, False))

    def test_reverse_by_score(self, rng, zsets):
        got = self.by_score(rng, zsets.ns, "z", min=bound(0.0), max=bound(2.0, True), reverse=True)
        check("GetRangeByScore([0, 2), reverse)", got, by_score(0.0, False, 2.0, True, reverse=True))
        check("GetRangeByScore(reverse) with no bounds", self.by_score(rng, zsets.ns, "z", reverse=True), REFERENCE[::-1])

    def test_offset_and_limit(self, rng, zsets):
        for offset, limit in ((0, 1), (1, 2), (2, 0), (3, 100), (N - 1, 5), (N, 1), (100, 0)):
            for reverse in (False, True):
                got = self.by_score(rng, zsets.ns, "z", offset=offset, limit=limit, reverse=reverse)
                want = by_score(-INF, False, INF, False, offset, limit, reverse)
                check(f"GetRangeByScore(all, offset={offset}, limit={limit}, reverse={reverse})", got, want)
        got = self.by_score(rng, zsets.ns, "z", min=bound(1.0), max=bound(2.5, True), offset=1, limit=3)
        check("GetRangeByScore([1, 2.5), offset=1, limit=3)", got, by_score(1.0, False, 2.5, True, 1, 3))

    def test_missing_key_by_score(self, rng, zsets):
        check("GetRangeByScore of a missing key", self.by_score(rng, zsets.ns, "missing"), [])

    def test_namespace_isolation(self, rng, zsets, related):
        other = ZOps(zsets.stub, related("-other"))
        other.add("z", (b"theirs", 1.5))
        check("GetRange(0, -1) in the other namespace", self.get_range(rng, other.ns, "z", 0, -1), [(b"theirs", 1.5)])
        check("GetRange(0, -1) in own namespace", self.get_range(rng, zsets.ns, "z", 0, -1), REFERENCE)

    def test_invalid_arguments(self, rng, zsets):
        ns = zsets.ns
        expect_status(
            "GetRangeByScore with a NaN min", grpc.StatusCode.INVALID_ARGUMENT, lambda: self.by_score(rng, ns, "z", min=bound(math.nan))
        )
        expect_status(
            "GetRangeByScore with a NaN max", grpc.StatusCode.INVALID_ARGUMENT, lambda: self.by_score(rng, ns, "z", max=bound(math.nan))
        )
        expect_status("GetRangeByScore with offset -1", grpc.StatusCode.INVALID_ARGUMENT, lambda: self.by_score(rng, ns, "z", offset=-1))
        expect_status("GetRangeByScore with limit -1", grpc.StatusCode.INVALID_ARGUMENT, lambda: self.by_score(rng, ns, "z", limit=-1))
        expect_status("GetRange with an empty key", grpc.StatusCode.INVALID_ARGUMENT, lambda: self.get_range(rng, ns, "", 0, -1))
