"""list_blocking: BlockingPopLeft, BlockingPopRight over several keys, with a timeout that never
outlasts the caller's deadline."""

from __future__ import annotations

from typing import Protocol

from prism.list.v1 import list_pb2 as pb
from prism.list.v1 import list_pb2_grpc as pb_grpc
from prism_plugin.contract import InterfaceServicer
from prism_plugin.status import invalid

# Answer "empty" this long before the caller's deadline, so the answer arrives in time.
DEADLINE_MARGIN_S = 0.25


class Store(Protocol):
    async def blocking_pop(self, ns: str, keys: list[str], timeout_s: float, left: bool) -> tuple[str, bytes] | None:
        """The first value of the first non-empty key in argument order, waiting up to
        timeout_s for a push; None on timeout."""


class Servicer(InterfaceServicer[Store], pb_grpc.ListBlockingServicer):
    async def _pop(self, request, context, left: bool):
        if not request.keys:
            raise invalid("keys must hold at least one key")
        if request.timeout_ms <= 0:
            raise invalid(f"timeout_ms must be > 0, got {request.timeout_ms}")
        timeout_s = request.timeout_ms / 1000
        remaining = context.time_remaining()
        if remaining is not None:
            timeout_s = max(0.0, min(timeout_s, remaining - DEADLINE_MARGIN_S))
        got = await self.store.blocking_pop(request.namespace, list(request.keys), timeout_s, left)
        if got is None:
            return pb.BlockingPopResponse(found=False)
        return pb.BlockingPopResponse(found=True, key=got[0], value=got[1])

    async def BlockingPopLeft(self, request, context):
        return await self._pop(request, context, left=True)

    async def BlockingPopRight(self, request, context):
        return await self._pop(request, context, left=False)
