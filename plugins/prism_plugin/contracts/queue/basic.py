"""queue_basic: Enqueue, Dequeue, Peek. What the other queue contracts share lives here too:
the delivered message and the bound on durations."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from prism.queue.v1 import queue_pb2 as pb
from prism.queue.v1 import queue_pb2_grpc as pb_grpc
from prism_plugin.contract import InterfaceServicer
from prism_plugin.status import invalid

# About 31 years: longer durations would overflow what backends count in (ms since the epoch).
MAX_DURATION_MS = 1_000_000_000_000


@dataclass(frozen=True)
class Delivered:
    """A message as Dequeue, DequeueWithTimeout or Peek hand it out."""

    message_id: str
    payload: bytes
    delivery_count: int  # this delivery included; Peek: deliveries so far
    priority: int = 0
    receipt: str = ""  # DequeueWithTimeout only


def duration_ms(field: str, value: int, minimum: int) -> int:
    """A duration field within minimum..MAX_DURATION_MS, else INVALID_ARGUMENT."""
    if not minimum <= value <= MAX_DURATION_MS:
        raise invalid(f"{field} must be in {minimum}..{MAX_DURATION_MS}, got {value}")
    return value


def answer(message: Delivered | None) -> pb.DequeueResponse:
    if message is None:
        return pb.DequeueResponse(found=False)
    return pb.DequeueResponse(
        found=True,
        message=pb.QueueMessage(
            message_id=message.message_id,
            payload=message.payload,
            delivery_count=message.delivery_count,
            receipt=message.receipt,
            priority=message.priority,
        ),
    )


class Store(Protocol):
    async def enqueue(self, ns: str, queue: str, payload: bytes, priority: int, delay_ms: int) -> str:
        """Append a message, available after delay_ms; its new message id."""

    async def dequeue(self, ns: str, queue: str, visibility_ms: int | None) -> Delivered | None:
        """Deliver the next visible message (highest priority, then earliest available, then
        enqueue order), atomically with respect to other consumers. visibility_ms None: remove
        it; else hide it that long under a new receipt, counting the delivery."""

    async def peek(self, ns: str, queue: str) -> Delivered | None:
        """The message dequeue would deliver next, unchanged."""


class Servicer(InterfaceServicer[Store], pb_grpc.QueueBasicServicer):
    async def Enqueue(self, request, context):
        return pb.EnqueueResponse(message_id=await self.store.enqueue(request.namespace, request.queue, request.payload, 0, 0))

    async def Dequeue(self, request, context):
        return answer(await self.store.dequeue(request.namespace, request.queue, None))

    async def Peek(self, request, context):
        return answer(await self.store.peek(request.namespace, request.queue))
