"""What a backend adapter implements; the servicers (servicers/) do validation and protos.

Keys are non-empty str, values bytes; `None` means missing. Every method is scoped by namespace.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import AsyncIterator, Protocol


@dataclass(frozen=True)
class Limits:
    """The plugin's own limits; its registry entry must declare the same numbers."""

    max_value_bytes: int = 1024 * 1024
    max_batch_size: int = 1000


class KeyValueStore(Protocol):
    async def kv_set(self, ns: str, key: str, value: bytes, ttl_ms: int | None = None) -> None:
        """Store, overwriting; ttl_ms None clears any expiry."""

    async def kv_get(self, ns: str, key: str) -> bytes | None: ...
    async def kv_delete(self, ns: str, key: str) -> bool: ...
    async def kv_exists(self, ns: str, key: str) -> bool: ...

    def kv_scan(self, ns: str, prefix: str, limit: int, with_values: bool) -> AsyncIterator[tuple[str, bytes | None]]:
        """Each key starting with the literal prefix once; limit 0 is unlimited."""

    async def kv_count(self, ns: str, prefix: str) -> int: ...
    async def kv_expire(self, ns: str, key: str, ttl_ms: int) -> bool: ...

    async def kv_ttl(self, ns: str, key: str) -> int | None:
        """None: missing key; -1: no expiry; else remaining ms."""

    async def kv_persist(self, ns: str, key: str) -> bool: ...

    async def kv_commit(self, ns: str, expected: dict[str, bytes | None], writes: dict[str, bytes | None]) -> bool:
        """Atomically: if every key of `expected` still has that value (None: absent), apply
        `writes` (None: delete) and return True; else change nothing and return False."""

    async def kv_batch_set(self, ns: str, entries: dict[str, bytes]) -> None: ...
    async def kv_batch_get(self, ns: str, keys: list[str]) -> list[bytes | None]: ...
    async def kv_batch_delete(self, ns: str, keys: list[str]) -> int: ...

    async def kv_compare_and_swap(self, ns: str, key: str, expected: bytes | None, new: bytes) -> tuple[bool, bytes | None]:
        """expected None: only if absent. Returns (swapped, value after the call)."""

    async def kv_compare_and_delete(self, ns: str, key: str, expected: bytes) -> tuple[bool, bytes | None]: ...


class ListStore(Protocol):
    async def list_push(self, ns: str, key: str, values: list[bytes], left: bool) -> int: ...
    async def list_pop(self, ns: str, key: str, count: int, left: bool) -> list[bytes]: ...
    async def list_length(self, ns: str, key: str) -> int: ...

    async def list_index(self, ns: str, key: str, index: int) -> bytes | None:
        """None when the index is outside the list."""

    async def list_set(self, ns: str, key: str, index: int, value: bytes) -> bool:
        """False when the index is outside the list."""

    async def list_insert(self, ns: str, key: str, before: bool, pivot: bytes, value: bytes) -> int | None:
        """New length, or None when the list or the pivot is missing."""

    async def list_remove(self, ns: str, key: str, value: bytes, count: int) -> int: ...
    async def list_range(self, ns: str, key: str, start: int, stop: int) -> list[bytes]: ...
    async def list_trim(self, ns: str, key: str, start: int, stop: int) -> int: ...

    async def list_blocking_pop(self, ns: str, keys: list[str], timeout_s: float, left: bool) -> tuple[str, bytes] | None:
        """The first value of the first non-empty key, waiting up to timeout_s; None on timeout."""
