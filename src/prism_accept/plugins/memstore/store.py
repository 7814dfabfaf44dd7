"""MemStore: dictionaries in the plugin process, one keyspace per data model and namespace.

Single-threaded asyncio: a method that does not await is atomic. Expiry is checked on access.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import AsyncIterator


@dataclass
class _Namespace:
    kv: dict[str, tuple[bytes, float | None]] = field(default_factory=dict)  # value, expires at
    lists: dict[str, list[bytes]] = field(default_factory=dict)


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


class MemStore:
    def __init__(self) -> None:
        self._namespaces: dict[str, _Namespace] = {}
        self._pushed = asyncio.Condition()

    # lifecycle
    async def connect(self, settings: dict[str, str]) -> str:
        return "memstore (embedded)"

    async def drop_namespace(self, namespace: str) -> None:
        self._namespaces.pop(namespace, None)

    async def close(self) -> None:
        pass

    def _ns(self, ns: str) -> _Namespace:
        return self._namespaces.setdefault(ns, _Namespace())

    # keyvalue
    def _live(self, ns: str, key: str) -> tuple[bytes, float | None] | None:
        kv = self._ns(ns).kv
        entry = kv.get(key)
        if entry is not None and entry[1] is not None and entry[1] <= time.monotonic():
            del kv[key]
            return None
        return entry

    def _value(self, ns: str, key: str) -> bytes | None:
        entry = self._live(ns, key)
        return None if entry is None else entry[0]

    async def kv_set(self, ns, key, value, ttl_ms=None):
        expires = None if ttl_ms is None else time.monotonic() + ttl_ms / 1000
        self._ns(ns).kv[key] = (bytes(value), expires)

    async def kv_get(self, ns, key):
        return self._value(ns, key)

    async def kv_delete(self, ns, key):
        found = self._live(ns, key) is not None
        self._ns(ns).kv.pop(key, None)
        return found

    async def kv_exists(self, ns, key):
        return self._live(ns, key) is not None

    async def kv_scan(self, ns, prefix, limit, with_values) -> AsyncIterator[tuple[str, bytes | None]]:
        sent = 0
        for key in [k for k in self._ns(ns).kv if k.startswith(prefix)]:
            value = self._value(ns, key)
            if value is None:
                continue
            yield key, value if with_values else None
            sent += 1
            if limit and sent >= limit:
                return

    async def kv_count(self, ns, prefix):
        return sum(1 for k in list(self._ns(ns).kv) if k.startswith(prefix) and self._live(ns, k))

    async def kv_expire(self, ns, key, ttl_ms):
        entry = self._live(ns, key)
        if entry is None:
            return False
        self._ns(ns).kv[key] = (entry[0], time.monotonic() + ttl_ms / 1000)
        return True

    async def kv_ttl(self, ns, key):
        entry = self._live(ns, key)
        if entry is None:
            return None
        if entry[1] is None:
            return -1
        return max(0, int((entry[1] - time.monotonic()) * 1000))

    async def kv_persist(self, ns, key):
        entry = self._live(ns, key)
        if entry is None or entry[1] is None:
            return False
        self._ns(ns).kv[key] = (entry[0], None)
        return True

    async def kv_commit(self, ns, expected, writes):
        if any(self._value(ns, k) != v for k, v in expected.items()):
            return False
        kv = self._ns(ns).kv
        for key, value in writes.items():
            if value is None:
                kv.pop(key, None)
            else:
                kv[key] = (value, None)
        return True

    async def kv_batch_set(self, ns, entries):
        for key, value in entries.items():
            self._ns(ns).kv[key] = (bytes(value), None)

    async def kv_batch_get(self, ns, keys):
        return [self._value(ns, k) for k in keys]

    async def kv_batch_delete(self, ns, keys):
        return sum([await self.kv_delete(ns, k) for k in keys])

    async def kv_compare_and_swap(self, ns, key, expected, new):
        current = self._value(ns, key)
        if current != expected:
            return False, current
        self._ns(ns).kv[key] = (bytes(new), None)
        return True, bytes(new)

    async def kv_compare_and_delete(self, ns, key, expected):
        current = self._value(ns, key)
        if current is None or current != expected:
            return False, current
        del self._ns(ns).kv[key]
        return True, None

    # list
    def _list(self, ns: str, key: str) -> list[bytes]:
        return self._ns(ns).lists.get(key, [])

    def _store_list(self, ns: str, key: str, values: list[bytes]) -> None:
        if values:
            self._ns(ns).lists[key] = values
        else:
            self._ns(ns).lists.pop(key, None)

    async def list_push(self, ns, key, values, left):
        lst = self._list(ns, key)
        lst = [*reversed(values), *lst] if left else [*lst, *values]
        self._store_list(ns, key, lst)
        async with self._pushed:
            self._pushed.notify_all()
        return len(lst)

    async def list_pop(self, ns, key, count, left):
        lst = self._list(ns, key)
        if left:
            taken, rest = lst[:count], lst[count:]
        else:
            taken, rest = list(reversed(lst[-count:])), lst[: max(0, len(lst) - count)]
        self._store_list(ns, key, rest)
        return taken

    async def list_length(self, ns, key):
        return len(self._list(ns, key))

    def _position(self, ns: str, key: str, index: int) -> int | None:
        n = len(self._list(ns, key))
        i = index + n if index < 0 else index
        return i if 0 <= i < n else None

    async def list_index(self, ns, key, index):
        i = self._position(ns, key, index)
        return None if i is None else self._list(ns, key)[i]

    async def list_set(self, ns, key, index, value):
        i = self._position(ns, key, index)
        if i is None:
            return False
        self._list(ns, key)[i] = bytes(value)
        return True

    async def list_insert(self, ns, key, before, pivot, value):
        lst = self._list(ns, key)
        if pivot not in lst:
            return None
        i = lst.index(pivot)
        lst.insert(i if before else i + 1, bytes(value))
        return len(lst)

    async def list_remove(self, ns, key, value, count):
        lst = self._list(ns, key)
        order = range(len(lst) - 1, -1, -1) if count < 0 else range(len(lst))
        hits = set([i for i in order if lst[i] == value][: abs(count) or None])
        self._store_list(ns, key, [v for i, v in enumerate(lst) if i not in hits])
        return len(hits)

    async def list_range(self, ns, key, start, stop):
        lst = self._list(ns, key)
        lo, hi = _clamp_range(len(lst), start, stop)
        return lst[lo:hi]

    async def list_trim(self, ns, key, start, stop):
        lst = self._list(ns, key)
        lo, hi = _clamp_range(len(lst), start, stop)
        self._store_list(ns, key, lst[lo:hi])
        return hi - lo

    async def list_blocking_pop(self, ns, keys, timeout_s, left):
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        async with self._pushed:
            while True:
                for key in keys:
                    if self._list(ns, key):
                        return key, (await self.list_pop(ns, key, 1, left))[0]
                remaining = deadline - loop.time()
                if remaining <= 0:
                    return None
                try:
                    await asyncio.wait_for(self._pushed.wait(), remaining)
                except asyncio.TimeoutError:
                    pass
