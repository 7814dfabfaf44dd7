"""set_basic: Add, Remove, Contains, GetMembers."""

from __future__ import annotations

import grpc
import pytest

from prism.set.v1 import set_pb2 as pb
from prism.set.v1 import set_pb2_grpc as pb_grpc
from prism_accept.suites.base import InterfaceSuite, check, expect_status

BINARY = [bytes([c]) for c in range(256)] + [b"", bytes(range(256))]


class SetOps:
    """The set_basic calls, for readable cases (other set suites use it to set up state)."""

    def __init__(self, stub, ns: str):
        self.stub = stub
        self.ns = ns

    def add(self, name: str, *members: bytes) -> int:
        return self.stub.Add(pb.MembersRequest(namespace=self.ns, set=name, members=members)).count

    def remove(self, name: str, *members: bytes) -> int:
        return self.stub.Remove(pb.MembersRequest(namespace=self.ns, set=name, members=members)).count

    def contains(self, name: str, member: bytes) -> bool:
        return self.stub.Contains(pb.ContainsRequest(namespace=self.ns, set=name, member=member)).contains

    def members(self, name: str) -> list[bytes]:
        """Sorted, duplicates kept: compare with sorted(a Python set) to catch duplicates too."""
        return sorted(self.stub.GetMembers(pb.SetRequest(namespace=self.ns, set=name)).members)


class SetBasicTests(InterfaceSuite):
    interface = "set_basic"

    @pytest.fixture
    def sets(self, plugin, namespace):
        return SetOps(pb_grpc.SetBasicStub(plugin.channel), namespace)

    def test_add_counts_new_members(self, sets):
        check("Add(a, b, c)", sets.add("s", b"a", b"b", b"c"), 3)
        check("Add(b, c, d) to {a, b, c}", sets.add("s", b"b", b"c", b"d"), 1)
        check("Add(a) to {a, b, c, d}", sets.add("s", b"a"), 0)
        check("GetMembers", sets.members("s"), sorted({b"a", b"b", b"c", b"d"}))

    def test_duplicates_in_one_request_count_once(self, sets):
        check("Add(a, a, b, a)", sets.add("s", b"a", b"a", b"b", b"a"), 2)
        check("GetMembers", sets.members("s"), [b"a", b"b"])

    def test_remove_counts_members_that_were_there(self, sets):
        sets.add("s", b"a", b"b", b"c")
        check("Remove(b, x, b) from {a, b, c}", sets.remove("s", b"b", b"x", b"b"), 1)
        check("Remove(x) from {a, c}", sets.remove("s", b"x"), 0)
        check("Remove(b) again", sets.remove("s", b"b"), 0)
        check("GetMembers after removals", sets.members("s"), [b"a", b"c"])

    def test_contains(self, sets):
        sets.add("s", b"a", b"b")
        check("Contains(a)", sets.contains("s", b"a"), True)
        check("Contains(c)", sets.contains("s", b"c"), False)
        check("Contains(A): members are case-sensitive bytes", sets.contains("s", b"A"), False)
        sets.remove("s", b"a")
        check("Contains(a) after Remove(a)", sets.contains("s", b"a"), False)

    def test_missing_set_is_empty(self, sets):
        check("GetMembers of a missing set", sets.members("missing"), [])
        check("Contains on a missing set", sets.contains("missing", b"a"), False)
        check("Remove from a missing set", sets.remove("missing", b"a"), 0)
        check("GetMembers after Remove from a missing set", sets.members("missing"), [])

    def test_a_set_emptied_by_removals_no_longer_exists(self, sets):
        sets.add("s", b"a", b"b")
        check("Remove(a, b)", sets.remove("s", b"a", b"b"), 2)
        check("GetMembers of the emptied set", sets.members("s"), [])
        check("Add(a) to the emptied set", sets.add("s", b"a"), 1)
        check("GetMembers", sets.members("s"), [b"a"])

    def test_binary_and_empty_members(self, sets):
        check("Contains(b'') before adding it", sets.contains("s", b""), False)
        check(f"Add of {len(BINARY)} binary members", sets.add("s", *BINARY), len(BINARY))
        check("GetMembers of binary members", sets.members("s"), sorted(BINARY))
        check("Contains(b'')", sets.contains("s", b""), True)
        check("Contains(b'\\x00')", sets.contains("s", b"\x00"), True)
        check("Contains(b'\\x00\\x00')", sets.contains("s", b"\x00\x00"), False)

    def test_sets_are_separate(self, sets):
        sets.add("a", b"1")
        sets.add("a*", b"2")
        sets.add("a b", b"3")
        check("GetMembers('a')", sets.members("a"), [b"1"])
        check("GetMembers('a*')", sets.members("a*"), [b"2"])
        check("GetMembers('a b')", sets.members("a b"), [b"3"])
        check("GetMembers('b')", sets.members("b"), [])

    def test_namespace_isolation(self, sets, related):
        other = SetOps(sets.stub, related("-other"))
        sets.add("s", b"mine")
        other.add("s", b"theirs")
        check("GetMembers in the other namespace", other.members("s"), [b"theirs"])
        check("GetMembers in own namespace", sets.members("s"), [b"mine"])
        check("Contains(theirs) in own namespace", sets.contains("s", b"theirs"), False)

    def test_invalid_arguments(self, sets):
        expect_status("Add with no members", grpc.StatusCode.INVALID_ARGUMENT, lambda: sets.add("s"))
        expect_status("Remove with no members", grpc.StatusCode.INVALID_ARGUMENT, lambda: sets.remove("s"))
        expect_status("Add with an empty set name", grpc.StatusCode.INVALID_ARGUMENT, lambda: sets.add("", b"a"))
        expect_status("GetMembers with an empty namespace", grpc.StatusCode.INVALID_ARGUMENT, lambda: SetOps(sets.stub, "").members("s"))
        check("GetMembers after rejected calls", sets.members("s"), [])
