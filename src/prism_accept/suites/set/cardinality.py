"""set_cardinality: GetSize, IsMember (many members at once, answers in request order)."""

from __future__ import annotations

import grpc
import pytest

from prism.set.v1 import set_pb2 as pb
from prism.set.v1 import set_pb2_grpc as pb_grpc
from prism_accept.suites.base import InterfaceSuite, check, expect_status
from prism_accept.suites.requirements import requires
from prism_accept.suites.rows import AllRows
from prism_accept.suites.set.basic import LARGE, NEIGHBOURS, SetOps, batch_size, large_members

MEMBERS = [b"a", b"b", b"", b"\x00", b"\xff", b"ab"]


@requires.interface("set_basic")  # sets are built with Add
class SetCardinalityTests(InterfaceSuite):
    interface = "set_cardinality"

    @pytest.fixture
    def sets(self, plugin, namespace):
        return SetOps(pb_grpc.SetBasicStub(plugin.channel), namespace)

    @pytest.fixture
    def card(self, plugin):
        return pb_grpc.SetCardinalityStub(plugin.channel)

    @staticmethod
    def size(card, ns: str, name: str) -> int:
        return card.GetSize(pb.SetRequest(namespace=ns, set=name)).count

    @staticmethod
    def is_member(card, ns: str, name: str, members: list[bytes]) -> list[bool]:
        return list(card.IsMember(pb.MembersRequest(namespace=ns, set=name, members=members)).is_member)

    def test_sizes(self, card, sets):
        check("GetSize of a missing set", self.size(card, sets.ns, "s"), 0)
        sets.add("s", *MEMBERS)
        check(f"GetSize after adding {len(MEMBERS)} members", self.size(card, sets.ns, "s"), len(MEMBERS))
        sets.add("s", b"a", b"new")
        check("GetSize after adding one new and one old member", self.size(card, sets.ns, "s"), len(MEMBERS) + 1)
        sets.remove("s", b"a", b"b", b"missing")
        check("GetSize after removing two members", self.size(card, sets.ns, "s"), len(MEMBERS) - 1)
        sets.remove("s", *MEMBERS, b"new")
        check("GetSize after removing every member", self.size(card, sets.ns, "s"), 0)

    def test_batch_membership_in_request_order(self, card, sets):
        held = set(MEMBERS[::2])
        sets.add("s", *held)
        asked = [b"zz", *MEMBERS, b"a", b"\x00\x00", *reversed(MEMBERS)]
        check(f"IsMember{tuple(asked)}", self.is_member(card, sets.ns, "s", asked), [m in held for m in asked])

    def test_single_member(self, card, sets):
        sets.add("s", b"a")
        check("IsMember(a)", self.is_member(card, sets.ns, "s", [b"a"]), [True])
        check("IsMember(b)", self.is_member(card, sets.ns, "s", [b"b"]), [False])

    def test_batch_membership_of_a_missing_set(self, card, sets):
        check("IsMember on a missing set", self.is_member(card, sets.ns, "missing", MEMBERS), [False] * len(MEMBERS))

    def test_sets_and_namespaces_are_separate(self, card, sets, related):
        other = SetOps(sets.stub, related("-other"))
        sets.add("s", b"a")
        sets.add("s*", b"b", b"c")
        other.add("s", b"x", b"y", b"z")
        check("GetSize('s')", self.size(card, sets.ns, "s"), 1)
        check("GetSize('s*')", self.size(card, sets.ns, "s*"), 2)
        check("GetSize('s') in the other namespace", self.size(card, other.ns, "s"), 3)
        check("IsMember(a, b, x) on 's'", self.is_member(card, sets.ns, "s", [b"a", b"b", b"x"]), [True, False, False])

    def test_namespace_isolation_of_writes(self, card, sets, related):
        """Namespaces whose names extend each other (`ns`, `ns:`, `ns:set:s`...): Add and Remove
        in one change no other's size or membership."""
        others = [SetOps(sets.stub, related(suffix)) for suffix in NEIGHBOURS]
        for n, other in enumerate(others):
            other.add("s", *MEMBERS[: n + 2])
        sets.add("s", b"mine", b"a")
        sets.remove("s", b"a")
        with AllRows() as rows:
            for n, other in enumerate(others):
                rows.check(f"GetSize in {other.ns!r}", self.size(card, other.ns, "s"), n + 2)
                rows.check(f"IsMember(a, mine) in {other.ns!r}", self.is_member(card, other.ns, "s", [b"a", b"mine"]), [True, False])
                other.remove("s", b"a")
        check("GetSize in own namespace", self.size(card, sets.ns, "s"), 1)
        check("IsMember(a, b, mine) in own namespace", self.is_member(card, sets.ns, "s", [b"a", b"b", b"mine"]), [False, False, True])

    def test_read_after_write(self, card, sets):
        """GetSize and IsMember, a write, both again: an answer cached before the write got through."""
        held: set[bytes] = set()
        with AllRows() as rows:
            for write, member in (("Add", b"a"), ("Add", b"b"), ("Remove", b"a"), ("Add", b"a"), ("Remove", b"a"), ("Remove", b"b")):
                if write == "Add":
                    sets.add("s", member)
                    held.add(member)
                else:
                    sets.remove("s", member)
                    held.discard(member)
                rows.check(f"GetSize after {write}({member!r})", self.size(card, sets.ns, "s"), len(held))
                got = self.is_member(card, sets.ns, "s", [b"a", b"b"])
                rows.check(f"IsMember(a, b) after {write}({member!r})", got, [b"a" in held, b"b" in held])

    @requires.limit("max_batch_size")
    def test_a_large_set(self, card, sets, capabilities):
        """5,000 members: GetSize counts them all and IsMember finds each (asked with as many
        non-members), where a silent cap of 1,000 or one SSCAN page would not."""
        batch = batch_size(capabilities)
        members, strangers = large_members(), large_members(tag=b"x")
        sets.add_all("s", members, batch)
        check(f"GetSize of {LARGE} members", self.size(card, sets.ns, "s"), LARGE)
        asked = [m for pair in zip(members, strangers) for m in pair]
        answers = [a for i in range(0, len(asked), batch) for a in self.is_member(card, sets.ns, "s", asked[i : i + batch])]
        held = set(members)
        wrong = [m for m, a in zip(asked, answers) if a != (m in held)]
        check(f"IsMember of {LARGE} members and {LARGE} others: how many answers", len(answers), len(asked))
        check(f"IsMember of {LARGE} members and {LARGE} others: (how many wrong, the first)", (len(wrong), wrong[:3]), (0, []))
        sets.remove("s", *members[:batch])
        check(f"GetSize after removing {batch}", self.size(card, sets.ns, "s"), LARGE - batch)

    def test_invalid_arguments(self, card, sets):
        expect_status("IsMember with no members", grpc.StatusCode.INVALID_ARGUMENT, lambda: self.is_member(card, sets.ns, "s", []))
        expect_status("GetSize with an empty set name", grpc.StatusCode.INVALID_ARGUMENT, lambda: self.size(card, sets.ns, ""))
