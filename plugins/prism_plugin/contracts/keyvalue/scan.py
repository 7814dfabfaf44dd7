"""keyvalue_scan: Scan, ScanKeys, Count over a literal prefix."""

from __future__ import annotations

from typing import AsyncIterator, Protocol

from prism.keyvalue.v1 import keyvalue_pb2 as pb
from prism.keyvalue.v1 import keyvalue_pb2_grpc as pb_grpc
from prism_plugin.contract import InterfaceServicer
from prism_plugin.status import invalid


class Store(Protocol):
    def scan(self, ns: str, prefix: str, limit: int, with_values: bool) -> AsyncIterator[tuple[str, bytes | None]]:
        """Each live key starting with the literal prefix, exactly once; limit 0 is unlimited.
        The value is None when with_values is False."""

    async def count(self, ns: str, prefix: str) -> int:
        ...


class Servicer(InterfaceServicer[Store], pb_grpc.KeyValueScanServicer):
    @staticmethod
    def _limit(request) -> int:
        if request.limit < 0:
            raise invalid("limit must be >= 0 (0 is unlimited)")
        return request.limit

    async def Scan(self, request, context):
        async for key, value in self.store.scan(request.namespace, request.prefix, self._limit(request), True):
            yield pb.ScanEntry(key=key, value=value or b"")

    async def ScanKeys(self, request, context):
        async for key, _ in self.store.scan(request.namespace, request.prefix, self._limit(request), False):
            yield pb.ScanKey(key=key)

    async def Count(self, request, context):
        return pb.CountResponse(count=await self.store.count(request.namespace, request.prefix))
