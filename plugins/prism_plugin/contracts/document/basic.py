"""document_basic: Insert, Get, Update (replace or JSON merge patch), Delete."""

from __future__ import annotations

from typing import Protocol

from prism.document.v1 import document_pb2 as pb
from prism.document.v1 import document_pb2_grpc as pb_grpc
from prism_plugin.contract import InterfaceServicer
from prism_plugin.contracts.document.values import JSON, body_of, to_struct
from prism_plugin.status import invalid, not_found, shown


class Store(Protocol):
    async def insert(self, ns: str, collection: str, id: str, body: dict[str, JSON]) -> str:
        """The document's id: `id`, or a new one when it is empty. Raises ALREADY_EXISTS
        (prism_plugin.status.already_exists) for an existing id or a unique index broken."""

    async def get(self, ns: str, collection: str, id: str) -> dict[str, JSON] | None:
        ...

    async def update(self, ns: str, collection: str, id: str, body: dict[str, JSON], merge: bool) -> dict[str, JSON] | None:
        """The body as stored (None: no such document). merge: `body` is an RFC 7396 patch
        (values.merge_patch). Raises ALREADY_EXISTS for a unique index broken, changing nothing."""

    async def delete(self, ns: str, collection: str, id: str) -> bool:
        """Whether the document was there."""


class Servicer(InterfaceServicer[Store], pb_grpc.DocumentBasicServicer):
    async def Insert(self, request, context):
        doc = request.document
        if len(doc.id.encode()) > self.limits.max_name_bytes:
            raise invalid(f"document.id is longer than max_name_bytes={self.limits.max_name_bytes}")
        body = body_of(doc.body, "document.body")
        return pb.InsertResponse(id=await self.store.insert(request.namespace, request.collection, doc.id, body))

    async def Get(self, request, context):
        body = await self.store.get(request.namespace, request.collection, request.id)
        if body is None:
            raise not_found(f"no document {shown(request.id)} in collection {shown(request.collection)}")
        return pb.Document(id=request.id, body=to_struct(body))

    async def Update(self, request, context):
        patch = body_of(request.body, "body")
        body = await self.store.update(request.namespace, request.collection, request.id, patch, request.merge)
        if body is None:
            raise not_found(f"no document {shown(request.id)} in collection {shown(request.collection)}")
        return pb.Document(id=request.id, body=to_struct(body))

    async def Delete(self, request, context):
        return pb.DeleteResponse(found=await self.store.delete(request.namespace, request.collection, request.id))
