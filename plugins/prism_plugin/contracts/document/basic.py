"""document_basic: Insert, InsertMany, Get, Update (replace or JSON merge patch), Delete.

InsertMany is all or nothing, so every store implements it itself (insert_many): a loop over
insert cannot be made atomic generically (undoing the documents inserted before a refusal
races with the writers that may already have updated or deleted them)."""

from __future__ import annotations

from typing import Protocol

from prism.document.v1 import document_pb2 as pb
from prism.document.v1 import document_pb2_grpc as pb_grpc
from prism_plugin.contract import InterfaceServicer
from prism_plugin.contracts.document.values import JSON, body_of, to_struct
from prism_plugin.status import already_exists, invalid, not_found, shown


class Store(Protocol):
    async def insert(self, ns: str, collection: str, id: str, body: dict[str, JSON]) -> str:
        """The document's id: `id`, or a new one when it is empty. Raises ALREADY_EXISTS
        (prism_plugin.status.already_exists) for an existing id or a unique index broken."""

    async def insert_many(self, ns: str, collection: str, docs: list[tuple[str, dict[str, JSON]]]) -> list[str]:
        """The ids of (id, body) in order (a new one for each empty id), all inserted or none:
        raises ALREADY_EXISTS, writing nothing, for an existing id or a unique index broken by a
        document against a stored one or another of `docs`. `docs` is never empty and names no
        id twice (the servicer refuses such a batch)."""

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

    async def InsertMany(self, request, context):
        docs = []
        for i, doc in enumerate(request.documents):
            if len(doc.id.encode()) > self.limits.max_name_bytes:
                raise invalid(f"documents[{i}].id is longer than max_name_bytes={self.limits.max_name_bytes}")
            docs.append((doc.id, body_of(doc.body, f"documents[{i}].body")))
        seen: dict[str, int] = {}
        for i, (id, _) in enumerate(docs):
            if id and seen.setdefault(id, i) != i:
                raise already_exists(f"documents[{seen[id]}] and documents[{i}] both have id {shown(id)}")
        if not docs:
            return pb.InsertManyResponse()
        return pb.InsertManyResponse(ids=await self.store.insert_many(request.namespace, request.collection, docs))

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
