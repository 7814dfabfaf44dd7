"""The sorted-set model cell: every declared sorted-set interface against member -> score dicts,
ordered by (score, member bytes)."""

from __future__ import annotations

import math

import grpc
from hypothesis import strategies as st
from hypothesis.stateful import rule

from prism.sortedset.v1 import sortedset_pb2 as pb
from prism.sortedset.v1 import sortedset_pb2_grpc as pb_grpc
from prism_accept.models.machine import ModelMachine, declares, namespace_index, run
from prism_accept.suites.base import check, expect_status
from prism_accept.suites.requirements import requires

KEYS = ["z", "Z", "z:z", "zset:z", "*", "é"]
keys = st.sampled_from(["z", "z", "z", "z", *KEYS])  # "z" most: state builds up where reads meet it
VALUES = [b"", b"a", b"b", b"ab", b"\xff", b"\x00z"]
values = st.sampled_from(VALUES)
score_values = st.sampled_from([0.0, 0.0, 1.0, 1.0, -1.5, 2.25, math.inf, -math.inf])
PATHS = {
    "score": "sortedset_basic",
    "range": "sortedset_range",
    "rank": "sortedset_rank",
    "union": "sortedset_operations",
    "lex": "sortedset_lex",
}


RANK_ENDS = [(-100, 100), (-7, 1), (1, -2), (2, 100), (-1, -100)]  # ends beyond +-size (the machine's sets hold <= 6)
INF = math.inf


def ordered(scores: dict[bytes, float]) -> list[tuple[bytes, float]]:
    return sorted(scores.items(), key=lambda ms: (ms[1], ms[0]))


def rank_slice(n: int, start: int, stop: int) -> slice:
    """Inclusive ranks, negative from the end, clamped (Redis ZRANGE)."""
    start = max(0, start + n) if start < 0 else start
    stop = stop + n if stop < 0 else min(stop, n - 1)
    return slice(start, stop + 1) if start <= stop else slice(0, 0)


def no_nan(score: float) -> float:
    return 0.0 if math.isnan(score) else score


def combine(held: list[dict[bytes, float]], weights: list[float], merge, intersect: bool) -> list[tuple[bytes, float]]:
    """Two keys: weight * score (0 * inf is 0), merged (+inf + -inf is 0)."""
    (a, b), (wa, wb) = held, weights
    members = set(a) & set(b) if intersect else set(a) | set(b)
    result = {}
    for m in members:
        terms = [no_nan(w * s[m]) for s, w in ((a, wa), (b, wb)) if m in s]
        result[m] = no_nan(merge(*terms)) if len(terms) == 2 else terms[0]
    return ordered(result)


