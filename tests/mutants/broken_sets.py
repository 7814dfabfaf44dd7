"""Plausible bugs of a set store (issue 13's classes), each a small change to MemStore: the set
suites must catch each one. The older ones are in broken_stores.py."""

from __future__ import annotations

import fnmatch
import random
from typing import Callable

import prism_memstore
from prism_memstore.sets import MemSets

PAGE = 1000  # what one SSCAN page or a silent cap answers


# --- whole-collection answers: a cap, or one page answered as the whole -------------------------


class MembersCappedAt1000(MemSets):
    async def members(self, ns, name):
        return (await super().members(ns, name))[:PAGE]


class OperationsReadOnePagePerSet(MemSets):
    def _page(self, ns, name):
        return set(list(self._set(ns, name))[:PAGE])

    async def union(self, ns, names):
        return list(set().union(*(self._page(ns, n) for n in names)))

    async def intersection(self, ns, names):
        return list(self._page(ns, names[0]).intersection(*(self._page(ns, n) for n in names[1:])))

    async def difference(self, ns, names):
        return list(self._page(ns, names[0]).difference(*(self._page(ns, n) for n in names[1:])))


class SizeCountsOnePage(MemSets):
    async def size(self, ns, name):
        return min(PAGE, await super().size(ns, name))


class IsMemberReadsOnePage(MemSets):
    async def are_members(self, ns, name, members):
        page = set(list(self._set(ns, name))[:PAGE])
        return [m in page for m in members]


class RandomSamplesOnePage(MemSets):
    async def random_members(self, ns, name, count):
        page = list(self._set(ns, name))[:PAGE]
        return random.sample(page, min(count, len(page)))


# --- randomness ---------------------------------------------------------------------------------


class RandomIndexMissesTheLast(MemSets):
    """Indexes drawn from range(size - 1): the last member is never picked unless count covers the set."""

    async def random_members(self, ns, name, count):
        current = list(self._set(ns, name))
        if count >= len(current):
            return current
        return [current[i] for i in random.sample(range(len(current) - 1), count)]


class PopAlwaysTheSame(MemSets):
    async def pop_random_members(self, ns, name, count):
        chosen = sorted(self._set(ns, name))[:count]
        self._store(ns, name, self._set(ns, name) - set(chosen))
        return chosen


# --- names with metacharacters ------------------------------------------------------------------


class EmptiedSetDeletedByPattern(MemSets):
    """A set emptied by removals is deleted as Redis KEYS/SCAN MATCH would find it: by glob."""

    def _store(self, ns, name, members):
        if members:
            super()._store(ns, name, members)
        else:
            space = self._spaces.get(ns, {})
            for held in [n for n in space if fnmatch.fnmatchcase(n, name)]:
                del space[held]


class NameCutAtNul(MemSets):
    """The set name as a C string: "a\x00b" is "a"."""

    def _set(self, ns, name):
        return super()._set(ns, name.split("\x00")[0])

    def _store(self, ns, name, members):
        super()._store(ns, name.split("\x00")[0], members)


# --- read after write: a view cached before the write ---------------------------------------------


class MembersCachedUntilAdd(MemSets):
    """GetMembers answers from a cache that Add invalidates and Remove does not."""

    def __init__(self):
        super().__init__()
        self._cache: dict = {}

    async def add(self, ns, name, members):
        self._cache.pop((ns, name), None)
        return await super().add(ns, name, members)

    async def members(self, ns, name):
        if (ns, name) not in self._cache:
            self._cache[(ns, name)] = await super().members(ns, name)
        return list(self._cache[(ns, name)])


