"""MemStore's sorted-set data: member -> score dicts per namespace, ordered on read by
(score, member bytes) as Redis orders them."""

from __future__ import annotations

from prism_plugin.contracts.sortedset.operations import combine_scores

Scored = list[tuple[bytes, float]]


def _rank_slice(n: int, start: int, stop: int) -> slice:
    """Redis ZRANGE ranks: inclusive, negative from the end, clamped."""
    start = max(0, start + n) if start < 0 else start
    stop = stop + n if stop < 0 else min(stop, n - 1)
    return slice(start, stop + 1) if start <= stop else slice(0, 0)


def _window(members: Scored, offset: int, limit: int) -> Scored:
    return members[offset : offset + limit] if limit else members[offset:]


def _above_low(member: bytes, bound: bytes) -> bool:
    if bound == b"-":
        return True
    if bound == b"+":
        return False
    return member >= bound[1:] if bound[:1] == b"[" else member > bound[1:]


def _below_high(member: bytes, bound: bytes) -> bool:
    if bound == b"+":
        return True
    if bound == b"-":
        return False
    return member <= bound[1:] if bound[:1] == b"[" else member < bound[1:]


class MemSortedSets:
    def __init__(self) -> None:
        self._spaces: dict[str, dict[str, dict[bytes, float]]] = {}

    def drop(self, ns: str) -> None:
        self._spaces.pop(ns, None)

    def _scores(self, ns: str, key: str) -> dict[bytes, float]:
        return self._spaces.get(ns, {}).get(key, {})

    def _ordered(self, ns: str, key: str) -> Scored:
        return sorted(self._scores(ns, key).items(), key=lambda ms: (ms[1], ms[0]))

    # sortedset_basic
    async def add(self, ns: str, key: str, members: list[tuple[bytes, float]]) -> int:
        scores = self._spaces.setdefault(ns, {}).setdefault(key, {})
        new = {m for m, _ in members if m not in scores}
        for member, score in members:
            scores[bytes(member)] = score
        return len(new)

    async def remove(self, ns: str, key: str, members: list[bytes]) -> int:
        scores = self._scores(ns, key)
        gone = {m for m in members if m in scores}
        for member in gone:
            del scores[member]
        if not scores:
            self._spaces.get(ns, {}).pop(key, None)
        return len(gone)

    async def score(self, ns: str, key: str, member: bytes) -> float | None:
        return self._scores(ns, key).get(member)

    # sortedset_range
    async def range(self, ns: str, key: str, start: int, stop: int, reverse: bool) -> Scored:
        ordered = self._ordered(ns, key)
        if reverse:
            ordered.reverse()
        return ordered[_rank_slice(len(ordered), start, stop)]

    async def range_by_score(
        self, ns: str, key: str, low: tuple[float, bool], high: tuple[float, bool], offset: int, limit: int, reverse: bool
    ) -> Scored:
        (lo, lo_open), (hi, hi_open) = low, high
        inside = [(m, s) for m, s in self._ordered(ns, key) if (s > lo if lo_open else s >= lo) and (s < hi if hi_open else s <= hi)]
        if reverse:
            inside.reverse()
        return _window(inside, offset, limit)

    # sortedset_rank
    async def rank(self, ns: str, key: str, member: bytes, reverse: bool) -> int | None:
        ordered = [m for m, _ in self._ordered(ns, key)]
        if member not in self._scores(ns, key):
            return None
        rank = ordered.index(member)
        return len(ordered) - 1 - rank if reverse else rank

    # sortedset_operations
    async def combine(self, ns: str, keys: list[str], weights: list[float], aggregate: str, intersect: bool) -> Scored:
        return combine_scores([self._scores(ns, key) for key in keys], weights, aggregate, intersect)

    # sortedset_lex
    async def range_by_lex(self, ns: str, key: str, low: bytes, high: bytes, offset: int, limit: int, reverse: bool) -> Scored:
        inside = [(m, s) for m, s in self._ordered(ns, key) if _above_low(m, low) and _below_high(m, high)]
        if reverse:
            inside.reverse()
        return _window(inside, offset, limit)
