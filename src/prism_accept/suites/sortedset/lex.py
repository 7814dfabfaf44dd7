"""sortedset_lex: GetRangeByLex with "[x"/"(x" bounds and "-"/"+", for members of equal score,
with offset/limit and reverse."""

from __future__ import annotations

import grpc
import pytest

from prism.sortedset.v1 import sortedset_pb2 as pb
from prism.sortedset.v1 import sortedset_pb2_grpc as pb_grpc
from prism_accept.suites.base import InterfaceSuite, check, expect_status
from prism_accept.suites.requirements import requires
from prism_accept.suites.rows import AllRows
from prism_accept.suites.sortedset.basic import WHOLE, Scored, ZOps, check_members, pairs

MEMBERS = [b"b", b"\xff", b"aa", b"", b"a", b"ab", b"\x00", b"c", b"a\x00", b"B"]
SCORE = 0.0
REFERENCE = [(m, SCORE) for m in sorted(MEMBERS)]


def above(member: bytes, bound: bytes) -> bool:
    if bound in (b"-", b"+"):
        return bound == b"-"
    return member >= bound[1:] if bound[:1] == b"[" else member > bound[1:]


def below(member: bytes, bound: bytes) -> bool:
    if bound in (b"-", b"+"):
        return bound == b"+"
    return member <= bound[1:] if bound[:1] == b"[" else member < bound[1:]


def by_lex(low: bytes, high: bytes, offset: int = 0, limit: int = 0, reverse: bool = False, reference: Scored = REFERENCE) -> Scored:
    inside = [(m, s) for m, s in reference if above(m, low) and below(m, high)]
    if reverse:
        inside.reverse()
    return inside[offset : offset + limit] if limit else inside[offset:]


BOUNDS = [
    (b"-", b"+"),
    (b"[a", b"[b"),
    (b"(a", b"(b"),
    (b"[a", b"(b"),
    (b"(a", b"[b"),
    (b"-", b"(b"),
    (b"[b", b"+"),
    (b"[aa", b"[aa"),
    (b"(aa", b"[aa"),
    (b"[", b"+"),
    (b"(", b"+"),
    (b"-", b"[\x00"),
    (b"[\xff", b"+"),
    (b"(a", b"(a\x01"),
    (b"[c", b"[a"),
    (b"+", b"-"),
    (b"+", b"+"),
    (b"-", b"-"),
]


