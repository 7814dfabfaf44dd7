"""sortedset_rank: GetRank, GetReverseRank; a missing member is found=false, distinct from
rank 0."""

from __future__ import annotations

import grpc
import pytest

from prism.sortedset.v1 import sortedset_pb2 as pb
from prism.sortedset.v1 import sortedset_pb2_grpc as pb_grpc
from prism_accept.suites.base import InterfaceSuite, check, expect_status
from prism_accept.suites.requirements import requires
from prism_accept.suites.rows import AllRows
from prism_accept.suites.sortedset.basic import NAMES, WHOLE, ZOps, many, ordered

ITEMS = [(b"\xff", 1.0), (b"a", 1.0), (b"\x00", 1.0), (b"b", -2.0), (b"c", 7.0), (b"", 1.0), (b"d", 0.5)]


@requires.interface("sortedset_basic")  # sorted sets are built with Add
class SortedSetRankTests(InterfaceSuite):
    interface = "sortedset_rank"

    @pytest.fixture
    def zsets(self, plugin, namespace):
        ops = ZOps(pb_grpc.SortedSetBasicStub(plugin.channel), namespace)
        ops.add("z", *ITEMS)
        return ops

    @pytest.fixture
    def ranks(self, plugin):
        return pb_grpc.SortedSetRankStub(plugin.channel)

    @staticmethod
    def rank(ranks, ns: str, key: str, member: bytes, reverse: bool = False) -> tuple[bool, int]:
        call = ranks.GetReverseRank if reverse else ranks.GetRank
        r = call(pb.RankRequest(namespace=ns, key=key, member=member))
        return r.found, r.rank

    def test_rank_of_every_member(self, ranks, zsets):
        with AllRows() as rows:
            for i, (member, _) in enumerate(ordered(ITEMS)):
                rows.check(f"GetRank({member!r}): (found, rank)", self.rank(ranks, zsets.ns, "z", member), (True, i))

    def test_reverse_rank_of_every_member(self, ranks, zsets):
        with AllRows() as rows:
            for i, (member, _) in enumerate(ordered(ITEMS)):
                got = self.rank(ranks, zsets.ns, "z", member, reverse=True)
                rows.check(f"GetReverseRank({member!r}): (found, rank)", got, (True, len(ITEMS) - 1 - i))

    def test_equal_scores_rank_by_member_bytes(self, ranks, zsets):
        tied = [b"\xff", b"a", b"", b"\x00"]  # all of score 1
        order = [m for m, _ in ordered(ITEMS)]
        got = [self.rank(ranks, zsets.ns, "z", m)[1] for m in tied]
        check(f"GetRank of {tied} (score 1 each)", got, [order.index(m) for m in tied])
        check("those ranks in byte order of the members", sorted(tied, key=lambda m: got[tied.index(m)]), sorted(tied))

    def test_missing_member_is_distinct_from_rank_0(self, ranks, zsets):
        first = ordered(ITEMS)[0][0]
        check("GetRank of the lowest member", self.rank(ranks, zsets.ns, "z", first), (True, 0))
        check("GetReverseRank of the highest member", self.rank(ranks, zsets.ns, "z", ordered(ITEMS)[-1][0], True), (True, 0))
        with AllRows() as rows:
            for reverse in (False, True):
                name = "GetReverseRank" if reverse else "GetRank"
                rows.check(f"{name} of a missing member: found", self.rank(ranks, zsets.ns, "z", b"missing", reverse)[0], False)
                rows.check(f"{name} on a missing key: found", self.rank(ranks, zsets.ns, "missing", first, reverse)[0], False)

    def test_rank_follows_score_updates_and_removals(self, ranks, zsets):
        zsets.add("z", (b"b", 100.0))
        items = dict(ITEMS) | {b"b": 100.0}
        check("GetRank(b) after its score rose to the top", self.rank(ranks, zsets.ns, "z", b"b"), (True, len(items) - 1))
        zsets.remove("z", b"d")
        del items[b"d"]
        with AllRows() as rows:
            for i, (member, _) in enumerate(ordered(items.items())):
                rows.check(f"GetRank({member!r}) after Remove(d)", self.rank(ranks, zsets.ns, "z", member), (True, i))
        check("GetRank(d) after Remove(d): found", self.rank(ranks, zsets.ns, "z", b"d")[0], False)

    def test_reverse_rank_follows_score_updates(self, ranks, zsets):
        """Score updates only (the member count stays): both ranks of every member after each."""
        items = dict(ITEMS)
        with AllRows() as rows:
            for updates in ([(b"c", -5.0), (b"\xff", 0.5)], [(b"a", 0.5), (b"c", 9.0), (b"", 2.0)]):
                zsets.add("z", *updates)
                items.update(updates)
                order = [m for m, _ in ordered(items.items())]
                for i, member in enumerate(order):
                    rows.check(f"GetRank({member!r}) after {updates}", self.rank(ranks, zsets.ns, "z", member), (True, i))
                    got = self.rank(ranks, zsets.ns, "z", member, reverse=True)
                    rows.check(f"GetReverseRank({member!r}) after {updates}", got, (True, len(order) - 1 - i))

    @requires.limit("max_batch_size")
    def test_ranks_in_5000_members(self, ranks, zsets, capabilities):
        """Ranks near both ends and past any first page (1,000) of a large sorted set with ties."""
        items = many()
        zsets.add_batched("big", items, min(1000, capabilities.limit("max_batch_size")))
        order = [m for m, _ in ordered(items)]
        with AllRows() as rows:
            for i in sorted({0, 1, 999, 1000, 1001, 2500, 4095, 4096, WHOLE - 2, WHOLE - 1} | set(range(0, WHOLE, 613))):
                rows.check(f"GetRank({order[i]!r}) of {WHOLE}", self.rank(ranks, zsets.ns, "big", order[i]), (True, i))
                rows.check(
                    f"GetReverseRank({order[i]!r}) of {WHOLE}", self.rank(ranks, zsets.ns, "big", order[i], True), (True, WHOLE - 1 - i)
                )

    def test_keys_with_like_and_glob_characters_are_distinct(self, ranks, zsets):
        """Keys that match each other as LIKE or glob patterns hold different counts of members."""
        names = ["n" + name for name in NAMES]
        for i, key in enumerate(names):
            zsets.add(key, *((bytes([65 + j]), 0.0) for j in range(i + 1)))  # key i holds i + 1 members A, B, ...
        with AllRows() as rows:
            for i, key in enumerate(names):
                last = bytes([65 + i])
                rows.check(f"GetRank({key!r}, {last!r})", self.rank(ranks, zsets.ns, key, last), (True, i))
                rows.check(f"GetReverseRank({key!r}, 'A')", self.rank(ranks, zsets.ns, key, b"A", True), (True, i))
                rows.check(f"GetRank({key!r}, {bytes([66 + i])!r}): found", self.rank(ranks, zsets.ns, key, bytes([66 + i]))[0], False)

    def test_namespace_isolation(self, ranks, zsets, related):
        other = ZOps(zsets.stub, related("-other"))
        other.add("z", (b"c", 0.0))
        check("GetRank(c) in the other namespace", self.rank(ranks, other.ns, "z", b"c"), (True, 0))
        check("GetRank(a) in the other namespace: found", self.rank(ranks, other.ns, "z", b"a")[0], False)

    def test_invalid_arguments(self, ranks, zsets):
        expect_status("GetRank with an empty key", grpc.StatusCode.INVALID_ARGUMENT, lambda: self.rank(ranks, zsets.ns, "", b"a"))
        expect_status(
            "GetReverseRank with an empty namespace", grpc.StatusCode.INVALID_ARGUMENT, lambda: self.rank(ranks, "", "z", b"a", True)
        )