class SortedSetMachine(ModelMachine):
    PATHS = PATHS

    def __init__(self, plugin, declared, base):
        super().__init__(plugin, declared, base)
        ch = plugin.channel
        self.basic, self.range_stub = pb_grpc.SortedSetBasicStub(ch), pb_grpc.SortedSetRangeStub(ch)
        self.rank_stub, self.ops = pb_grpc.SortedSetRankStub(ch), pb_grpc.SortedSetOperationsStub(ch)
        self.lex = pb_grpc.SortedSetLexStub(ch)
        self.model: dict[tuple[str, str], dict[bytes, float]] = {}

    def scores(self, ns: str, key: str) -> dict[bytes, float]:
        return self.model.get((ns, key), {})

    @declares("sortedset_basic")
    @rule(i=namespace_index, key=keys, items=st.lists(st.tuples(values, score_values), min_size=1, max_size=3))
    def add(self, i, key, items):
        ns = self.namespaces[i]
        current = dict(self.scores(ns, key))
        members = [pb.ScoredMember(member=m, score=s) for m, s in items]
        got = self.call(self.basic.Add, pb.AddRequest(namespace=ns, key=key, members=members)).added
        check(f"Add {key!r} {items}", got, len({m for m, _ in items} - set(current)))
        current.update(items)
        self.model[(ns, key)] = current

    @declares("sortedset_basic")
    @rule(vs=st.lists(values, min_size=1, max_size=3), data=st.data())
    def remove(self, vs, data):
        ns, key = self.target(data, keys)
        current = dict(self.scores(ns, key))
        got = self.call(self.basic.Remove, pb.RemoveRequest(namespace=ns, key=key, members=vs)).removed
        check(f"Remove {key!r} {vs}", got, len(set(vs) & set(current)))
        for v in vs:
            current.pop(v, None)
        if current:
            self.model[(ns, key)] = current
        else:
            self.model.pop((ns, key), None)

    @declares("set_basic")
    @rule(i=namespace_index, key=keys, value=values)
    def a_set_under_the_same_name(self, i, key, value):
        """Another model's data under the same namespace and name must not show in a sorted set."""
        from prism.set.v1 import set_pb2, set_pb2_grpc

        self.call(
            set_pb2_grpc.SetBasicStub(self.plugin.channel).Add,
            set_pb2.MembersRequest(namespace=self.namespaces[i], set=key, members=[value + b"-s"]),
        )

    @rule(i=namespace_index, path=st.sampled_from(sorted(PATHS)))
    def observe(self, i, path):
        self.read(path, self.namespaces[i])

    def read_score(self, ns):
        for key in KEYS[:3]:
            held = self.scores(ns, key)
            for member in VALUES:
                request = pb.GetScoreRequest(namespace=ns, key=key, member=member)
                if member in held:
                    check(f"GetScore {key!r} {member!r}", self.call(self.basic.GetScore, request).score, held[member])
                else:
                    expect_status(
                        f"GetScore {key!r} {member!r} (missing)", grpc.StatusCode.NOT_FOUND, lambda: self.call(self.basic.GetScore, request)
                    )

    def read_range(self, ns):
        for key in KEYS:
            got = self.call(self.range_stub.GetRange, pb.GetRangeRequest(namespace=ns, key=key, start=0, stop=-1))
            check(f"GetRange {key!r} 0..-1", [(m.member, m.score) for m in got.members], ordered(self.scores(ns, key)))
        held = ordered(self.scores(ns, "z"))
        for start, stop in RANK_ENDS:
            for reverse in (False, True):
                got = self.call(
                    self.range_stub.GetRange, pb.GetRangeRequest(namespace=ns, key="z", start=start, stop=stop, reverse=reverse)
                )
                want = (held[::-1] if reverse else held)[rank_slice(len(held), start, stop)]
                check(f"GetRange 'z' {start}..{stop} reverse={reverse}", [(m.member, m.score) for m in got.members], want)
        want = [(m, s) for m, s in ordered(self.scores(ns, "z")) if 0.0 < s <= math.inf][::-1]
        request = pb.GetRangeByScoreRequest(namespace=ns, key="z", min=pb.ScoreBound(value=0.0, exclusive=True), reverse=True)
        got = self.call(self.range_stub.GetRangeByScore, request)
        check("GetRangeByScore 'z' (0, +inf] reverse", [(m.member, m.score) for m in got.members], want)

    def read_rank(self, ns):
        held = ordered(self.scores(ns, "z"))
        got = []
        for member in VALUES:
            r = self.call(self.rank_stub.GetRank, pb.RankRequest(namespace=ns, key="z", member=member))
            got.append((member, r.found, r.rank))
        members = [m for m, _ in held]
        check("GetRank 'z' of every value", got, [(m, m in members, members.index(m) if m in members else 0) for m in VALUES])

    def read_union(self, ns):
        total: dict[bytes, float] = {}
        for key in KEYS:
            for member, score in self.scores(ns, key).items():
                total[member] = max(total.get(member, -math.inf), score)
        got = self.call(self.ops.Union, pb.CombineRequest(namespace=ns, keys=KEYS, aggregate=pb.CombineRequest.MAX))
        check(f"Union MAX {KEYS}", [(m.member, m.score) for m in got.members], ordered(total))
        held = [self.scores(ns, "z"), self.scores(ns, "Z")]
        for call, intersect, weights, aggregate, merge in (
            (self.ops.Union, False, [1.0, -1.0], pb.CombineRequest.SUM, lambda x, y: x + y),
            (self.ops.Intersection, True, [-1.0, 1.0], pb.CombineRequest.SUM, lambda x, y: x + y),
            (self.ops.Intersection, True, [0.0, INF], pb.CombineRequest.MIN, min),
            (self.ops.Union, False, [INF, 0.0], pb.CombineRequest.MAX, max),
        ):
            name = f"{'Intersection' if intersect else 'Union'} ['z', 'Z'] weights={weights} {pb.CombineRequest.Aggregate.Name(aggregate)}"
            got = self.call(call, pb.CombineRequest(namespace=ns, keys=["z", "Z"], weights=weights, aggregate=aggregate))
            check(name, [(m.member, m.score) for m in got.members], combine(held, weights, merge, intersect))

    def read_lex(self, ns):
        for key in KEYS:
            held = self.scores(ns, key)
            if len(set(held.values())) > 1:
                continue  # a lex range is defined for members of equal score only
            got = self.call(self.lex.GetRangeByLex, pb.GetRangeByLexRequest(namespace=ns, key=key, min=b"(", max=b"+"))
            check(f"GetRangeByLex {key!r} (b'', +)", [(m.member, m.score) for m in got.members], [ms for ms in ordered(held) if ms[0]])


@requires.interface("sortedset_basic")  # the machine builds sorted sets with Add
class SortedSetModelTests:
    def test_state_machine(self, plugin, declaration):
        run(lambda: SortedSetMachine(plugin, frozenset(declaration.implements), "pa-model-sortedset"))
