"""set_random: GetRandomMember(count), PopRandomMember(count): members from the set, distinct,
min(count, size) of them; a pop removes exactly those it returns."""

from __future__ import annotations

import grpc
import pytest

from prism.set.v1 import set_pb2 as pb
from prism.set.v1 import set_pb2_grpc as pb_grpc
from prism_accept.suites.base import InterfaceSuite, check, expect_status
from prism_accept.suites.requirements import requires
from prism_accept.suites.set.basic import SetOps

MEMBERS = {b"a", b"b", b"c", b"d", b"e", b"", b"\x00", b"\xff"}
DRAWS = 40  # single draws of 8 members all alike by chance: 8 * (1/8)**40


def well_formed(operation: str, got: list[bytes], pool: set[bytes], count: int) -> None:
    """Distinct members of the pool, min(count, len(pool)) of them."""
    check(f"{operation}: members outside the set", sorted(set(got) - pool), [])
    check(f"{operation}: repeated members", sorted(m for m in set(got) if got.count(m) > 1), [])
    check(f"{operation}: how many", len(got), min(count, len(pool)))


@requires.interface("set_basic")  # sets are built with Add and read with GetMembers
class SetRandomTests(InterfaceSuite):
    interface = "set_random"

    @pytest.fixture
    def sets(self, plugin, namespace):
        ops = SetOps(pb_grpc.SetBasicStub(plugin.channel), namespace)
        ops.add("s", *MEMBERS)
        return ops

    @pytest.fixture
    def rnd(self, plugin):
        return pb_grpc.SetRandomStub(plugin.channel)

    @staticmethod
    def get(rnd, ns: str, name: str, count: int) -> list[bytes]:
        return list(rnd.GetRandomMember(pb.RandomRequest(namespace=ns, set=name, count=count)).members)

    @staticmethod
    def pop(rnd, ns: str, name: str, count: int) -> list[bytes]:
        return list(rnd.PopRandomMember(pb.RandomRequest(namespace=ns, set=name, count=count)).members)

    def test_random_members_come_from_the_set_and_are_distinct(self, rnd, sets):
        for count in (1, 3, len(MEMBERS) - 1, len(MEMBERS)):
            well_formed(f"GetRandomMember({count})", self.get(rnd, sets.ns, "s", count), MEMBERS, count)
        check("GetMembers after GetRandomMember", sets.members("s"), sorted(MEMBERS))

    def test_count_larger_than_the_set_returns_all(self, rnd, sets):
        check("GetRandomMember(100) of 8", sorted(self.get(rnd, sets.ns, "s", 100)), sorted(MEMBERS))
        check("GetRandomMember(2**62) of 8", sorted(self.get(rnd, sets.ns, "s", 2**62)), sorted(MEMBERS))

    def test_random_members_vary(self, rnd, sets):
        seen = {m for _ in range(DRAWS) for m in self.get(rnd, sets.ns, "s", 1)}
        well_formed(f"members of {DRAWS} GetRandomMember(1)", sorted(seen), MEMBERS, len(seen))
        if len(seen) < 2:
            raise AssertionError(f"{DRAWS} GetRandomMember(1) calls: got only {sorted(seen)}, want more than one member")

    def test_pop_removes_exactly_those_returned(self, rnd, sets):
        left = set(MEMBERS)
        for count in (1, 3):
            popped = self.pop(rnd, sets.ns, "s", count)
            well_formed(f"PopRandomMember({count})", popped, left, count)
            left -= set(popped)
            check(f"GetMembers after PopRandomMember({count}) returned {sorted(popped)}", sets.members("s"), sorted(left))

    def test_pop_more_than_the_set_empties_it(self, rnd, sets):
        check("PopRandomMember(100) of 8", sorted(self.pop(rnd, sets.ns, "s", 100)), sorted(MEMBERS))
        check("GetMembers after popping every member", sets.members("s"), [])
        check("PopRandomMember of the emptied set", self.pop(rnd, sets.ns, "s", 1), [])
        check("Add(a) to the emptied set", sets.add("s", b"a"), 1)

    def test_a_missing_set_has_no_random_members(self, rnd, sets):
        check("GetRandomMember(3) of a missing set", self.get(rnd, sets.ns, "missing", 3), [])
        check("PopRandomMember(3) of a missing set", self.pop(rnd, sets.ns, "missing", 3), [])
        check("GetMembers of the missing set afterwards", sets.members("missing"), [])

    def test_namespace_isolation(self, rnd, sets, related):
        other = SetOps(sets.stub, related("-other"))
        other.add("s", b"theirs")
        check("PopRandomMember(100) in the other namespace", self.pop(rnd, other.ns, "s", 100), [b"theirs"])
        check("GetMembers in own namespace", sets.members("s"), sorted(MEMBERS))

    def test_count_must_be_positive(self, rnd, sets):
        for count in (0, -1):
            expect_status(f"GetRandomMember({count})", grpc.StatusCode.INVALID_ARGUMENT, lambda: self.get(rnd, sets.ns, "s", count))
            expect_status(f"PopRandomMember({count})", grpc.StatusCode.INVALID_ARGUMENT, lambda: self.pop(rnd, sets.ns, "s", count))
        check("GetMembers after rejected pops", sets.members("s"), sorted(MEMBERS))
