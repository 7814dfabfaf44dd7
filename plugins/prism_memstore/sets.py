"""MemStore's set data: one dict of Python sets per namespace."""

from __future__ import annotations

import random


class MemSets:
    def __init__(self) -> None:
        self._spaces: dict[str, dict[str, set[bytes]]] = {}

    def drop(self, ns: str) -> None:
        self._spaces.pop(ns, None)

    def _set(self, ns: str, name: str) -> set[bytes]:
        return self._spaces.get(ns, {}).get(name, set())

    def _store(self, ns: str, name: str, members: set[bytes]) -> None:
        if members:
            self._spaces.setdefault(ns, {})[name] = members
        else:
            self._spaces.get(ns, {}).pop(name, None)

    # set_basic
    async def add(self, ns: str, name: str, members: list[bytes]) -> int:
        current = self._set(ns, name)
        new = set(members) - current
        self._store(ns, name, current | new)
        return len(new)

    async def remove(self, ns: str, name: str, members: list[bytes]) -> int:
        current = self._set(ns, name)
        gone = current & set(members)
        self._store(ns, name, current - gone)
        return len(gone)

    async def contains(self, ns: str, name: str, member: bytes) -> bool:
        return member in self._set(ns, name)

    async def members(self, ns: str, name: str) -> list[bytes]:
        return list(self._set(ns, name))

    # set_operations
    async def union(self, ns: str, names: list[str]) -> list[bytes]:
        return list(set().union(*(self._set(ns, n) for n in names)))

    async def intersection(self, ns: str, names: list[str]) -> list[bytes]:
        return list(self._set(ns, names[0]).intersection(*(self._set(ns, n) for n in names[1:])))

    async def difference(self, ns: str, names: list[str]) -> list[bytes]:
        return list(self._set(ns, names[0]).difference(*(self._set(ns, n) for n in names[1:])))

    # set_cardinality
    async def size(self, ns: str, name: str) -> int:
        return len(self._set(ns, name))

    async def are_members(self, ns: str, name: str, members: list[bytes]) -> list[bool]:
        current = self._set(ns, name)
        return [m in current for m in members]

    # set_random
    async def random_members(self, ns: str, name: str, count: int) -> list[bytes]:
        current = list(self._set(ns, name))
        return random.sample(current, min(count, len(current)))

    async def pop_random_members(self, ns: str, name: str, count: int) -> list[bytes]:
        chosen = await self.random_members(ns, name, count)
        self._store(ns, name, self._set(ns, name) - set(chosen))
        return chosen
