"""pubsub_ordering: PublishOrdered. Same ordering key, same order at every subscriber."""

from __future__ import annotations

from typing import Protocol

from prism.pubsub.v1 import pubsub_pb2 as pb
from prism.pubsub.v1 import pubsub_pb2_grpc as pb_grpc
from prism_plugin.contract import InterfaceServicer


class Store(Protocol):
    async def publish_ordered(self, ns: str, topic: str, payload: bytes, ordering_key: str) -> str:
        """Deliver as publish does; messages of one key reach each subscriber in this order."""


class Servicer(InterfaceServicer[Store], pb_grpc.PubSubOrderingServicer):
    async def PublishOrdered(self, request, context):
        message_id = await self.store.publish_ordered(request.namespace, request.topic, request.payload, request.ordering_key)
        return pb.PublishResponse(message_id=message_id)
