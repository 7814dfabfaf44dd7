"""keyvalue_batch: BatchSet, BatchGet, BatchDelete. The batch size bound is a convention
(max_batch_size); an answer is bounded by max_response_bytes before it is built."""

from __future__ import annotations

from typing import Protocol

from prism.keyvalue.v1 import keyvalue_pb2 as pb
from prism.keyvalue.v1 import keyvalue_pb2_grpc as pb_grpc
from prism_plugin.contract import InterfaceServicer
from prism_plugin.status import resource_exhausted


class Store(Protocol):
    async def batch_set(self, ns: str, entries: dict[str, bytes]) -> None:
        """Store every entry (clearing expiries), atomically where the backend can."""

    async def batch_get(self, ns: str, keys: list[str]) -> list[bytes | None]:
        """Values of distinct keys, in order; None for a missing key."""

    async def batch_delete(self, ns: str, keys: list[str]) -> int:
        """How many of the distinct keys existed."""


class Servicer(InterfaceServicer[Store], pb_grpc.KeyValueBatchServicer):
    async def BatchSet(self, request, context):
        if request.entries:
            await self.store.batch_set(request.namespace, {e.key: e.value for e in request.entries})
        return pb.BatchSetResponse()

    async def BatchGet(self, request, context):
        distinct = list(dict.fromkeys(request.keys))
        values = dict(zip(distinct, await self.store.batch_get(request.namespace, distinct))) if distinct else {}
        size = sum(len(values[k] or b"") + len(k) for k in request.keys)
        if size > self.limits.max_response_bytes:
            raise resource_exhausted(
                f"the answer would hold {size} bytes, more than max_response_bytes={self.limits.max_response_bytes}; ask for fewer keys"
            )
        return pb.BatchGetResponse(
            results=[pb.BatchGetResult(key=k, found=values[k] is not None, value=values[k] or b"") for k in request.keys]
        )

    async def BatchDelete(self, request, context):
        distinct = list(dict.fromkeys(request.keys))
        return pb.BatchDeleteResponse(deleted=await self.store.batch_delete(request.namespace, distinct) if distinct else 0)
