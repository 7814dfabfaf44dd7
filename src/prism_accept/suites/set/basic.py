"""set_basic: Add, Remove, Contains, GetMembers."""

from __future__ import annotations

import grpc
import pytest

from prism.set.v1 import set_pb2 as pb
from prism.set.v1 import set_pb2_grpc as pb_grpc
from prism_accept.suites.base import InterfaceSuite, check, expect_status
from prism_accept.suites.requirements import requires
from prism_accept.suites.rows import AllRows

BINARY = [bytes([c]) for c in range(256)] + [b"", bytes(range(256))]
LARGE = 5_000  # members of a large set: beyond a silent cap of 1,000 and one SSCAN page
# Set names with glob and LIKE metacharacters, and the names they would match as patterns.
WILDCARD_NAMES = ["s*", "s_1", "s%1", "s?", "s[1]", "s\\", "s\\1"]
LOOK_ALIKES = ["s", "s1", "sx1", "s11", "s%", "s_", "s\\x", "s[1]x"]
# Namespaces next to the case's that a key encoding cut at ':' or built by plain joining merges with it.
NEIGHBOURS = ["-other", ":", ":set:s", ":set"]


def large_members(n: int = LARGE, tag: bytes = b"m") -> list[bytes]:
    """n distinct members, binary bytes included."""
    return [tag + i.to_bytes(3, "big") for i in range(n)]


