"""sortedset_basic: Add (member, score), Remove, GetScore (NOT_FOUND), and score update."""

from __future__ import annotations

import math
from typing import Iterable

import grpc
import pytest

from prism.sortedset.v1 import sortedset_pb2 as pb
from prism.sortedset.v1 import sortedset_pb2_grpc as pb_grpc
from prism_accept.suites.base import InterfaceSuite, check, expect_status
from prism_accept.suites.rows import AllRows

Scored = list[tuple[bytes, float]]


def ordered(items: Iterable[tuple[bytes, float]]) -> Scored:
    """The reference order: by score, equal scores by member bytes."""
    return sorted(items, key=lambda ms: (ms[1], ms[0]))


def pairs(reply: pb.ScoredMembers) -> Scored:
    return [(m.member, m.score) for m in reply.members]


WHOLE = 5000  # members of a whole-collection case: past a 1,000 cap or one scan page
NAMES = ["z", "z_", "z%", "z*", "z\\", "z?", "z[z]", "_", "%", "*", "\\", "zz"]  # LIKE and glob look-alikes of each other


def many(n: int = WHOLE) -> Scored:
    """n members in an order unlike their insertion order, with many ties (37 distinct scores)."""
    return [(b"m%05d" % ((i * 7919) % n), float(i % 37) - 18.0) for i in range(n)]


def check_members(operation: str, got: Scored, want: Scored) -> None:
    """check() for long answers: the count, then the first member that differs."""
    check(f"{operation}: how many members", len(got), len(want))
    for i, (g, w) in enumerate(zip(got, want)):
        check(f"{operation}: member at position {i}", g, w)


class ZOps:
    """The sortedset_basic calls, for readable cases (other sorted-set suites use it too)."""

    def __init__(self, stub, ns: str):
        self.stub = stub
        self.ns = ns

    def add(self, key: str, *members: tuple[bytes, float]) -> int:
        items = [pb.ScoredMember(member=m, score=s) for m, s in members]
        return self.stub.Add(pb.AddRequest(namespace=self.ns, key=key, members=items)).added

    def remove(self, key: str, *members: bytes) -> int:
        return self.stub.Remove(pb.RemoveRequest(namespace=self.ns, key=key, members=members)).removed

    def score(self, key: str, member: bytes) -> float:
        return self.stub.GetScore(pb.GetScoreRequest(namespace=self.ns, key=key, member=member)).score

    def add_batched(self, key: str, items: Scored, batch: int) -> None:
        """Add in requests of at most `batch` members (the declared max_batch_size)."""
        for i in range(0, len(items), batch):
            self.add(key, *items[i : i + batch])

    def missing(self, key: str, member: bytes, why: str) -> None:
        expect_status(f"GetScore({key!r}, {member!r}) {why}", grpc.StatusCode.NOT_FOUND, lambda: self.score(key, member))


