"""Plausible bugs of the plugin SDK's runtime (plugins/prism_plugin/runtime.py): the #conventions
cell must catch each one."""

from __future__ import annotations

from typing import Callable

from prism_plugin import runtime


def undecodable_requests_unknown() -> None:
    """grpc-python's default: a request that does not decode answers UNKNOWN."""
    runtime._tolerant = lambda deserializer: deserializer  # type: ignore[assignment]


MUTANTS: dict[str, tuple[str, Callable[[], None]]] = {
    "undecodable-requests-unknown": ("conventions", undecodable_requests_unknown),
}
