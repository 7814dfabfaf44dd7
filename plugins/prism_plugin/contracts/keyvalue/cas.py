"""keyvalue_cas: CompareAndSwap (expected may be "absent"), CompareAndDelete. A mismatch is an
answer (swapped/deleted false with the current value), not an error."""

from __future__ import annotations

from typing import Protocol

from prism.keyvalue.v1 import keyvalue_pb2 as pb
from prism.keyvalue.v1 import keyvalue_pb2_grpc as pb_grpc
from prism_plugin.contract import InterfaceServicer


class Store(Protocol):
    async def compare_and_swap(self, ns: str, key: str, expected: bytes | None, new: bytes) -> tuple[bool, bytes | None]:
        """Atomically: store `new` if the value is `expected` (None: only if absent).
        Returns (swapped, the value after the call)."""

    async def compare_and_delete(self, ns: str, key: str, expected: bytes) -> tuple[bool, bytes | None]:
        """Atomically delete if the value is `expected`. Returns (deleted, the value after)."""


class Servicer(InterfaceServicer[Store], pb_grpc.KeyValueCASServicer):
    async def CompareAndSwap(self, request, context):
        expected = request.expected if request.HasField("expected") else None
        swapped, current = await self.store.compare_and_swap(request.namespace, request.key, expected, request.new_value)
        return pb.CompareAndSwapResponse(swapped=swapped, exists=current is not None, current_value=current or b"")

    async def CompareAndDelete(self, request, context):
        deleted, current = await self.store.compare_and_delete(request.namespace, request.key, request.expected)
        return pb.CompareAndDeleteResponse(deleted=deleted, exists=current is not None, current_value=current or b"")
