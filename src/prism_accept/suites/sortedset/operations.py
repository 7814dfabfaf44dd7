"""sortedset_operations: Union, Intersection with weights and SUM/MIN/MAX aggregation; a missing
key is the empty sorted set; the answer is in (score, member) order."""

from __future__ import annotations

import math
from typing import Callable

import grpc
import pytest

from prism.sortedset.v1 import sortedset_pb2 as pb
from prism.sortedset.v1 import sortedset_pb2_grpc as pb_grpc
from prism_accept.suites.base import InterfaceSuite, check, expect_status
from prism_accept.suites.requirements import requires
from prism_accept.suites.rows import AllRows
from prism_accept.suites.sortedset.basic import NAMES, WHOLE, Scored, ZOps, check_members, many, ordered, pairs

KEYS = {
    "x": {b"a": 1.0, b"b": 2.0, b"c": 3.0, b"\x00": -1.0, b"": 0.5},
    "y": {b"b": 10.0, b"c": -3.0, b"d": 4.0, b"": 2.0},
    "z": {b"c": 5.0, b"\xff": 1.0, b"b": 0.0, b"": -7.0},
}
INF = math.inf
# Every member in both keys pairs +inf, -inf, 0 and a number with each other; the *-only members
# are in one key only (Union).
INFINITE = {
    "p": {b"a": INF, b"b": 0.0, b"c": 1.0, b"d": -INF, b"e": INF, b"f": -2.0, b"g": 0.0, b"p-only": INF, b"p-zero": 0.0},
    "n": {b"a": -INF, b"b": INF, b"c": -INF, b"d": -INF, b"e": INF, b"f": 0.0, b"g": 0.0, b"n-only": -INF},
}
# Weights 0 and +-inf against scores 0 and +-inf: 0 * inf, inf * 0, inf * -inf, then SUMs of
# +inf and -inf.
INFINITE_WEIGHTS = [[1.0, 1.0], [0.0, 1.0], [1.0, 0.0], [INF, 1.0], [1.0, -INF], [INF, INF], [-INF, INF], [0.0, 0.0], [INF, -2.0]]
AGGREGATES = {"SUM": pb.CombineRequest.SUM, "MIN": pb.CombineRequest.MIN, "MAX": pb.CombineRequest.MAX}
MERGE: dict[str, Callable[[float, float], float]] = {"SUM": lambda a, b: a + b, "MIN": min, "MAX": max}


def reference(keys: list[str], weights: list[float] | None, aggregate: str, intersect: bool, data=KEYS) -> Scored:
    """Each member weight * score per key holding it, merged in key order; the contract counts a
    NaN (0 * inf, inf + -inf) as 0."""
    weights = weights or [1.0] * len(keys)
    present = [set(data.get(k, {})) for k in keys]
    members = set.intersection(*present) if intersect else set.union(*present)
    result = {}
    for member in members:
        scores = [w * data[k][member] for k, w in zip(keys, weights) if member in data.get(k, {})]
        scores = [0.0 if math.isnan(s) else s for s in scores]
        total = scores[0]
        for s in scores[1:]:
            total = MERGE[aggregate](total, s)
            total = 0.0 if math.isnan(total) else total
        result[member] = total
    return ordered(result.items())


