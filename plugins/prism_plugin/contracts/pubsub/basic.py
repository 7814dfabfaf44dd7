"""pubsub_basic: Publish, Subscribe (stream), Unsubscribe. What the other pub/sub contracts
share lives here too: the events a subscription yields and their wire form."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import AsyncIterator, Protocol, Union

from prism.pubsub.v1 import pubsub_pb2 as pb
from prism.pubsub.v1 import pubsub_pb2_grpc as pb_grpc
from prism_plugin.contract import InterfaceServicer
from prism_plugin.status import not_found, shown


@dataclass(frozen=True)
class Ready:
    """The subscription is live on the backend: what is published from now on is delivered."""

    subscription_id: str


@dataclass(frozen=True)
class Published:
    topic: str
    payload: bytes
    message_id: str = ""
    attributes: dict[str, str] = field(default_factory=dict)
    ordering_key: str = ""
    publish_time_ms: int = 0


Event = Union[Ready, Published]


def event(e: Event) -> pb.SubscriptionEvent:
    if isinstance(e, Ready):
        return pb.SubscriptionEvent(ready=pb.Ready(subscription_id=e.subscription_id))
    return pb.SubscriptionEvent(
        message=pb.Message(
            topic=e.topic,
            payload=e.payload,
            message_id=e.message_id,
            attributes=e.attributes,
            ordering_key=e.ordering_key,
            publish_time_ms=e.publish_time_ms,
        )
    )


async def stream(events: AsyncIterator[Event]) -> AsyncIterator[pb.SubscriptionEvent]:
    async for e in events:
        yield event(e)


class Store(Protocol):
    async def publish(self, ns: str, topic: str, payload: bytes) -> str:
        """Deliver to every live subscription of the topic; the message id ("" if none)."""

    def subscribe(self, ns: str, topic: str) -> AsyncIterator[Event]:
        """Ready once live, then each message of the topic in publish order, until
        unsubscribe ends it or the caller stops iterating (then release everything held)."""

    async def unsubscribe(self, ns: str, subscription_id: str) -> bool:
        """End the subscription's iterator; False if no live subscription has that id."""


class Servicer(InterfaceServicer[Store], pb_grpc.PubSubBasicServicer):
    async def Publish(self, request, context):
        return pb.PublishResponse(message_id=await self.store.publish(request.namespace, request.topic, request.payload))

    async def Subscribe(self, request, context):
        async for e in stream(self.store.subscribe(request.namespace, request.topic)):
            yield e

    async def Unsubscribe(self, request, context):
        if not await self.store.unsubscribe(request.namespace, request.subscription_id):
            raise not_found(f"no live subscription {shown(request.subscription_id)}")
        return pb.UnsubscribeResponse()
