"""Plausible bugs of name building (issue 14): a store that identifies a (namespace, name) pair
by joining the parts with a separator, which is not injective once a part holds the separator
(names may hold any character, U+0000 included). The `#conventions` cell's look-alike case
must catch each one."""

from __future__ import annotations

import time
from collections.abc import MutableMapping
from typing import Callable, Iterator

import prism_memstore
from prism_memstore.keyvalue import MemKeyValue
from prism_memstore.pubsub import MemPubSub

JOIN = "\0"


class _Joined(MutableMapping):
    """One namespace's keys as a view of a flat dict keyed by namespace + NUL + key."""

    def __init__(self, flat: dict, ns: str) -> None:
        self.flat, self.prefix = flat, ns + JOIN

    def __getitem__(self, key):
        return self.flat[self.prefix + key]

    def __setitem__(self, key, value) -> None:
        self.flat[self.prefix + key] = value

    def __delitem__(self, key) -> None:
        del self.flat[self.prefix + key]

    def __iter__(self) -> Iterator[str]:
        return iter([k[len(self.prefix) :] for k in self.flat if k.startswith(self.prefix)])

    def __len__(self) -> int:
        return sum(1 for _ in self)


class KeysJoinedWithNul(MemKeyValue):
    """One flat dict keyed by f"{ns}\\0{key}": (ns, "b\\0c") and (ns + "\\0b", "c") are one key."""

    def __init__(self) -> None:
        super().__init__()
        self._flat: dict[str, tuple[bytes, float | None]] = {}

    def drop(self, ns: str) -> None:
        for key in list(_Joined(self._flat, ns)):
            del self._flat[ns + JOIN + key]

    def _space(self, ns: str):
        return _Joined(self._flat, ns)

    def _live(self, ns: str, key: str):
        entry = self._flat.get(ns + JOIN + key)
        if entry is not None and entry[1] is not None and entry[1] <= time.monotonic():
            del self._flat[ns + JOIN + key]
            return None
        return entry


class DurableSessionJoinedWithNul(MemPubSub):
    """A durable subscription is a session found by "\\0".join((ns, topic, durable name)), as a
    broker client id would be: the first pair to use an id owns it, and a look-alike pair
    resumes that session (its backlog, its live messages, its acked position)."""

    def __init__(self) -> None:
        super().__init__()
        self._sessions: dict[str, tuple[str, str]] = {}

    def _owner(self, ns: str, topic: str, durable_name: str) -> tuple[str, str]:
        return self._sessions.setdefault(JOIN.join((ns, topic, durable_name)), (ns, topic))

    def subscribe_durable(self, ns, topic, durable_name):
        return super().subscribe_durable(*self._owner(ns, topic, durable_name), durable_name)

    async def ack_durable(self, ns, topic, durable_name, message_id):
        return await super().ack_durable(*self._owner(ns, topic, durable_name), durable_name, message_id)


def keyvalue(store_class: type[MemKeyValue]) -> Callable[[], None]:
    def patch() -> None:
        prism_memstore.MemKeyValue = store_class  # type: ignore[misc]

    return patch


def pubsub(store_class: type[MemPubSub]) -> Callable[[], None]:
    def patch() -> None:
        prism_memstore.MemPubSub = store_class  # type: ignore[misc]

    return patch


MUTANTS: dict[str, tuple[str, Callable[[], None]]] = {
    "keyvalue-keys-joined-with-nul": ("conventions", keyvalue(KeysJoinedWithNul)),
    "durable-session-joined-with-nul": ("conventions", pubsub(DurableSessionJoinedWithNul)),
}