@requires.interface("sortedset_basic")  # sorted sets are built with Add
class SortedSetOperationsTests(InterfaceSuite):
    interface = "sortedset_operations"

    @pytest.fixture
    def zsets(self, plugin, namespace):
        ops = ZOps(pb_grpc.SortedSetBasicStub(plugin.channel), namespace)
        for key, scores in KEYS.items():
            ops.add(key, *scores.items())
        return ops

    @pytest.fixture
    def ops(self, plugin):
        return pb_grpc.SortedSetOperationsStub(plugin.channel)

    @staticmethod
    def combine(ops, ns: str, intersect: bool, keys: list[str], weights: list[float] | None = None, aggregate: str = "SUM") -> Scored:
        call = ops.Intersection if intersect else ops.Union
        return pairs(call(pb.CombineRequest(namespace=ns, keys=keys, weights=weights or [], aggregate=AGGREGATES[aggregate])))

    def expect(self, ops, zsets, intersect: bool, keys: list[str], weights: list[float] | None = None, aggregate: str = "SUM") -> None:
        name = "Intersection" if intersect else "Union"
        got = self.combine(ops, zsets.ns, intersect, keys, weights, aggregate)
        check(f"{name}({keys}, weights={weights}, {aggregate})", got, reference(keys, weights, aggregate, intersect))

    def test_union_sums_by_default(self, ops, zsets):
        self.expect(ops, zsets, False, ["x", "y"])
        self.expect(ops, zsets, False, ["x", "y", "z"])

    def test_intersection_sums_by_default(self, ops, zsets):
        self.expect(ops, zsets, True, ["x", "y"])
        self.expect(ops, zsets, True, ["x", "y", "z"])

    @pytest.mark.parametrize("aggregate", sorted(AGGREGATES))
    def test_union_aggregates(self, ops, zsets, aggregate):
        self.expect(ops, zsets, False, ["x", "y", "z"], aggregate=aggregate)
        self.expect(ops, zsets, False, ["z", "x"], aggregate=aggregate)

    @pytest.mark.parametrize("aggregate", sorted(AGGREGATES))
    def test_intersection_aggregates(self, ops, zsets, aggregate):
        self.expect(ops, zsets, True, ["x", "y", "z"], aggregate=aggregate)
        self.expect(ops, zsets, True, ["y", "x"], aggregate=aggregate)

    @pytest.mark.parametrize("aggregate", sorted(AGGREGATES))
    def test_weights(self, ops, zsets, aggregate):
        for weights in ([2.0, -1.0, 0.5], [0.0, 1.0, 3.0], [-1.0, -1.0, -1.0]):
            self.expect(ops, zsets, False, ["x", "y", "z"], weights, aggregate)
            self.expect(ops, zsets, True, ["x", "y", "z"], weights, aggregate)

    def test_a_key_twice(self, ops, zsets):
        self.expect(ops, zsets, False, ["x", "x"], [1.0, 2.0])
        self.expect(ops, zsets, True, ["x", "x"], [1.0, -1.0], "MIN")

    def test_a_missing_key_is_empty(self, ops, zsets):
        for aggregate in AGGREGATES:
            self.expect(ops, zsets, False, ["x", "missing"], [1.0, 5.0], aggregate)
            self.expect(ops, zsets, False, ["missing", "y"], None, aggregate)
            self.expect(ops, zsets, True, ["x", "missing"], None, aggregate)
            self.expect(ops, zsets, True, ["missing", "x"], None, aggregate)
        check("Union of a missing key", self.combine(ops, zsets.ns, False, ["missing"]), [])

    def test_ties_order_by_member_bytes(self, ops, zsets):
        zsets.add("t1", (b"\xff", 1.0), (b"a", 2.0), (b"\x00", 3.0))
        zsets.add("t2", (b"\xff", 2.0), (b"a", 1.0), (b"", 3.0))
        data = {"t1": {b"\xff": 1.0, b"a": 2.0, b"\x00": 3.0}, "t2": {b"\xff": 2.0, b"a": 1.0, b"": 3.0}}
        got = self.combine(ops, zsets.ns, False, ["t1", "t2"])
        check("Union(t1, t2) with every SUM equal to 3", got, reference(["t1", "t2"], None, "SUM", False, data))

    def test_infinities(self, ops, zsets):
        zsets.add("p", (b"a", math.inf), (b"b", 0.0), (b"c", 1.0))
        zsets.add("n", (b"a", -math.inf), (b"b", math.inf), (b"c", -math.inf))
        data = {"p": {b"a": math.inf, b"b": 0.0, b"c": 1.0}, "n": {b"a": -math.inf, b"b": math.inf, b"c": -math.inf}}
        with AllRows() as rows:
            for aggregate in AGGREGATES:
                got = self.combine(ops, zsets.ns, True, ["p", "n"], None, aggregate)
                rows.check(f"Intersection(p, n, {aggregate}) with infinite scores", got, reference(["p", "n"], None, aggregate, True, data))

    @pytest.mark.parametrize("aggregate", sorted(AGGREGATES))
    def test_infinities_with_weights(self, ops, zsets, aggregate):
        """Union and Intersection of two keys, each order, with weights 0 and +-inf: 0 * inf
        counts as 0 and a SUM of +inf and -inf is 0 (never NaN). Over three or more keys a SUM
        meeting +inf, -inf and other terms depends on the order the backend adds in (Redis
        orders keys by size), so the contract pins only two terms."""
        for key, scores in INFINITE.items():
            zsets.add(key, *scores.items())
        with AllRows() as rows:
            for weights in INFINITE_WEIGHTS:
                for keys, ws in ((["p", "n"], weights), (["n", "p"], weights[::-1])):
                    for intersect in (False, True):
                        name = "Intersection" if intersect else "Union"
                        got = self.combine(ops, zsets.ns, intersect, keys, ws, aggregate)
                        rows.check(f"{name}({keys}, weights={ws}, {aggregate})", got, reference(keys, ws, aggregate, intersect, INFINITE))
        with AllRows() as rows:
            for intersect in (False, True):
                got = self.combine(ops, zsets.ns, intersect, ["p", "p"], [1.0, -1.0], aggregate)
                want = reference(["p", "p"], [1.0, -1.0], aggregate, intersect, INFINITE)
                rows.check(f"{'Intersection' if intersect else 'Union'}(['p', 'p'], weights=[1, -1], {aggregate})", got, want)

    @requires.limit("max_batch_size")
    def test_union_and_intersection_of_5000_members_and_more(self, ops, zsets, capabilities):
        """Answers of 6,000 (Union) and 5,000 (Intersection) members, with ties: every member,
        not a capped count or a first page."""
        batch = min(1000, capabilities.limit("max_batch_size"))
        first = many(WHOLE)
        second = [(b"m%05d" % i, float(i % 11)) for i in range(WHOLE + 1000)]
        zsets.add_batched("big1", first, batch)
        zsets.add_batched("big2", second, batch)
        data = {"big1": dict(first), "big2": dict(second)}
        for intersect, aggregate in ((False, "SUM"), (True, "MAX")):
            name = "Intersection" if intersect else "Union"
            got = self.combine(ops, zsets.ns, intersect, ["big1", "big2"], None, aggregate)
            check_members(f"{name}(big1, big2, {aggregate})", got, reference(["big1", "big2"], None, aggregate, intersect, data))

    def test_keys_with_like_and_glob_characters_are_distinct(self, ops, zsets):
        """Each key names itself only: "z*" or "z_" as a pattern would bring in "z", "zz" ..."""
        names = ["n" + name for name in NAMES]
        data = {key: {key.encode(): float(i), b"shared": float(i)} for i, key in enumerate(names)}
        for key, scores in data.items():
            zsets.add(key, *scores.items())
        with AllRows() as rows:
            for keys in (["nz*"], ["nz_", "n%"], ["nz?", "nz[z]", "n\\"], ["n*", "nz\\"]):
                for intersect in (False, True):
                    name = "Intersection" if intersect else "Union"
                    rows.check(
                        f"{name}({keys})", self.combine(ops, zsets.ns, intersect, keys), reference(keys, None, "SUM", intersect, data)
                    )

    def test_inputs_are_unchanged(self, ops, zsets):
        self.combine(ops, zsets.ns, False, ["x", "y", "z"], [2.0, 2.0, 2.0])
        self.combine(ops, zsets.ns, True, ["x", "y", "z"], None, "MAX")
        with AllRows() as rows:
            for key, scores in KEYS.items():
                for member, score in scores.items():
                    rows.check(f"GetScore({key!r}, {member!r}) after the operations", zsets.score(key, member), score)

    def test_namespace_isolation(self, ops, zsets, related):
        other = ZOps(zsets.stub, related("-other"))
        other.add("x", (b"theirs", 1.0))
        check("Union(x, y) in the other namespace", self.combine(ops, other.ns, False, ["x", "y"]), [(b"theirs", 1.0)])
        self.expect(ops, zsets, False, ["x", "y"])

    def test_invalid_arguments(self, ops, zsets):
        ns = zsets.ns
        for intersect in (False, True):
            name = "Intersection" if intersect else "Union"
            expect_status(f"{name} of no keys", grpc.StatusCode.INVALID_ARGUMENT, lambda: self.combine(ops, ns, intersect, []))
            expect_status(
                f"{name} with 1 weight for 2 keys",
                grpc.StatusCode.INVALID_ARGUMENT,
                lambda: self.combine(ops, ns, intersect, ["x", "y"], [2.0]),
            )
            expect_status(
                f"{name} with 3 weights for 2 keys",
                grpc.StatusCode.INVALID_ARGUMENT,
                lambda: self.combine(ops, ns, intersect, ["x", "y"], [1.0, 1.0, 1.0]),
            )
            expect_status(
                f"{name} with a NaN weight",
                grpc.StatusCode.INVALID_ARGUMENT,
                lambda: self.combine(ops, ns, intersect, ["x", "y"], [1.0, math.nan]),
            )
