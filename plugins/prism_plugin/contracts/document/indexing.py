"""document_indexing: CreateIndex (fields, unique), DropIndex, ListIndexes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from prism.document.v1 import document_pb2 as pb
from prism.document.v1 import document_pb2_grpc as pb_grpc
from prism_plugin.contract import InterfaceServicer
from prism_plugin.contracts.document.values import Path, parse_path
from prism_plugin.status import invalid, not_found, shown

MAX_FIELDS = 8


@dataclass(frozen=True)
class IndexSpec:
    name: str
    fields: tuple[Path, ...]
    unique: bool


class Store(Protocol):
    async def create_index(self, ns: str, collection: str, index: IndexSpec) -> None:
        """Raises ALREADY_EXISTS for an existing name, or for a unique index the documents
        already break (then nothing is created). From then on a write breaking a unique index
        is refused with ALREADY_EXISTS, concurrent writes included."""

    async def drop_index(self, ns: str, collection: str, name: str) -> bool:
        """Whether the index was there."""

    async def list_indexes(self, ns: str, collection: str) -> list[IndexSpec]:
        ...


class Servicer(InterfaceServicer[Store], pb_grpc.DocumentIndexingServicer):
    async def CreateIndex(self, request, context):
        index = request.index
        if not index.name:
            raise invalid("index.name must be a non-empty string")
        if not 0 < len(index.fields) <= MAX_FIELDS:
            raise invalid(f"an index has 1 to {MAX_FIELDS} fields, got {len(index.fields)}")
        if len(set(index.fields)) != len(index.fields):
            raise invalid("index.fields repeats a path")
        fields = tuple(parse_path(f, "index field") for f in index.fields)
        await self.store.create_index(request.namespace, request.collection, IndexSpec(index.name, fields, index.unique))
        return pb.CreateIndexResponse()

    async def DropIndex(self, request, context):
        if not await self.store.drop_index(request.namespace, request.collection, request.name):
            raise not_found(f"no index {shown(request.name)} on collection {shown(request.collection)}")
        return pb.DropIndexResponse()

    async def ListIndexes(self, request, context):
        indexes = sorted(await self.store.list_indexes(request.namespace, request.collection), key=lambda i: i.name)
        return pb.ListIndexesResponse(
            indexes=[pb.Index(name=i.name, fields=[".".join(f) for f in i.fields], unique=i.unique) for i in indexes]
        )
