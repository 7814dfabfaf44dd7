"""pubsub_persistent: PublishPersistent, SubscribeDurable, AckDurable, GetLastMessageID."""

from __future__ import annotations

from typing import AsyncIterator, Protocol

from prism.pubsub.v1 import pubsub_pb2 as pb
from prism.pubsub.v1 import pubsub_pb2_grpc as pb_grpc
from prism_plugin.contract import InterfaceServicer
from prism_plugin.contracts.pubsub.basic import Event, stream
from prism_plugin.status import not_found, shown


class Store(Protocol):
    async def publish_persistent(self, ns: str, topic: str, payload: bytes) -> str:
        """Keep the message for durable subscriptions (and deliver it live); its id."""

    def subscribe_durable(self, ns: str, topic: str, durable_name: str) -> AsyncIterator[Event]:
        """Ready, then every kept message after the durable name's last ack (a new name: none),
        in publish order, then the new ones."""

    async def ack_durable(self, ns: str, topic: str, durable_name: str, message_id: str) -> bool:
        """Move the durable name's position past message_id; False if the topic never had it."""

    async def last_message_id(self, ns: str, topic: str) -> str | None:
        ...


class Servicer(InterfaceServicer[Store], pb_grpc.PubSubPersistentServicer):
    async def PublishPersistent(self, request, context):
        message_id = await self.store.publish_persistent(request.namespace, request.topic, request.payload)
        return pb.PublishResponse(message_id=message_id)

    async def SubscribeDurable(self, request, context):
        async for e in stream(self.store.subscribe_durable(request.namespace, request.topic, request.durable_name)):
            yield e

    async def AckDurable(self, request, context):
        if not await self.store.ack_durable(request.namespace, request.topic, request.durable_name, request.message_id):
            raise not_found(f"topic {shown(request.topic)} has no message {shown(request.message_id)}")
        return pb.AckDurableResponse()

    async def GetLastMessageID(self, request, context):
        message_id = await self.store.last_message_id(request.namespace, request.topic)
        if message_id is None:
            raise not_found(f"no persistent message was published to topic {shown(request.topic)}")
        return pb.GetLastMessageIDResponse(message_id=message_id)
