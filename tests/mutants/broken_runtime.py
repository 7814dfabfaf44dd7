"""Plausible bugs of the plugin SDK's runtime (plugins/prism_plugin/runtime.py): the #conventions
cell must catch each one."""

from __future__ import annotations

from typing import Callable

import prism_memstore
from prism_memstore.keyvalue import MemKeyValue
from prism_plugin import runtime


def undecodable_requests_unknown() -> None:
    """grpc-python's default: a request that does not decode answers UNKNOWN."""
    runtime._tolerant = lambda deserializer: deserializer  # type: ignore[assignment]


class LargeValueLosesTheConnection(MemKeyValue):
    """As RabbitMQ's frame_too_large did: a value the backend cannot take closes the plugin's
    only connection, every later call fails, and health still says SERVING."""

    lost = False

    async def set(self, ns, key, value):
        if len(value) >= 512 * 1024:
            LargeValueLosesTheConnection.lost = True
        if LargeValueLosesTheConnection.lost:
            raise ConnectionError("connection closed by the backend")
        await super().set(ns, key, value)

    async def get(self, ns, key):
        if LargeValueLosesTheConnection.lost:
            raise ConnectionError("connection closed by the backend")
        return await super().get(ns, key)


def large_value_loses_the_connection() -> None:
    prism_memstore.MemKeyValue = LargeValueLosesTheConnection  # type: ignore[misc]


MUTANTS: dict[str, tuple[str, Callable[[], None]]] = {
    "undecodable-requests-unknown": ("conventions", undecodable_requests_unknown),
    "large-value-loses-the-connection": ("conventions", large_value_loses_the_connection),
}
