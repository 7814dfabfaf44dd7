"""keyvalue_ttl: SetWithTTL, Expire, GetTTL, Persist. TTLs are milliseconds, > 0."""

from __future__ import annotations

from typing import Protocol

from prism.keyvalue.v1 import keyvalue_pb2 as pb
from prism.keyvalue.v1 import keyvalue_pb2_grpc as pb_grpc
from prism_plugin.contract import InterfaceServicer
from prism_plugin.status import invalid, not_found, shown

# About 31 years: longer TTLs would overflow what backends count in (Redis: ms since the epoch).
MAX_TTL_MS = 1_000_000_000_000


class Store(Protocol):
    async def set_with_ttl(self, ns: str, key: str, value: bytes, ttl_ms: int) -> None:
        ...

    async def expire(self, ns: str, key: str, ttl_ms: int) -> bool:
        """Set the expiry of an existing key; False (and nothing created) when it is missing."""

    async def remaining_ttl(self, ns: str, key: str) -> int | None:
        """None: missing key; -1: no expiry; else the remaining milliseconds."""

    async def persist(self, ns: str, key: str) -> bool:
        """Remove the expiry; whether there was one."""


def _ttl(ttl_ms: int) -> int:
    if not 0 < ttl_ms <= MAX_TTL_MS:
        raise invalid(f"ttl_ms must be in 1..{MAX_TTL_MS}, got {ttl_ms}")
    return ttl_ms


class Servicer(InterfaceServicer[Store], pb_grpc.KeyValueTTLServicer):
    async def SetWithTTL(self, request, context):
        await self.store.set_with_ttl(request.namespace, request.key, request.value, _ttl(request.ttl_ms))
        return pb.SetResponse()

    async def Expire(self, request, context):
        return pb.ExpireResponse(found=await self.store.expire(request.namespace, request.key, _ttl(request.ttl_ms)))

    async def GetTTL(self, request, context):
        ttl = await self.store.remaining_ttl(request.namespace, request.key)
        if ttl is None:
            raise not_found(f"key {shown(request.key)} not found")
        if ttl < 0:
            return pb.GetTTLResponse(has_expiry=False)
        return pb.GetTTLResponse(has_expiry=True, remaining_ms=ttl)

    async def Persist(self, request, context):
        return pb.PersistResponse(had_expiry=await self.store.persist(request.namespace, request.key))
