"""Plausible bugs of a sorted set store (issue 13's classes), each a small change to MemStore: the
sorted set suites must catch each one. The older ones are in broken_stores.py."""

from __future__ import annotations

import fnmatch
import math
from typing import Callable

import prism_memstore
from prism_memstore.sortedsets import MemSortedSets
from prism_plugin.contracts.sortedset.operations import MERGE

CAP = 1000  # a silent cap, or one page of a scan answered as the whole


def sorted_set_store(store_class: type[MemSortedSets]) -> Callable[[], None]:
    def patch() -> None:
        prism_memstore.MemSortedSets = store_class  # type: ignore[misc]

    return patch


# --- names and namespaces ---------------------------------------------------------------------


class RemoveKeyIsAGlob(MemSortedSets):
    """Remove finds its keys with a glob (a SCAN MATCH of the key), so "z*" also empties "z"."""

    async def remove(self, ns, key, members):
        removed = 0
        for name in [k for k in self._spaces.get(ns, {}) if fnmatch.fnmatchcase(k, key)]:
            removed = max(removed, await super().remove(ns, name, members))
        return removed


class AddCountsNewAcrossNamespaces(MemSortedSets):
    """Add decides "new" from an index of members per key that forgot the namespace."""

    async def add(self, ns, key, members):
        seen = {m for space in self._spaces.values() for m in space.get(key, {})}
        await super().add(ns, key, members)
        return len({m for m, _ in members} - seen)


class CombineKeysAreGlobs(MemSortedSets):
    """Union/Intersection resolve each key as a glob over the namespace's keys."""

    async def combine(self, ns, keys, weights, aggregate, intersect):
        names, ws = [], []
        for key, weight in zip(keys, weights):
            matched = sorted(k for k in self._spaces.get(ns, {}) if fnmatch.fnmatchcase(k, key)) or [key]
            names += matched
            ws += [weight] * len(matched)
        return await super().combine(ns, names, ws, aggregate, intersect)


# --- whole collections --------------------------------------------------------------------------


class UnlimitedRangeCapped(MemSortedSets):
    """GetRange and GetRangeByScore without a limit answer the first 1,000 members."""

    async def range(self, ns, key, start, stop, reverse):
        return (await super().range(ns, key, start, stop, reverse))[:CAP]

    async def range_by_score(self, ns, key, low, high, offset, limit, reverse):
        return await super().range_by_score(ns, key, low, high, offset, limit or CAP, reverse)


class RankInTheFirstPageOnly(MemSortedSets):
    """GetRank looks for the member in the first page of the order only."""

    async def rank(self, ns, key, member, reverse):
        rank = await super().rank(ns, key, member, reverse)
        return rank if rank is not None and rank < CAP else None


class CombineAnswersOnePage(MemSortedSets):
    """Union and Intersection answer their first 1,000 members."""

    async def combine(self, ns, keys, weights, aggregate, intersect):
        return (await super().combine(ns, keys, weights, aggregate, intersect))[:CAP]


class LexUnlimitedCapped(MemSortedSets):
    """GetRangeByLex without a limit answers the first 1,000 members."""

    async def range_by_lex(self, ns, key, low, high, offset, limit, reverse):
        return await super().range_by_lex(ns, key, low, high, offset, limit or CAP, reverse)


# --- range edges --------------------------------------------------------------------------------


def _start_not_clamped(n: int, start: int, stop: int) -> slice:
    """Redis ZRANGE ranks, but a start below -size stays negative (Python then counts it from
    the end)."""
    start = start + n if start < 0 else start
    stop = stop + n if stop < 0 else min(stop, n - 1)
    return slice(start, stop + 1) if start <= stop else slice(0, 0)


class StartBelowMinusSizeWraps(MemSortedSets):
    async def range(self, ns, key, start, stop, reverse):
        ordered = self._ordered(ns, key)
        if reverse:
            ordered.reverse()
        return ordered[_start_not_clamped(len(ordered), start, stop)]


class LexOffsetClampedToTheLastMember(MemSortedSets):
    """An offset past the end is clamped like a rank, to the last member."""

    async def range_by_lex(self, ns, key, low, high, offset, limit, reverse):
        inside = await super().range_by_lex(ns, key, low, high, 0, 0, reverse)
        offset = min(offset, max(len(inside) - 1, 0))
        return inside[offset : offset + limit] if limit else inside[offset:]


# --- infinities in arithmetic -------------------------------------------------------------------


