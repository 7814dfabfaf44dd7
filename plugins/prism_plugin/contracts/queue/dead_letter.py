"""queue_dead_letter: ConfigureDeadLetter, GetDeadLetterQueue. A message delivered
max_deliveries times without an ack moves to the dead-letter queue when it would become
visible again."""

from __future__ import annotations

from typing import Protocol

from prism.queue.v1 import queue_pb2 as pb
from prism.queue.v1 import queue_pb2_grpc as pb_grpc
from prism_plugin.contract import InterfaceServicer
from prism_plugin.status import invalid, not_found, shown


class Store(Protocol):
    async def configure_dead_letter(self, ns: str, queue: str, dead_letter_queue: str, max_deliveries: int) -> None:
        """Set (or replace) the queue's dead-letter target and maximum deliveries."""

    async def dead_letter(self, ns: str, queue: str) -> tuple[str, int, int] | None:
        """(target, max deliveries, messages moved so far), after moving what is due; None
        when the queue has no dead-letter configuration."""


class Servicer(InterfaceServicer[Store], pb_grpc.QueueDeadLetterServicer):
    async def ConfigureDeadLetter(self, request, context):
        if request.max_deliveries <= 0:
            raise invalid(f"max_deliveries must be > 0, got {request.max_deliveries}")
        if request.dead_letter_queue == request.queue:
            raise invalid(f"dead_letter_queue must differ from queue {shown(request.queue)}")
        await self.store.configure_dead_letter(request.namespace, request.queue, request.dead_letter_queue, request.max_deliveries)
        return pb.ConfigureDeadLetterResponse()

    async def GetDeadLetterQueue(self, request, context):
        config = await self.store.dead_letter(request.namespace, request.queue)
        if config is None:
            raise not_found(f"queue {shown(request.queue)} has no dead-letter queue configured")
        target, max_deliveries, count = config
        return pb.GetDeadLetterQueueResponse(dead_letter_queue=target, max_deliveries=max_deliveries, count=count)
