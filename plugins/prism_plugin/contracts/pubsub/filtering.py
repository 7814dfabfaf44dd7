"""pubsub_filtering: PublishWithAttributes, SubscribeFiltered (a conjunction of attribute
conditions, checked here with `accepts` so every plugin filters the same way)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import AsyncIterator, Mapping, Protocol

from prism.pubsub.v1 import pubsub_pb2 as pb
from prism.pubsub.v1 import pubsub_pb2_grpc as pb_grpc
from prism_plugin.contract import InterfaceServicer
from prism_plugin.contracts.pubsub.basic import Event, stream
from prism_plugin.status import invalid, shown


@dataclass(frozen=True)
class Condition:
    attribute: str
    values: frozenset[str] | None  # equals / in_set; None: only presence matters
    present: bool = True


def conditions(all_of) -> tuple[Condition, ...]:
    """The request's conditions; INVALID_ARGUMENT for one without a test or an empty in_set."""
    parsed = []
    for i, c in enumerate(all_of):
        test = c.WhichOneof("test")
        if test == "equals":
            parsed.append(Condition(c.attribute, frozenset([c.equals])))
        elif test == "in_set":
            if not c.in_set.values:
                raise invalid(f"all_of[{i}] ({shown(c.attribute)}): in_set needs at least one value")
            parsed.append(Condition(c.attribute, frozenset(c.in_set.values)))
        elif test == "exists":
            parsed.append(Condition(c.attribute, None, c.exists))
        else:
            raise invalid(f"all_of[{i}] ({shown(c.attribute)}): set one of equals, in_set, exists")
    return tuple(parsed)


def accepts(filter_: tuple[Condition, ...], attributes: Mapping[str, str]) -> bool:
    for c in filter_:
        if c.values is None:
            if (c.attribute in attributes) != c.present:
                return False
        elif attributes.get(c.attribute) not in c.values:
            return False
    return True


class Store(Protocol):
    async def publish_with_attributes(self, ns: str, topic: str, payload: bytes, attributes: dict[str, str]) -> str:
        ...

    def subscribe_filtered(self, ns: str, topic: str, filter_: tuple[Condition, ...]) -> AsyncIterator[Event]:
        """As subscribe, for the topic's messages `accepts(filter_, attributes)` accepts."""


class Servicer(InterfaceServicer[Store], pb_grpc.PubSubFilteringServicer):
    async def PublishWithAttributes(self, request, context):
        attributes = dict(request.attributes)
        message_id = await self.store.publish_with_attributes(request.namespace, request.topic, request.payload, attributes)
        return pb.PublishResponse(message_id=message_id)

    async def SubscribeFiltered(self, request, context):
        filter_ = conditions(request.all_of)
        async for e in stream(self.store.subscribe_filtered(request.namespace, request.topic, filter_)):
            yield e
