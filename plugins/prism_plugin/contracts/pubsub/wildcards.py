"""pubsub_wildcards: SubscribePattern, and the canonical pattern syntax every plugin matches
with (segments split on '.'; '*' one segment; '>' as the last segment one or more)."""

from __future__ import annotations

from typing import AsyncIterator, Protocol

from prism.pubsub.v1 import pubsub_pb2_grpc as pb_grpc
from prism_plugin.contract import InterfaceServicer
from prism_plugin.contracts.pubsub.basic import Event, stream
from prism_plugin.status import invalid

ONE = "*"
REST = ">"


def parse_pattern(pattern: str) -> tuple[str, ...]:
    """The pattern's segments; INVALID_ARGUMENT when '>' is not the last one."""
    segments = tuple(pattern.split("."))
    if REST in segments[:-1]:
        raise invalid("'>' may only be the last segment of a pattern")
    return segments


def matches(segments: tuple[str, ...], topic: str) -> bool:
    """Whether a topic matches a parsed pattern (the canonical matcher)."""
    parts = topic.split(".")
    if segments[-1] == REST:
        head = segments[:-1]
        if len(parts) <= len(head):
            return False
        parts = parts[: len(head)]
        segments = head
    elif len(parts) != len(segments):
        return False
    return all(s == ONE or s == p for s, p in zip(segments, parts))


class Store(Protocol):
    def subscribe_pattern(self, ns: str, segments: tuple[str, ...]) -> AsyncIterator[Event]:
        """As subscribe, for every topic `matches(segments, topic)` accepts."""


class Servicer(InterfaceServicer[Store], pb_grpc.PubSubWildcardsServicer):
    async def SubscribePattern(self, request, context):
        segments = parse_pattern(request.pattern)
        async for e in stream(self.store.subscribe_pattern(request.namespace, segments)):
            yield e
