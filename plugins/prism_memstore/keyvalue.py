"""MemStore's keyvalue data: one dict per namespace, expiry checked on access.

Single-threaded asyncio: a method that does not await is atomic, which is what the CAS,
batch and commit contracts need.
"""

from __future__ import annotations

import time
from typing import AsyncIterator


class MemKeyValue:
    def __init__(self) -> None:
        self._spaces: dict[str, dict[str, tuple[bytes, float | None]]] = {}  # value, expires at

    def drop(self, ns: str) -> None:
        self._spaces.pop(ns, None)

    def _space(self, ns: str) -> dict[str, tuple[bytes, float | None]]:
        return self._spaces.setdefault(ns, {})

    def _live(self, ns: str, key: str) -> tuple[bytes, float | None] | None:
        space = self._spaces.get(ns)
        entry = space.get(key) if space else None
        if entry is not None and entry[1] is not None and entry[1] <= time.monotonic():
            del self._space(ns)[key]
            return None
        return entry

    def _value(self, ns: str, key: str) -> bytes | None:
        entry = self._live(ns, key)
        return None if entry is None else entry[0]

    def _put(self, ns: str, key: str, value: bytes, ttl_ms: int | None = None) -> None:
        expires = None if ttl_ms is None else time.monotonic() + ttl_ms / 1000
        self._space(ns)[key] = (bytes(value), expires)

    # keyvalue_basic
    async def set(self, ns: str, key: str, value: bytes) -> None:
        self._put(ns, key, value)

    async def get(self, ns: str, key: str) -> bytes | None:
        return self._value(ns, key)

    async def delete(self, ns: str, key: str) -> bool:
        found = self._live(ns, key) is not None
        self._space(ns).pop(key, None)
        return found

    async def exists(self, ns: str, key: str) -> bool:
        return self._live(ns, key) is not None

    # keyvalue_scan
    async def scan(self, ns: str, prefix: str, limit: int, with_values: bool) -> AsyncIterator[tuple[str, bytes | None]]:
        sent = 0
        for key in [k for k in self._space(ns) if k.startswith(prefix)]:
            value = self._value(ns, key)
            if value is None:
                continue
            yield key, value if with_values else None
            sent += 1
            if limit and sent >= limit:
                return

    async def count(self, ns: str, prefix: str) -> int:
        return sum(1 for k in list(self._space(ns)) if k.startswith(prefix) and self._live(ns, k))

    # keyvalue_ttl
    async def set_with_ttl(self, ns: str, key: str, value: bytes, ttl_ms: int) -> None:
        self._put(ns, key, value, ttl_ms)

    async def expire(self, ns: str, key: str, ttl_ms: int) -> bool:
        entry = self._live(ns, key)
        if entry is None:
            return False
        self._put(ns, key, entry[0], ttl_ms)
        return True

    async def remaining_ttl(self, ns: str, key: str) -> int | None:
        entry = self._live(ns, key)
        if entry is None:
            return None
        if entry[1] is None:
            return -1
        return max(0, int((entry[1] - time.monotonic()) * 1000))

    async def persist(self, ns: str, key: str) -> bool:
        entry = self._live(ns, key)
        if entry is None or entry[1] is None:
            return False
        self._put(ns, key, entry[0])
        return True

    # keyvalue_transactional, through OptimisticTransactions
    async def commit_if_unchanged(self, ns: str, expected: dict[str, bytes | None], writes: dict[str, bytes | None]) -> bool:
        if any(self._value(ns, k) != v for k, v in expected.items()):
            return False
        for key, value in writes.items():
            if value is None:
                self._space(ns).pop(key, None)
            else:
                self._put(ns, key, value)
        return True

    # keyvalue_batch
    async def batch_set(self, ns: str, entries: dict[str, bytes]) -> None:
        for key, value in entries.items():
            self._put(ns, key, value)

    async def batch_get(self, ns: str, keys: list[str]) -> list[bytes | None]:
        return [self._value(ns, k) for k in keys]

    async def batch_delete(self, ns: str, keys: list[str]) -> int:
        return sum([await self.delete(ns, k) for k in keys])

    # keyvalue_cas
    async def compare_and_swap(self, ns: str, key: str, expected: bytes | None, new: bytes) -> tuple[bool, bytes | None]:
        current = self._value(ns, key)
        if current != expected:
            return False, current
        self._put(ns, key, new)
        return True, bytes(new)

    async def compare_and_delete(self, ns: str, key: str, expected: bytes) -> tuple[bool, bytes | None]:
        current = self._value(ns, key)
        if current is None or current != expected:
            return False, current
        del self._space(ns)[key]
        return True, None
