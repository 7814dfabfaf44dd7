"""set_operations: Union, Intersection, Difference over several sets; a missing set is empty."""

from __future__ import annotations

from functools import reduce

import grpc
import pytest

from prism.set.v1 import set_pb2 as pb
from prism.set.v1 import set_pb2_grpc as pb_grpc
from prism_accept.suites.base import InterfaceSuite, check, expect_status
from prism_accept.suites.requirements import requires
from prism_accept.suites.rows import AllRows
from prism_accept.suites.set.basic import NEIGHBOURS, WILDCARD_NAMES, SetOps, batch_size, large_members

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
        with AllRows() as rows:
            for name, members in SETS.items():
                rows.check(f"GetMembers({name!r}) after the operations", sets.members(name), sorted(members))

    def test_namespace_isolation(self, algebra, sets, related):
        """Namespaces whose names extend each other (`ns`, `ns:`, `ns:set:s`...) hold sets of the same names."""
        with AllRows() as rows:
            for suffix in NEIGHBOURS:
                other = SetOps(sets.stub, related(suffix))
                other.add("a", b"theirs")
                other.add("z", b"only-there")
                for operation in REFERENCE:
                    self.expect(algebra, sets, operation, ["a", "z"])
                rows.check(f"Union(a, z) in {other.ns!r}", self.run(algebra, other.ns, "Union", ["a", "z"]), [b"only-there", b"theirs"])
                rows.check(f"Difference(a, b) in {other.ns!r}", self.run(algebra, other.ns, "Difference", ["a", "b"]), [b"theirs"])

    def test_names_with_wildcards_are_literal(self, algebra, sets):
        """A set named `a*` (or `a_`, `a%`...) is that set only, never the sets its name matches as a pattern."""
        with AllRows() as rows:
            for name in (n.replace("s", "a", 1) for n in WILDCARD_NAMES):
                sets.add(name, name.encode())
                rows.check(f"Union({name!r})", self.run(algebra, sets.ns, "Union", [name]), [name.encode()])
                rows.check(f"Intersection({name!r}, 'a')", self.run(algebra, sets.ns, "Intersection", [name, "a"]), [])
                rows.check(f"Difference('a', {name!r})", self.run(algebra, sets.ns, "Difference", ["a", name]), sorted(SETS["a"]))

    def test_read_after_write(self, algebra, sets):
        """Each operation, a write to its sets, the operation again: an answer cached before the write got through."""
        for operation in REFERENCE:
            self.expect(algebra, sets, operation, ["a", "b"])
        held = {n: set(SETS[n]) for n in ("a", "b")}
        with AllRows() as rows:
            for write, name, member in (("Remove", "a", b"3"), ("Add", "a", b"5"), ("Remove", "b", b"4"), ("Add", "b", b"1")):
                if write == "Add":
                    sets.add(name, member)
                    held[name].add(member)
                else:
                    sets.remove(name, member)
                    held[name].discard(member)
                want = {"Union": held["a"] | held["b"], "Intersection": held["a"] & held["b"], "Difference": held["a"] - held["b"]}
                for operation in REFERENCE:
                    what = f"{operation}(a, b) after {write}({name}, {member!r})"
                    rows.check(what, self.run(algebra, sets.ns, operation, ["a", "b"]), sorted(want[operation]))

    @requires.limit("max_batch_size")
    def test_large_operands_and_results(self, algebra, sets, capabilities):
        """10,000 members and the even 5,000 of them: every result holds 5,000 or more members,
        beyond a silent cap of 1,000 or one SSCAN page of each operand."""
        every = large_members(10_000)
        evens = every[::2]
        sets.add_all("every", every, batch_size(capabilities))
        sets.add_all("evens", evens, batch_size(capabilities))
        check("Union(evens, every)", self.run(algebra, sets.ns, "Union", ["evens", "every"]), sorted(every))
        check("Intersection(every, evens)", self.run(algebra, sets.ns, "Intersection", ["every", "evens"]), sorted(evens))
        check("Difference(every, evens)", self.run(algebra, sets.ns, "Difference", ["every", "evens"]), sorted(every[1::2]))

    def test_invalid_arguments(self, algebra, sets):
        for operation in REFERENCE:
            expect_status(f"{operation} of no sets", grpc.StatusCode.INVALID_ARGUMENT, lambda: self.run(algebra, sets.ns, operation, []))
            expect_status(
                f"{operation} with an empty set name",
                grpc.StatusCode.INVALID_ARGUMENT,
                lambda: self.run(algebra, sets.ns, operation, ["a", ""]),
            )