def _combine(held: list[dict[bytes, float]], weights, aggregate, intersect, weigh_nan: bool, sum_nan: bool, first_ok: bool = False):
    """The contract's arithmetic, except that a NaN from weighting (weigh_nan; first_ok: but
    for the first key) or from a SUM of +inf and -inf (sum_nan) is left as NaN."""
    result: dict[bytes, float] = {}
    for i, (scores, weight) in enumerate(zip(held, weights)):
        if intersect and i > 0:
            result = {m: s for m, s in result.items() if m in scores}
        for member, score in scores.items():
            weighted = weight * score
            weighted = weighted if (weigh_nan and not (first_ok and i == 0)) or not math.isnan(weighted) else 0.0
            if member in result:
                merged = MERGE[aggregate](result[member], weighted)
                result[member] = merged if sum_nan or not math.isnan(merged) else 0.0
            elif not intersect or i == 0:
                result[member] = weighted
    return sorted(result.items(), key=lambda ms: (ms[1], ms[0]))


class ZeroTimesInfIsNaN(MemSortedSets):
    """weight * score is left as floats multiply: 0 * inf is NaN."""

    async def combine(self, ns, keys, weights, aggregate, intersect):
        return _combine([self._scores(ns, k) for k in keys], weights, aggregate, intersect, weigh_nan=True, sum_nan=False)


class UnionSumOfOppositeInfinitiesIsNaN(MemSortedSets):
    """Union adds scores as floats add: +inf + -inf is NaN (Intersection is right)."""

    async def combine(self, ns, keys, weights, aggregate, intersect):
        held = [self._scores(ns, k) for k in keys]
        return _combine(held, weights, aggregate, intersect, weigh_nan=False, sum_nan=not intersect)


class IntersectionWeightedNaNAfterTheFirstKey(MemSortedSets):
    """Redis 7.0's ZINTER: 0 * inf is 0 in the first key visited, NaN (then merged: MIN/MAX
    keep the other term, SUM turns 0) in the others."""

    async def combine(self, ns, keys, weights, aggregate, intersect):
        held = [self._scores(ns, k) for k in keys]
        return _combine(held, weights, aggregate, intersect, weigh_nan=intersect, sum_nan=False, first_ok=True)


# --- read after write ---------------------------------------------------------------------------


class OrderCachedAcrossScoreUpdates(MemSortedSets):
    """The ordered view is cached per key and rebuilt only when the member count changes."""

    def __init__(self) -> None:
        super().__init__()
        self._views: dict[tuple[str, str], tuple[int, list]] = {}

    def _ordered(self, ns, key):
        size = len(self._scores(ns, key))
        cached = self._views.get((ns, key))
        if cached is None or cached[0] != size:
            cached = self._views[(ns, key)] = (size, super()._ordered(ns, key))
        return list(cached[1])


MUTANTS: dict[str, tuple[str, Callable[[], None]]] = {
    "sortedset-remove-key-is-a-glob": ("sortedset_basic", sorted_set_store(RemoveKeyIsAGlob)),
    "sortedset-add-counts-new-across-namespaces": ("sortedset_basic", sorted_set_store(AddCountsNewAcrossNamespaces)),
    "sortedset-unlimited-range-capped": ("sortedset_range", sorted_set_store(UnlimitedRangeCapped)),
    "sortedset-start-below-minus-size-wraps": ("sortedset_range", sorted_set_store(StartBelowMinusSizeWraps)),
    "sortedset-order-cached-across-score-updates": ("sortedset_range", sorted_set_store(OrderCachedAcrossScoreUpdates)),
    "sortedset-rank-in-the-first-page-only": ("sortedset_rank", sorted_set_store(RankInTheFirstPageOnly)),
    "sortedset-rank-order-cached-across-score-updates": ("sortedset_rank", sorted_set_store(OrderCachedAcrossScoreUpdates)),
    "sortedset-combine-answers-one-page": ("sortedset_operations", sorted_set_store(CombineAnswersOnePage)),
    "sortedset-combine-keys-are-globs": ("sortedset_operations", sorted_set_store(CombineKeysAreGlobs)),
    "sortedset-zero-times-inf-is-nan": ("sortedset_operations", sorted_set_store(ZeroTimesInfIsNaN)),
    "sortedset-union-sum-of-opposite-infinities-is-nan": ("sortedset_operations", sorted_set_store(UnionSumOfOppositeInfinitiesIsNaN)),
    "sortedset-intersection-weighted-nan-after-the-first-key": (
        "sortedset_operations",
        sorted_set_store(IntersectionWeightedNaNAfterTheFirstKey),
    ),
    "sortedset-lex-unlimited-capped": ("sortedset_lex", sorted_set_store(LexUnlimitedCapped)),
    "sortedset-lex-offset-clamped-to-the-last-member": ("sortedset_lex", sorted_set_store(LexOffsetClampedToTheLastMember)),
}
