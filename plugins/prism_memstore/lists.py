"""MemStore's list data: one dict of Python lists per namespace; blocked pops wait on a
condition that every push notifies."""

from __future__ import annotations

import asyncio


def _clamp_range(n: int, start: int, stop: int) -> tuple[int, int]:
    """Redis LRANGE/LTRIM bounds: a half-open [lo, hi) slice, possibly empty."""
    if start < 0:
        start = max(0, start + n)
    if stop < 0:
        stop += n
    stop = min(stop, n - 1)
    if start > stop:
        return 0, 0
    return start, stop + 1


class MemLists:
    def __init__(self) -> None:
        self._spaces: dict[str, dict[str, list[bytes]]] = {}
        self._pushed: asyncio.Condition | None = None

    @property
    def pushed(self) -> asyncio.Condition:
        """Created on first use, inside the serving event loop."""
        if self._pushed is None:
            self._pushed = asyncio.Condition()
        return self._pushed

    def drop(self, ns: str) -> None:
        self._spaces.pop(ns, None)

    def _list(self, ns: str, key: str) -> list[bytes]:
        return self._spaces.get(ns, {}).get(key, [])

    def _store(self, ns: str, key: str, values: list[bytes]) -> None:
        if values:
            self._spaces.setdefault(ns, {})[key] = values
        else:
            self._spaces.get(ns, {}).pop(key, None)

    # list_basic
    async def push(self, ns: str, key: str, values: list[bytes], left: bool) -> int:
        lst = self._list(ns, key)
        lst = [*reversed(values), *lst] if left else [*lst, *values]
        self._store(ns, key, lst)
        async with self.pushed:
            self.pushed.notify_all()
        return len(lst)

    async def pop(self, ns: str, key: str, count: int, left: bool) -> list[bytes]:
        lst = self._list(ns, key)
        if left:
            taken, rest = lst[:count], lst[count:]
        else:
            taken, rest = list(reversed(lst[-count:])), lst[: max(0, len(lst) - count)]
        self._store(ns, key, rest)
        return taken

    async def length(self, ns: str, key: str) -> int:
        return len(self._list(ns, key))

    # list_indexing
    def _position(self, ns: str, key: str, index: int) -> int | None:
        n = len(self._list(ns, key))
        i = index + n if index < 0 else index
        return i if 0 <= i < n else None

    async def index(self, ns: str, key: str, index: int) -> bytes | None:
        i = self._position(ns, key, index)
        return None if i is None else self._list(ns, key)[i]

    async def set_index(self, ns: str, key: str, index: int, value: bytes) -> bool:
        i = self._position(ns, key, index)
        if i is None:
            return False
        self._list(ns, key)[i] = bytes(value)
        return True

    async def insert(self, ns: str, key: str, before: bool, pivot: bytes, value: bytes) -> tuple[bool, int]:
        lst = self._list(ns, key)
        if pivot not in lst:
            return False, len(lst)
        i = lst.index(pivot)
        lst.insert(i if before else i + 1, bytes(value))
        return True, len(lst)

    async def remove(self, ns: str, key: str, value: bytes, count: int) -> int:
        lst = self._list(ns, key)
        order = range(len(lst) - 1, -1, -1) if count < 0 else range(len(lst))
        hits = set([i for i in order if lst[i] == value][: abs(count) or None])
        self._store(ns, key, [v for i, v in enumerate(lst) if i not in hits])
        return len(hits)

    # list_range
    async def range(self, ns: str, key: str, start: int, stop: int) -> list[bytes]:
        lst = self._list(ns, key)
        lo, hi = _clamp_range(len(lst), start, stop)
        return lst[lo:hi]

    async def trim(self, ns: str, key: str, start: int, stop: int) -> int:
        lst = self._list(ns, key)
        lo, hi = _clamp_range(len(lst), start, stop)
        self._store(ns, key, lst[lo:hi])
        return hi - lo

    # list_blocking
    async def blocking_pop(self, ns: str, keys: list[str], timeout_s: float, left: bool) -> tuple[str, bytes] | None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        async with self.pushed:
            while True:
                for key in keys:
                    if self._list(ns, key):
                        return key, (await self.pop(ns, key, 1, left))[0]
                remaining = deadline - loop.time()
                if remaining <= 0:
                    return None
                try:
                    await asyncio.wait_for(self.pushed.wait(), remaining)
                except asyncio.TimeoutError:
                    pass
