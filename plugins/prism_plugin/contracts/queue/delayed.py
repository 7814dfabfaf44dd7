"""queue_delayed: EnqueueDelayed, GetScheduledCount. A delayed message is invisible until its
delay has passed, then queues as if enqueued at that moment."""

from __future__ import annotations

from typing import Protocol

from prism.queue.v1 import queue_pb2 as pb
from prism.queue.v1 import queue_pb2_grpc as pb_grpc
from prism_plugin.contract import InterfaceServicer
from prism_plugin.contracts.queue.basic import duration_ms


class Store(Protocol):
    async def enqueue(self, ns: str, queue: str, payload: bytes, priority: int, delay_ms: int) -> str:
        """See queue_basic."""

    async def scheduled_count(self, ns: str, queue: str) -> int:
        """Messages of the queue whose delay has not passed yet."""


class Servicer(InterfaceServicer[Store], pb_grpc.QueueDelayedServicer):
    async def EnqueueDelayed(self, request, context):
        delay = duration_ms("delay_ms", request.delay_ms, 0)
        return pb.EnqueueResponse(message_id=await self.store.enqueue(request.namespace, request.queue, request.payload, 0, delay))

    async def GetScheduledCount(self, request, context):
        return pb.GetScheduledCountResponse(count=await self.store.scheduled_count(request.namespace, request.queue))