def batch_size(capabilities) -> int:
    """Members per Add or IsMember: the declared max_batch_size, at most 1,000."""
    return min(1000, capabilities.limit("max_batch_size"))


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

    def add_all(self, name: str, members: list[bytes], batch: int) -> int:
        """Add in requests of `batch` members; the total of their counts."""
        return sum(self.add(name, *members[i : i + batch]) for i in range(0, len(members), batch))

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

    def test_unicode_and_nul_in_names(self, sets):
        """Names are UTF-8 strings: non-ASCII names and U+0000 inside a name are names of their own."""
        names = ["é", "e", "É", "e\u0301", "a\x00", "a\x00b", "a", "ab", "😀"]
        with AllRows() as rows:
            for name in names:
                rows.check(f"Add to {name!r}", sets.add(name, name.encode()), 1)
        with AllRows() as rows:
            for name in names:
                rows.check(f"GetMembers({name!r})", sets.members(name), [name.encode()])

    def test_namespace_isolation(self, sets, related):
        other = SetOps(sets.stub, related("-other"))
        sets.add("s", b"mine")
        other.add("s", b"theirs")
        check("GetMembers in the other namespace", other.members("s"), [b"theirs"])
        check("GetMembers in own namespace", sets.members("s"), [b"mine"])
        check("Contains(theirs) in own namespace", sets.contains("s", b"theirs"), False)

    def test_namespace_isolation_of_every_write(self, sets, related):
        """Same set names, same members in namespaces whose names extend each other (`ns`, `ns:`,
        `ns:set:s`...), under names that spell the rest of a neighbour's key (`:s`, `set:s`): Add
        and Remove of one (namespace, name) leave every other as it was."""
        everyone = [sets, *(SetOps(sets.stub, related(suffix)) for suffix in NEIGHBOURS)]
        names = ["s", ":s", "set:s", "s:s"]

        def own(ops: SetOps, name: str) -> bytes:
            return f"{ops.ns}/{name}".encode()

        with AllRows() as rows:
            for ops in everyone:
                for name in names:
                    rows.check(f"Add(shared, own) to {name!r} in {ops.ns!r}", ops.add(name, b"shared", own(ops, name)), 2)
        check("Remove(shared) from 's' in own namespace", sets.remove("s", b"shared"), 1)
        check("Remove(own member) from 's' in own namespace", sets.remove("s", own(sets, "s")), 1)
        with AllRows() as rows:
            for ops in everyone:
                for name in names:
                    want = [] if (ops, name) == (sets, "s") else sorted({b"shared", own(ops, name)})
                    rows.check(f"GetMembers({name!r}) in {ops.ns!r} after emptying 's' in {sets.ns!r}", ops.members(name), want)
                    rows.check(f"Contains(shared) of {name!r} in {ops.ns!r}", ops.contains(name, b"shared"), bool(want))
        for ops in everyone[1:]:
            ops.remove("s", b"shared", own(ops, "s"))
        check("Add(shared) to 's' in own namespace after the others emptied theirs", sets.add("s", b"shared"), 1)
        check("GetMembers('s') in own namespace", sets.members("s"), [b"shared"])

    def test_names_with_wildcards_are_literal(self, sets):
        """Emptying a set named `s*` (or `s_1`, `s%1`...) deletes that set only: a delete by
        glob or LIKE pattern would take the look-alike sets with it."""
        names = WILDCARD_NAMES + LOOK_ALIKES
        with AllRows() as rows:
            for name in names:
                rows.check(f"Add to {name!r}", sets.add(name, name.encode(), b"common"), 2)
        with AllRows() as rows:
            for name in WILDCARD_NAMES:
                rows.check(f"Remove every member of {name!r}", sets.remove(name, name.encode(), b"common"), 2)
        with AllRows() as rows:
            for name in names:
                want = [] if name in WILDCARD_NAMES else sorted({name.encode(), b"common"})
                rows.check(f"GetMembers({name!r}) after emptying {WILDCARD_NAMES}", sets.members(name), want)

    def test_read_after_write_through_every_read_path(self, sets):
        """Read, write, read again: a read answered from a view cached before the write got through."""

        def reads() -> tuple:
            return sets.members("s"), sets.contains("s", b"a"), sets.contains("s", b"b")

        check("GetMembers, Contains(a), Contains(b) of a missing set", reads(), ([], False, False))
        sets.add("s", b"a")
        check("GetMembers, Contains(a), Contains(b) after Add(a)", reads(), ([b"a"], True, False))
        sets.add("s", b"b")
        check("GetMembers, Contains(a), Contains(b) after Add(b)", reads(), ([b"a", b"b"], True, True))
        sets.remove("s", b"a")
        check("GetMembers, Contains(a), Contains(b) after Remove(a)", reads(), ([b"b"], False, True))
        sets.remove("s", b"b")
        check("GetMembers, Contains(a), Contains(b) after Remove(b)", reads(), ([], False, False))
        sets.add("s", b"a")
        check("GetMembers, Contains(a), Contains(b) after Add(a) again", reads(), ([b"a"], True, False))

    @requires.limit("max_batch_size")
    def test_a_large_set_is_read_whole(self, sets, capabilities):
        """GetMembers of 5,000 members answers all of them, before and after a Remove: a silent
        cap of 1,000 or one SSCAN page answered as the whole got through."""
        members = large_members()
        check(f"Add of {LARGE} members", sets.add_all("s", members, batch_size(capabilities)), LARGE)
        check(f"GetMembers of {LARGE} members", sets.members("s"), sorted(members))
        check("Contains(the first member added)", sets.contains("s", members[0]), True)
        check("Contains(the last member added)", sets.contains("s", members[-1]), True)
        gone = members[1::5]
        check(f"Remove of {len(gone)} members", sets.remove("s", *gone), len(gone))
        check(f"GetMembers after removing {len(gone)}", sets.members("s"), sorted(set(members) - set(gone)))

    @requires.interface("sortedset_basic")
    def test_a_sorted_set_of_the_same_name_is_separate(self, sets, plugin):
        """A sorted set under the same namespace and name is another model's data."""
        from prism.sortedset.v1 import sortedset_pb2, sortedset_pb2_grpc

        zsets = sortedset_pb2_grpc.SortedSetBasicStub(plugin.channel)
        zsets.Add(sortedset_pb2.AddRequest(namespace=sets.ns, key="s", members=[sortedset_pb2.ScoredMember(member=b"z", score=1.0)]))
        check("GetMembers of a set named like a sorted set", sets.members("s"), [])
        check("Add(a) to it", sets.add("s", b"a"), 1)
        check("GetMembers", sets.members("s"), [b"a"])

    def test_invalid_arguments(self, sets):
        expect_status("Add with no members", grpc.StatusCode.INVALID_ARGUMENT, lambda: sets.add("s"))
        expect_status("Remove with no members", grpc.StatusCode.INVALID_ARGUMENT, lambda: sets.remove("s"))
        expect_status("Add with an empty set name", grpc.StatusCode.INVALID_ARGUMENT, lambda: sets.add("", b"a"))
        expect_status("GetMembers with an empty namespace", grpc.StatusCode.INVALID_ARGUMENT, lambda: SetOps(sets.stub, "").members("s"))
        check("GetMembers after rejected calls", sets.members("s"), [])
