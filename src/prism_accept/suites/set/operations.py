"""set_operations: Union, Intersection, Difference over several sets; a missing set is empty."""

from __future__ import annotations

from functools import reduce

import grpc
import pytest

from prism.set.v1 import set_pb2 as pb
from prism.set.v1 import set_pb2_grpc as pb_grpc
from prism_accept.suites.base import InterfaceSuite, check, expect_status
from prism_accept.suites.requirements import requires
from prism_accept.suites.set.basic import SetOps

SETS = {
    "a": {b"1", b"2", b"3", b"4", b"", b"\xff"},
    "b": {b"3", b"4", b"5", b"", b"\x00"},
    "c": {b"4", b"6", b"", b"\xff"},
}


def union(names: list[str]) -> set[bytes]:
    return set().union(*(SETS.get(n, set()) for n in names))


def intersection(names: list[str]) -> set[bytes]:
    return reduce(lambda acc, n: acc & SETS.get(n, set()), names[1:], set(SETS.get(names[0], set())))


def difference(names: list[str]) -> set[bytes]:
    return reduce(lambda acc, n: acc - SETS.get(n, set()), names[1:], set(SETS.get(names[0], set())))


REFERENCE = {"Union": union, "Intersection": intersection, "Difference": difference}


@requires.interface("set_basic")  # sets are built with Add
class SetOperationsTests(InterfaceSuite):
    interface = "set_operations"

    @pytest.fixture
    def sets(self, plugin, namespace):
        ops = SetOps(pb_grpc.SetBasicStub(plugin.channel), namespace)
        for name, members in SETS.items():
            ops.add(name, *members)
        return ops

    @pytest.fixture
    def algebra(self, plugin):
        return pb_grpc.SetOperationsStub(plugin.channel)

    @staticmethod
    def run(algebra, ns: str, operation: str, names: list[str]) -> list[bytes]:
        return sorted(getattr(algebra, operation)(pb.SetsRequest(namespace=ns, sets=names)).members)

    def expect(self, algebra, sets, operation: str, names: list[str]) -> None:
        check(f"{operation}{tuple(names)}", self.run(algebra, sets.ns, operation, names), sorted(REFERENCE[operation](names)))

    def test_union(self, algebra, sets):
        for names in (["a", "b"], ["a", "b", "c"], ["c", "a"]):
            self.expect(algebra, sets, "Union", names)

    def test_intersection(self, algebra, sets):
        for names in (["a", "b"], ["a", "b", "c"], ["b", "c"]):
            self.expect(algebra, sets, "Intersection", names)

    def test_difference_is_the_first_minus_every_other(self, algebra, sets):
        for names in (["a", "b"], ["b", "a"], ["a", "b", "c"], ["c", "a"]):
            self.expect(algebra, sets, "Difference", names)

    def test_a_single_set(self, algebra, sets):
        for operation in REFERENCE:
            self.expect(algebra, sets, operation, ["a"])

    def test_a_set_with_itself(self, algebra, sets):
        for operation in REFERENCE:
            self.expect(algebra, sets, operation, ["a", "a"])

    def test_a_missing_set_is_empty(self, algebra, sets):
        for operation in REFERENCE:
            for names in (["a", "missing"], ["missing", "a"], ["a", "missing", "b"], ["missing"], ["missing", "other-missing"]):
                self.expect(algebra, sets, operation, names)

    def test_operations_leave_their_sets_unchanged(self, algebra, sets):
        for operation in REFERENCE:
            self.run(algebra, sets.ns, operation, ["a", "b", "c"])
        for name, members in SETS.items():
            check(f"GetMembers({name!r}) after the operations", sets.members(name), sorted(members))

    def test_namespace_isolation(self, algebra, sets, related):
        other = SetOps(sets.stub, related("-other"))
        other.add("a", b"theirs")
        other.add("z", b"only-there")
        self.expect(algebra, sets, "Union", ["a", "z"])
        check("Union(a, z) in the other namespace", self.run(algebra, other.ns, "Union", ["a", "z"]), [b"only-there", b"theirs"])

    def test_invalid_arguments(self, algebra, sets):
        for operation in REFERENCE:
            expect_status(f"{operation} of no sets", grpc.StatusCode.INVALID_ARGUMENT, lambda: self.run(algebra, sets.ns, operation, []))
            expect_status(
                f"{operation} with an empty set name",
                grpc.StatusCode.INVALID_ARGUMENT,
                lambda: self.run(algebra, sets.ns, operation, ["a", ""]),
            )