class OperationResultsCachedUntilAdd(MemSets):
    def __init__(self):
        super().__init__()
        self._cache: dict = {}

    async def add(self, ns, name, members):
        self._cache.clear()
        return await super().add(ns, name, members)

    def _cached(self, operation, ns, names):
        key = (operation.__name__, ns, tuple(names))
        if key not in self._cache:
            self._cache[key] = list(operation(self, ns, names))
        return list(self._cache[key])

    async def union(self, ns, names):
        return self._cached(OperationResultsCachedUntilAdd._union, ns, names)

    async def intersection(self, ns, names):
        return self._cached(OperationResultsCachedUntilAdd._intersection, ns, names)

    async def difference(self, ns, names):
        return self._cached(OperationResultsCachedUntilAdd._difference, ns, names)

    def _union(self, ns, names):
        return set().union(*(self._set(ns, n) for n in names))

    def _intersection(self, ns, names):
        return self._set(ns, names[0]).intersection(*(self._set(ns, n) for n in names[1:]))

    def _difference(self, ns, names):
        return self._set(ns, names[0]).difference(*(self._set(ns, n) for n in names[1:]))


class SizeCachedUntilAdd(MemSets):
    def __init__(self):
        super().__init__()
        self._sizes: dict = {}

    async def add(self, ns, name, members):
        self._sizes.pop((ns, name), None)
        return await super().add(ns, name, members)

    async def size(self, ns, name):
        if (ns, name) not in self._sizes:
            self._sizes[(ns, name)] = await super().size(ns, name)
        return self._sizes[(ns, name)]


# --- namespace isolation --------------------------------------------------------------------------


class NamespaceCutAtColon(MemSets):
    """The same bug as broken_stores' set-namespace-cut-at-colon (caught by model-set), for set_basic."""

    def _set(self, ns, name):
        return super()._set(ns.split(":")[0], name)

    def _store(self, ns, name, members):
        super()._store(ns.split(":")[0], name, members)


class PopInTheNamespaceCutAtColon(MemSets):
    """Only PopRandomMember builds its key from the namespace up to its first ':'."""

    async def pop_random_members(self, ns, name, count):
        return await super().pop_random_members(ns.split(":")[0], name, count)


class KeysJoinedWithColon(MemSets):
    """Every set in one map under "<namespace>:<name>", as a key built by plain joining: ("ns", ":s") is ("ns:", "s")."""

    def _set(self, ns, name):
        return super()._set("", f"{ns}:{name}")

    def _store(self, ns, name, members):
        super()._store("", f"{ns}:{name}", members)


def set_store(store_class: type[MemSets]) -> Callable[[], None]:
    def patch() -> None:
        prism_memstore.MemSets = store_class  # type: ignore[misc]

    return patch


MUTANTS: dict[str, tuple[str, Callable[[], None]]] = {
    "set-members-capped-at-1000": ("set_basic", set_store(MembersCappedAt1000)),
    "set-emptied-set-deleted-by-pattern": ("set_basic", set_store(EmptiedSetDeletedByPattern)),
    "set-name-cut-at-nul": ("set_basic", set_store(NameCutAtNul)),
    "set-members-cached-until-add": ("set_basic", set_store(MembersCachedUntilAdd)),
    "set-namespace-cut-at-colon-in-basic": ("set_basic", set_store(NamespaceCutAtColon)),
    "set-keys-joined-with-colon": ("set_basic", set_store(KeysJoinedWithColon)),
    "set-operations-read-one-page-per-set": ("set_operations", set_store(OperationsReadOnePagePerSet)),
    "set-operation-results-cached-until-add": ("set_operations", set_store(OperationResultsCachedUntilAdd)),
    "set-size-counts-one-page": ("set_cardinality", set_store(SizeCountsOnePage)),
    "set-is-member-reads-one-page": ("set_cardinality", set_store(IsMemberReadsOnePage)),
    "set-size-cached-until-add": ("set_cardinality", set_store(SizeCachedUntilAdd)),
    "set-random-index-misses-the-last": ("set_random", set_store(RandomIndexMissesTheLast)),
    "set-pop-always-the-same": ("set_random", set_store(PopAlwaysTheSame)),
    "set-random-samples-one-page": ("set_random", set_store(RandomSamplesOnePage)),
    "set-pop-in-the-namespace-cut-at-colon": ("set_random", set_store(PopInTheNamespaceCutAtColon)),
}
