"""queue_visibility: DequeueWithTimeout, ExtendVisibility, Release, Ack, by receipt."""

from __future__ import annotations

from typing import Protocol

from prism.queue.v1 import queue_pb2 as pb
from prism.queue.v1 import queue_pb2_grpc as pb_grpc
from prism_plugin.contract import InterfaceServicer
from prism_plugin.contracts.queue.basic import Delivered, answer, duration_ms
from prism_plugin.status import failed_precondition, shown


class Store(Protocol):
    async def dequeue(self, ns: str, queue: str, visibility_ms: int | None) -> Delivered | None:
        """See queue_basic; here always with a visibility timeout."""

    async def extend(self, ns: str, queue: str, receipt: str, visibility_ms: int) -> bool:
        """Hide the message for visibility_ms from now; False when the receipt is not current."""

    async def release(self, ns: str, queue: str, receipt: str) -> bool:
        """Make the message visible now (it keeps its place); False when not current."""

    async def ack(self, ns: str, queue: str, receipt: str) -> bool:
        """Remove the message for good; False (and nothing removed) when not current."""


def _current(done: bool, operation: str, receipt: str) -> None:
    if not done:
        raise failed_precondition(f"{operation}: receipt {shown(receipt)} is not current (redelivered, acked, released or unknown)")


class Servicer(InterfaceServicer[Store], pb_grpc.QueueVisibilityServicer):
    async def DequeueWithTimeout(self, request, context):
        ms = duration_ms("visibility_timeout_ms", request.visibility_timeout_ms, 1)
        return answer(await self.store.dequeue(request.namespace, request.queue, ms))

    async def ExtendVisibility(self, request, context):
        ms = duration_ms("visibility_timeout_ms", request.visibility_timeout_ms, 1)
        _current(await self.store.extend(request.namespace, request.queue, request.receipt, ms), "ExtendVisibility", request.receipt)
        return pb.ExtendVisibilityResponse()

    async def Release(self, request, context):
        _current(await self.store.release(request.namespace, request.queue, request.receipt), "Release", request.receipt)
        return pb.ReleaseResponse()

    async def Ack(self, request, context):
        _current(await self.store.ack(request.namespace, request.queue, request.receipt), "Ack", request.receipt)
        return pb.AckResponse()