class SortedSetBasicTests(InterfaceSuite):
    interface = "sortedset_basic"

    @pytest.fixture
    def zsets(self, plugin, namespace):
        return ZOps(pb_grpc.SortedSetBasicStub(plugin.channel), namespace)

    def test_add_counts_new_members(self, zsets):
        check("Add(a=1, b=2)", zsets.add("z", (b"a", 1), (b"b", 2)), 2)
        check("Add(b=3, c=4) to {a, b}", zsets.add("z", (b"b", 3), (b"c", 4)), 1)
        check("GetScore(a)", zsets.score("z", b"a"), 1.0)
        check("GetScore(c)", zsets.score("z", b"c"), 4.0)

    def test_add_updates_the_score(self, zsets):
        zsets.add("z", (b"a", 1))
        check("Add(a=-2.5) to {a}", zsets.add("z", (b"a", -2.5)), 0)
        check("GetScore(a) after the update", zsets.score("z", b"a"), -2.5)
        check("Add(a=-2.5) again", zsets.add("z", (b"a", -2.5)), 0)
        check("GetScore(a)", zsets.score("z", b"a"), -2.5)

    def test_a_member_given_twice_takes_its_last_score(self, zsets):
        check("Add(a=1, a=5, b=0, a=3)", zsets.add("z", (b"a", 1), (b"a", 5), (b"b", 0), (b"a", 3)), 2)
        check("GetScore(a)", zsets.score("z", b"a"), 3.0)

    def test_get_score_of_a_missing_member_is_not_found(self, zsets):
        zsets.missing("z", b"a", "on a missing sorted set")
        zsets.add("z", (b"a", 0))
        check("GetScore(a) of score 0", zsets.score("z", b"a"), 0.0)
        zsets.missing("z", b"b", "of a missing member")
        zsets.missing("z", b"", "of the empty member, never added")

    def test_remove_counts_members_that_were_there(self, zsets):
        zsets.add("z", (b"a", 1), (b"b", 2), (b"c", 3))
        check("Remove(b, x, b)", zsets.remove("z", b"b", b"x", b"b"), 1)
        check("Remove(b) again", zsets.remove("z", b"b"), 0)
        zsets.missing("z", b"b", "after Remove(b)")
        check("GetScore(a) after Remove(b)", zsets.score("z", b"a"), 1.0)
        check("Remove from a missing sorted set", zsets.remove("missing", b"a"), 0)

    def test_a_sorted_set_emptied_by_removals_no_longer_exists(self, zsets):
        zsets.add("z", (b"a", 1))
        check("Remove(a)", zsets.remove("z", b"a"), 1)
        check("Add(a=2) to the emptied sorted set", zsets.add("z", (b"a", 2)), 1)
        check("GetScore(a)", zsets.score("z", b"a"), 2.0)

    def test_scores_round_trip(self, zsets):
        scores = {b"inf": math.inf, b"-inf": -math.inf, b"half": -0.5, b"big": 1e308, b"tiny": 5e-324, b"odd": float(2**53 - 1)}
        check("Add of extreme scores", zsets.add("z", *scores.items()), len(scores))
        with AllRows() as rows:
            for member, score in scores.items():
                rows.check(f"GetScore({member!r})", zsets.score("z", member), score)

    def test_binary_and_empty_members(self, zsets):
        members = [bytes([c]) for c in range(256)] + [b"", bytes(range(256))]
        check(f"Add of {len(members)} binary members", zsets.add("z", *((m, float(i)) for i, m in enumerate(members))), len(members))
        with AllRows() as rows:
            for i in (0, 1, 255, 256, 257):
                rows.check(f"GetScore({members[i][:4]!r}...)", zsets.score("z", members[i]), float(i))

    def test_keys_and_namespaces_are_separate(self, zsets, related):
        other = ZOps(zsets.stub, related("-other"))
        zsets.add("z", (b"a", 1))
        zsets.add("z*", (b"a", 2))
        other.add("z", (b"a", 3))
        check("GetScore('z', a)", zsets.score("z", b"a"), 1.0)
        check("GetScore('z*', a)", zsets.score("z*", b"a"), 2.0)
        check("GetScore('z', a) in the other namespace", other.score("z", b"a"), 3.0)

    def test_names_with_like_and_glob_characters_are_distinct(self, zsets):
        """A key used as a LIKE or glob pattern (`_ % * ? [ ] \\`) must not reach other keys."""
        for i, key in enumerate(NAMES):
            zsets.add(key, (b"a", float(i)), (b"k" + key.encode(), 0.0))
        check("Add(a=100) to 'z_' (an update)", zsets.add("z_", (b"a", 100.0)), 0)
        removed = ("z*", "%", "z[z]")
        with AllRows() as rows:
            for key in removed:
                rows.check(f"Remove(a) from {key!r}", zsets.remove(key, b"a"), 1)
        with AllRows() as rows:
            for i, key in enumerate(NAMES):
                if key in removed:
                    zsets.missing(key, b"a", "after Remove(a) there")
                else:
                    rows.check(
                        f"GetScore({key!r}, a) after writes to 'z_' {removed}", zsets.score(key, b"a"), 100.0 if key == "z_" else float(i)
                    )
                rows.check(f"GetScore({key!r}, its own member)", zsets.score(key, b"k" + key.encode()), 0.0)

    def test_every_write_stays_in_its_namespace(self, zsets, related):
        """Add (new and update) and Remove in one namespace, on the same key and members as in
        another: counts and scores of each namespace are its own."""
        other = ZOps(zsets.stub, related("-other"))
        check("Add(a=1, b=2) in the other namespace", other.add("z", (b"a", 1), (b"b", 2)), 2)
        check("Add(a=5) in own namespace: new here", zsets.add("z", (b"a", 5)), 1)
        check("Add(a=6, b=7) in own namespace: b new here", zsets.add("z", (b"a", 6), (b"b", 7)), 1)
        check("GetScore(a) in the other namespace after own updates", other.score("z", b"a"), 1.0)
        check("Add(a=-1) in the other namespace: an update there", other.add("z", (b"a", -1)), 0)
        check("GetScore(a) in own namespace after the other's update", zsets.score("z", b"a"), 6.0)
        check("Remove(b) in the other namespace", other.remove("z", b"b"), 1)
        check("GetScore(b) in own namespace after the other's Remove", zsets.score("z", b"b"), 7.0)
        check("Remove(a, b) in own namespace", zsets.remove("z", b"a", b"b"), 2)
        check("GetScore(a) in the other namespace after own Remove", other.score("z", b"a"), -1.0)
        other.missing("z", b"b", "in the other namespace, removed there")
        check("Add(b=3) in own namespace after the removals: new again", zsets.add("z", (b"b", 3)), 1)

    def test_invalid_arguments(self, zsets):
        expect_status("Add with no members", grpc.StatusCode.INVALID_ARGUMENT, lambda: zsets.add("z"))
        expect_status("Add with a NaN score", grpc.StatusCode.INVALID_ARGUMENT, lambda: zsets.add("z", (b"a", 1), (b"b", math.nan)))
        expect_status("Remove with no members", grpc.StatusCode.INVALID_ARGUMENT, lambda: zsets.remove("z"))
        expect_status("Add with an empty key", grpc.StatusCode.INVALID_ARGUMENT, lambda: zsets.add("", (b"a", 1)))
        zsets.missing("z", b"a", "after a rejected Add")