@requires.interface("sortedset_basic")  # sorted sets are built with Add
class SortedSetLexTests(InterfaceSuite):
    interface = "sortedset_lex"

    @pytest.fixture
    def zsets(self, plugin, namespace):
        ops = ZOps(pb_grpc.SortedSetBasicStub(plugin.channel), namespace)
        ops.add("z", *((m, SCORE) for m in MEMBERS))
        return ops

    @pytest.fixture
    def lex(self, plugin):
        return pb_grpc.SortedSetLexStub(plugin.channel)

    @staticmethod
    def get(lex, ns: str, key: str, low: bytes, high: bytes, **fields) -> Scored:
        return pairs(lex.GetRangeByLex(pb.GetRangeByLexRequest(namespace=ns, key=key, min=low, max=high, **fields)))

    def test_everything_between_minus_and_plus_in_byte_order(self, lex, zsets):
        check("GetRangeByLex(-, +)", self.get(lex, zsets.ns, "z", b"-", b"+"), REFERENCE)

    def test_inclusive_and_exclusive_bounds(self, lex, zsets):
        with AllRows() as rows:
            for low, high in BOUNDS:
                rows.check(f"GetRangeByLex({low!r}, {high!r})", self.get(lex, zsets.ns, "z", low, high), by_lex(low, high))

    def test_reverse(self, lex, zsets):
        with AllRows() as rows:
            for low, high in BOUNDS[:8]:
                got = self.get(lex, zsets.ns, "z", low, high, reverse=True)
                rows.check(f"GetRangeByLex({low!r}, {high!r}, reverse)", got, by_lex(low, high, reverse=True))

    def test_offset_and_limit(self, lex, zsets):
        n = len(MEMBERS)
        with AllRows() as rows:
            for offset, limit in ((0, 1), (2, 3), (3, 0), (n - 1, 5), (n, 1), (100, 0)):
                for reverse in (False, True):
                    got = self.get(lex, zsets.ns, "z", b"-", b"+", offset=offset, limit=limit, reverse=reverse)
                    rows.check(
                        f"GetRangeByLex(-, +, offset={offset}, limit={limit}, reverse={reverse})",
                        got,
                        by_lex(b"-", b"+", offset, limit, reverse),
                    )
        got = self.get(lex, zsets.ns, "z", b"(a", b"[c", offset=1, limit=2)
        check("GetRangeByLex((a, [c, offset=1, limit=2)", got, by_lex(b"(a", b"[c", 1, 2))

    def test_offset_and_limit_around_the_size(self, lex, zsets):
        """Offsets at 0, 1, size - 1, size, size + 1 and int64's maximum (and around the count
        inside the bounds), with limits 0, 1, size and int64's maximum: "-".."+" forward and
        reverse, and between bounds. An offset past the end is empty, never the last member."""
        n = len(MEMBERS)
        with AllRows() as rows:
            for low, high, reverse in ((b"-", b"+", False), (b"-", b"+", True), (b"(a", b"[c", False)):
                inside = len(by_lex(low, high))
                for offset in sorted({0, 1, n - 1, n, n + 1, 2**63 - 1, inside - 1, inside, inside + 1}):
                    for limit in (0, 1, n, 2**63 - 1):
                        got = self.get(lex, zsets.ns, "z", low, high, offset=offset, limit=limit, reverse=reverse)
                        want = by_lex(low, high, offset, limit, reverse)
                        rows.check(f"GetRangeByLex({low!r}, {high!r}, offset={offset}, limit={limit}, reverse={reverse})", got, want)

    @requires.limit("max_batch_size")
    def test_whole_ranges_of_5000_members(self, lex, zsets, capabilities):
        """The range "-".."+" and wide bounds without a limit answer every member, not a capped count or a
        first page."""
        members = [b"m%05d" % ((i * 7919) % WHOLE) for i in range(WHOLE)]
        zsets.add_batched("big", [(m, SCORE) for m in members], min(1000, capabilities.limit("max_batch_size")))
        want = [(m, SCORE) for m in sorted(members)]
        ns = zsets.ns
        check_members(f"GetRangeByLex(-, +) of {WHOLE} members", self.get(lex, ns, "big", b"-", b"+"), want)
        got = self.get(lex, ns, "big", b"(m00100", b"[m04900", offset=200)
        check_members(f"GetRangeByLex((m00100, [m04900, offset=200) of {WHOLE}", got, by_lex(b"(m00100", b"[m04900", 200, 0, False, want))
        got = self.get(lex, ns, "big", b"[m00000", b"+", offset=1, reverse=True)
        check_members(f"GetRangeByLex([m00000, +, offset=1, reverse) of {WHOLE}", got, by_lex(b"[m00000", b"+", 1, 0, True, want))

    def test_reads_follow_adds_and_removals(self, lex, zsets):
        """Read, add members, read, remove members, read: a cached view answers the old members."""
        held = set(MEMBERS)
        with AllRows() as rows:
            for add, remove in (([b"ac", b"\x00\x00"], []), ([], [b"a", b"\xff"]), ([b"a"], [b"ac", b""])):
                if add:
                    zsets.add("z", *((m, SCORE) for m in add))
                if remove:
                    zsets.remove("z", *remove)
                held = (held | set(add)) - set(remove)
                reference = [(m, SCORE) for m in sorted(held)]
                for low, high in ((b"-", b"+"), (b"[a", b"(b")):
                    for reverse in (False, True):
                        got = self.get(lex, zsets.ns, "z", low, high, reverse=reverse)
                        want = by_lex(low, high, 0, 0, reverse, reference)
                        rows.check(f"GetRangeByLex({low!r}, {high!r}, reverse={reverse}) after +{add} -{remove}", got, want)

    def test_a_missing_key_is_empty(self, lex, zsets):
        check("GetRangeByLex(-, +) of a missing key", self.get(lex, zsets.ns, "missing", b"-", b"+"), [])

    def test_namespace_isolation(self, lex, zsets, related):
        other = ZOps(zsets.stub, related("-other"))
        other.add("z", (b"theirs", SCORE))
        check("GetRangeByLex(-, +) in the other namespace", self.get(lex, other.ns, "z", b"-", b"+"), [(b"theirs", SCORE)])

    def test_malformed_bounds_are_invalid(self, lex, zsets):
        for low, high in ((b"a", b"+"), (b"-", b"b"), (b"", b"+"), (b"-", b""), (b"*", b"+"), (b"--", b"+")):
            expect_status(
                f"GetRangeByLex({low!r}, {high!r})", grpc.StatusCode.INVALID_ARGUMENT, lambda: self.get(lex, zsets.ns, "z", low, high)
            )
        for field in ("offset", "limit"):
            expect_status(
                f"GetRangeByLex with {field} -1",
                grpc.StatusCode.INVALID_ARGUMENT,
                lambda: self.get(lex, zsets.ns, "z", b"-", b"+", **{field: -1}),
            )
