"""set_random: GetRandomMember(count), PopRandomMember(count): members from the set, distinct,
min(count, size) of them; a pop removes exactly those it returns."""

from __future__ import annotations

from collections import Counter

import grpc
import pytest

from prism.set.v1 import set_pb2 as pb
from prism.set.v1 import set_pb2_grpc as pb_grpc
from prism_accept.suites.base import InterfaceSuite, check, expect_status
from prism_accept.suites.requirements import requires
from prism_accept.suites.rows import AllRows
from prism_accept.suites.set.basic import LARGE, NEIGHBOURS, SetOps, batch_size, large_members

MEMBERS = {b"a", b"b", b"c", b"d", b"e", b"", b"\x00", b"\xff"}
DRAWS = 40  # single draws of 8 members all alike by chance: 8 * (1/8)**40
POOL = [b"", b"p", b"\xff"]  # 3 members: count 1 and count 2 each leave some out
POOL_DRAWS = 60  # see test_every_member_is_drawn_and_left_out for the bound


def well_formed(operation: str, got: list[bytes], pool: set[bytes], count: int) -> None:
    """Distinct members of the pool, min(count, len(pool)) of them."""
    check(f"{operation}: members outside the set", sorted(set(got) - pool), [])
    check(f"{operation}: repeated members", sorted(m for m, n in Counter(got).items() if n > 1), [])
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

    def draws(self, rnd, sets, operation: str, count: int) -> list[list[bytes]]:
        """POOL_DRAWS draws of `count` from a set holding POOL; a pop's members are added back after it."""
        sets.add("pool", *POOL)
        got = []
        for _ in range(POOL_DRAWS):
            if operation == "GetRandomMember":
                drawn = self.get(rnd, sets.ns, "pool", count)
            else:
                drawn = self.pop(rnd, sets.ns, "pool", count)
                if drawn:
                    sets.add("pool", *drawn)
            well_formed(f"{operation}({count}) of {len(POOL)}", drawn, set(POOL), count)
            got.append(drawn)
        return got

    def test_every_member_is_drawn_and_left_out(self, rnd, sets):
        """Over POOL_DRAWS = 60 draws of count 1 and of count 2 from 3 members, every member is
        drawn at least once and left out at least once: a pick that never varies, or whose index
        range misses the first or the last member, fails. For a correct plugin (a uniform choice
        of `count` of 3) one member is never drawn with probability (1 - count/3)**60 and always
        drawn with (count/3)**60; over 3 members, both counts and both RPCs the false-failure
        bound is 2 * 2 * 3 * ((2/3)**60 + (1/3)**60) = 3.3e-10 < 1e-9."""
        with AllRows() as rows:
            for operation in ("GetRandomMember", "PopRandomMember"):
                for count in (1, 2):
                    got = self.draws(rnd, sets, operation, count)
                    never = [m for m in POOL if all(m not in drawn for drawn in got)]
                    always = [m for m in POOL if all(m in drawn for drawn in got)]
                    rows.check(f"members of {POOL} never drawn by {POOL_DRAWS} {operation}({count})", never, [])
                    rows.check(f"members of {POOL} drawn by every one of {POOL_DRAWS} {operation}({count})", always, [])
        check("GetMembers after the draws and the pops put back", sorted(sets.members("pool")), sorted(POOL))

    @requires.limit("max_batch_size")
    def test_count_larger_than_a_large_set_returns_all(self, rnd, sets, capabilities):
        """5,000 members: a count beyond them answers the whole set, where a sample from a silent
        cap of 1,000 or from one SSCAN page would not."""
        members = large_members()
        sets.add_all("large", members, batch_size(capabilities))
        check(f"GetRandomMember(2**62) of {LARGE}", sorted(self.get(rnd, sets.ns, "large", 2**62)), sorted(members))
        half = self.get(rnd, sets.ns, "large", LARGE // 2)
        well_formed(f"GetRandomMember({LARGE // 2}) of {LARGE}", half, set(members), LARGE // 2)
        popped = self.pop(rnd, sets.ns, "large", LARGE - 1)
        well_formed(f"PopRandomMember({LARGE - 1}) of {LARGE}", popped, set(members), LARGE - 1)
        left = sorted(set(members) - set(popped))
        check(f"GetMembers after PopRandomMember({LARGE - 1})", sets.members("large"), left)
        check("PopRandomMember(2**62) of the one left", self.pop(rnd, sets.ns, "large", 2**62), left)
        check("GetMembers after popping every member", sets.members("large"), [])

    def test_read_after_write(self, rnd, sets):
        """Random members after each Add and Remove come from the set as it is now, not as it was."""
        held = set(MEMBERS)
        check("GetRandomMember(100) before the writes", sorted(self.get(rnd, sets.ns, "s", 100)), sorted(held))
        with AllRows() as rows:
            for write, member in (("Remove", b"a"), ("Add", b"new"), ("Remove", b""), ("Add", b"a")):
                if write == "Add":
                    sets.add("s", member)
                    held.add(member)
                else:
                    sets.remove("s", member)
                    held.discard(member)
                rows.check(f"GetRandomMember(100) after {write}({member!r})", sorted(self.get(rnd, sets.ns, "s", 100)), sorted(held))
        check("PopRandomMember(100) after the writes", sorted(self.pop(rnd, sets.ns, "s", 100)), sorted(held))
        check("GetRandomMember(100) after popping every member", self.get(rnd, sets.ns, "s", 100), [])

    def test_pop_removes_exactly_those_returned(self, rnd, sets):
        left = set(MEMBERS)
        with AllRows() as rows:
            for count in (1, 3):
                popped = self.pop(rnd, sets.ns, "s", count)
                well_formed(f"PopRandomMember({count})", popped, left, count)
                left -= set(popped)
                rows.check(f"GetMembers after PopRandomMember({count}) returned {sorted(popped)}", sets.members("s"), sorted(left))

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

    def test_namespace_isolation_of_pops(self, rnd, sets, related):
        """The same members under the same name in namespaces whose names extend each other
        (`ns`, `ns:`, `ns:set:s`...): a pop in one takes from that one only."""
        others = [SetOps(sets.stub, related(suffix)) for suffix in NEIGHBOURS]
        for other in others:
            other.add("s", *MEMBERS)
        popped = self.pop(rnd, sets.ns, "s", 3)
        well_formed("PopRandomMember(3) in own namespace", popped, MEMBERS, 3)
        with AllRows() as rows:
            for other in others:
                rows.check(f"GetMembers in {other.ns!r} after a pop in own namespace", other.members("s"), sorted(MEMBERS))
                rows.check(f"PopRandomMember(100) in {other.ns!r}", sorted(self.pop(rnd, other.ns, "s", 100)), sorted(MEMBERS))
        check("GetMembers in own namespace after the others' pops", sets.members("s"), sorted(MEMBERS - set(popped)))

    def test_count_must_be_positive(self, rnd, sets):
        """count <= 0 is INVALID_ARGUMENT (proto: count must be > 0), negative ones too: never
        Redis's negative count, which draws with repeats."""
        for count in (0, -1, -2, -len(MEMBERS), -(2**63)):
            expect_status(f"GetRandomMember({count})", grpc.StatusCode.INVALID_ARGUMENT, lambda: self.get(rnd, sets.ns, "s", count))
            expect_status(f"PopRandomMember({count})", grpc.StatusCode.INVALID_ARGUMENT, lambda: self.pop(rnd, sets.ns, "s", count))
        check("GetMembers after rejected pops", sets.members("s"), sorted(MEMBERS))
