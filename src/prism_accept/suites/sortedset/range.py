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
from prism_accept.suites.rows import AllRows
from prism_accept.suites.sortedset.basic import NAMES, WHOLE, Scored, ZOps, check_members, many, ordered, pairs

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
INT64 = (-(2**63), 2**63 - 1)
# Rank ends around every edge of a sorted set of N members, and int64's own (reverse: fewer).
EDGES = [INT64[0], -N - 1, -N, -1, 0, N - 1, N, INT64[1]]
REVERSE_EDGES = [INT64[0], -N - 1, 0, N, INT64[1]]
# Offsets and limits around the size (a limit of 0 is no limit).
OFFSETS = [0, 1, N - 1, N, N + 1, INT64[1]]
LIMITS = [0, 1, N, INT64[1]]


def rank_slice(start: int, stop: int, n: int = N) -> slice:
    """Inclusive ranks, negative from the end, clamped (Redis ZRANGE)."""
    start = max(0, start + n) if start < 0 else start
    stop = stop + n if stop < 0 else min(stop, n - 1)
    return slice(start, stop + 1) if start <= stop else slice(0, 0)


def by_score(
    lo: float, lo_ex: bool, hi: float, hi_ex: bool, offset: int = 0, limit: int = 0, reverse: bool = False, reference: Scored = REFERENCE
) -> Scored:
    inside = [(m, s) for m, s in reference if (s > lo if lo_ex else s >= lo) and (s < hi if hi_ex else s <= hi)]
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
        with AllRows() as rows:
            for start, stop in ((1, 3), (2, 2), (-3, -1), (-1, -1), (-N, 0), (1, -2), (-100, 2), (0, 100), (-4, 100)):
                for reverse in (False, True):
                    want = (REFERENCE[::-1] if reverse else REFERENCE)[rank_slice(start, stop)]
                    rows.check(
                        f"GetRange({start}, {stop}, reverse={reverse})", self.get_range(rng, zsets.ns, "z", start, stop, reverse), want
                    )

    def test_empty_rank_ranges(self, rng, zsets):
        with AllRows() as rows:
            for start, stop in ((3, 2), (N, N + 5), (-1, -2), (5, -N), (100, 200)):
                rows.check(f"GetRange({start}, {stop})", self.get_range(rng, zsets.ns, "z", start, stop), [])
        check("GetRange of a missing key", self.get_range(rng, zsets.ns, "missing", 0, -1), [])

    def test_inclusive_and_exclusive_score_bounds(self, rng, zsets):
        with AllRows() as rows:
            for lo_ex in (False, True):
                for hi_ex in (False, True):
                    got = self.by_score(rng, zsets.ns, "z", min=bound(1.0, lo_ex), max=bound(2.0, hi_ex))
                    rows.check(
                        f"GetRangeByScore({'(' if lo_ex else '['}1, 2{')' if hi_ex else ']'})", got, by_score(1.0, lo_ex, 2.0, hi_ex)
                    )

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
        with AllRows() as rows:
            for (lo, lo_ex), (hi, hi_ex) in cases:
                got = self.by_score(rng, zsets.ns, "z", min=bound(lo, lo_ex), max=bound(hi, hi_ex))
                rows.check(
                    f"GetRangeByScore({'(' if lo_ex else '['}{lo}, {hi}{')' if hi_ex else ']'})", got, by_score(lo, lo_ex, hi, hi_ex)
                )

    def test_unset_bounds_are_infinite(self, rng, zsets):
        check("GetRangeByScore() with no bounds", self.by_score(rng, zsets.ns, "z"), REFERENCE)
        check("GetRangeByScore(max=[0])", self.by_score(rng, zsets.ns, "z", max=bound(0.0)), by_score(-INF, False, 0.0, False))
        check("GetRangeByScore(min=(1)", self.by_score(rng, zsets.ns, "z", min=bound(1.0, True)), by_score(1.0, True, INF, False))

    def test_reverse_by_score(self, rng, zsets):
        got = self.by_score(rng, zsets.ns, "z", min=bound(0.0), max=bound(2.0, True), reverse=True)
        check("GetRangeByScore([0, 2), reverse)", got, by_score(0.0, False, 2.0, True, reverse=True))
        check("GetRangeByScore(reverse) with no bounds", self.by_score(rng, zsets.ns, "z", reverse=True), REFERENCE[::-1])

    def test_offset_and_limit(self, rng, zsets):
        with AllRows() as rows:
            for offset, limit in ((0, 1), (1, 2), (2, 0), (3, 100), (N - 1, 5), (N, 1), (100, 0)):
                for reverse in (False, True):
                    got = self.by_score(rng, zsets.ns, "z", offset=offset, limit=limit, reverse=reverse)
                    want = by_score(-INF, False, INF, False, offset, limit, reverse)
                    rows.check(f"GetRangeByScore(all, offset={offset}, limit={limit}, reverse={reverse})", got, want)
        got = self.by_score(rng, zsets.ns, "z", min=bound(1.0), max=bound(2.5, True), offset=1, limit=3)
        check("GetRangeByScore([1, 2.5), offset=1, limit=3)", got, by_score(1.0, False, 2.5, True, 1, 3))

    def test_missing_key_by_score(self, rng, zsets):
        check("GetRangeByScore of a missing key", self.by_score(rng, zsets.ns, "missing"), [])

    def test_rank_ends_below_minus_size_and_above_size(self, rng, zsets):
        """Every pair of ends around -size, 0 and size (and int64's), forward and reverse, against
        the clamped slice: an end below -size is 0, one above size is size - 1."""
        with AllRows() as rows:
            for reverse, edges in ((False, EDGES), (True, REVERSE_EDGES)):
                order = REFERENCE[::-1] if reverse else REFERENCE
                for start in edges:
                    for stop in edges:
                        got = self.get_range(rng, zsets.ns, "z", start, stop, reverse)
                        rows.check(f"GetRange({start}, {stop}, reverse={reverse})", got, order[rank_slice(start, stop)])

    def test_offset_and_limit_around_the_size(self, rng, zsets):
        """Offsets at 0, 1, size - 1, size, size + 1 and int64's maximum, with limits 0, 1, size
        and int64's maximum: unbounded forward and reverse, and between finite bounds."""
        with AllRows() as rows:
            for low, high, reverse in ((None, None, False), (None, None, True), ((1.0, False), (2.5, True), False)):
                ends = {} if low is None else {"min": bound(*low), "max": bound(*high)}
                lo, hi = low or (-INF, False), high or (INF, False)
                for offset in OFFSETS:
                    for limit in LIMITS:
                        got = self.by_score(rng, zsets.ns, "z", offset=offset, limit=limit, reverse=reverse, **ends)
                        want = by_score(*lo, *hi, offset, limit, reverse)
                        rows.check(f"GetRangeByScore({lo}, {hi}, offset={offset}, limit={limit}, reverse={reverse})", got, want)

    @requires.limit("max_batch_size")
    def test_whole_ranges_of_5000_members(self, rng, zsets, capabilities):
        """GetRange 0..-1 and GetRangeByScore -inf..+inf without a limit answer every member, in
        order (ties by member bytes), not a first page or a capped count."""
        items = many()
        zsets.add_batched("big", items, min(1000, capabilities.limit("max_batch_size")))
        want = ordered(items)
        check_members(f"GetRange(0, -1) of {WHOLE} members", self.get_range(rng, zsets.ns, "big", 0, -1), want)
        got = self.get_range(rng, zsets.ns, "big", -WHOLE - 1, WHOLE, True)
        check_members(f"GetRange(-{WHOLE + 1}, {WHOLE}, reverse) of {WHOLE} members", got, want[::-1])
        check_members(f"GetRangeByScore() of {WHOLE} members", self.by_score(rng, zsets.ns, "big"), want)
        got = self.by_score(rng, zsets.ns, "big", min=bound(-INF), max=bound(INF), offset=1500, reverse=True)
        check_members(f"GetRangeByScore([-inf, +inf], offset=1500, reverse) of {WHOLE} members", got, want[::-1][1500:])

    def test_every_read_follows_score_updates(self, rng, zsets):
        """Read every path, update scores (no member added or removed), read every path again:
        a view of the order cached across the update answers the old order."""
        items = dict(ITEMS)

        def read_all(when: str) -> None:
            ref = ordered(items.items())
            check(f"GetRange(0, -1) {when}", self.get_range(rng, zsets.ns, "z", 0, -1), ref)
            check(f"GetRange(1, 3, reverse) {when}", self.get_range(rng, zsets.ns, "z", 1, 3, True), ref[::-1][1:4])
            check(f"GetRangeByScore() {when}", self.by_score(rng, zsets.ns, "z"), ref)
            got = self.by_score(rng, zsets.ns, "z", min=bound(0.0), max=bound(5.0), reverse=True, offset=1, limit=3)
            check(f"GetRangeByScore([0, 5], reverse, offset=1, limit=3) {when}", got, by_score(0.0, False, 5.0, False, 1, 3, True, ref))

        read_all("before the updates")
        updates = [(b"a", 4.0), (b"neg", 1.0), (b"high", -1.0), (b"\xff", 1.0)]
        zsets.add("z", *updates)
        items.update(updates)
        read_all("after score updates")
        zsets.add("z", (b"\x00", 3.0), (b"b", 0.5))
        items.update({b"\x00": 3.0, b"b": 0.5})
        read_all("after a second update")

    def test_keys_with_like_and_glob_characters_are_distinct(self, rng, zsets):
        names = ["n" + name for name in NAMES]  # "nz*" as a pattern matches "nz", "nz_" ...
        for i, key in enumerate(names):
            zsets.add(key, (key.encode(), float(i)))
        with AllRows() as rows:
            for i, key in enumerate(names):
                rows.check(f"GetRange({key!r}, 0, -1)", self.get_range(rng, zsets.ns, key, 0, -1), [(key.encode(), float(i))])
                rows.check(f"GetRangeByScore({key!r})", self.by_score(rng, zsets.ns, key, reverse=True), [(key.encode(), float(i))])

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
