"""queue_priority: EnqueueWithPriority. Higher priority first; FIFO within a priority."""

from __future__ import annotations

from typing import Protocol

from prism.queue.v1 import queue_pb2 as pb
from prism.queue.v1 import queue_pb2_grpc as pb_grpc
from prism_plugin.contract import InterfaceServicer


class Store(Protocol):
    async def enqueue(self, ns: str, queue: str, payload: bytes, priority: int, delay_ms: int) -> str:
        """See queue_basic; any int32 priority, higher first."""


class Servicer(InterfaceServicer[Store], pb_grpc.QueuePriorityServicer):
    async def EnqueueWithPriority(self, request, context):
        message_id = await self.store.enqueue(request.namespace, request.queue, request.payload, request.priority, 0)
        return pb.EnqueueResponse(message_id=message_id)
