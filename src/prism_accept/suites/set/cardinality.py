"""set_cardinality: GetSize, IsMember (many members at once, answers in request order)."""

from __future__ import annotations

import grpc
import pytest

from prism.set.v1 import set_pb2 as pb
from prism.set.v1 import set_pb2_grpc as pb_grpc
from prism_accept.suites.base import InterfaceSuite, check, expect_status
from prism_accept.suites.requirements import requires
from prism_accept.suites.set.basic import SetOps

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

    def test_invalid_arguments(self, card, sets):
        expect_status("IsMember with no members", grpc.StatusCode.INVALID_ARGUMENT, lambda: self.is_member(card, sets.ns, "s", []))
        expect_status("GetSize with an empty set name", grpc.StatusCode.INVALID_ARGUMENT, lambda: self.size(card, sets.ns, ""))
