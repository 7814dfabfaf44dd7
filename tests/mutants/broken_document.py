"""Plausible bugs of a document store, each a small change to MemStore's documents: the
document suites and the #model-document cell must catch each one."""

from __future__ import annotations

import asyncio
import math
from typing import Callable

import prism_memstore
from prism_memstore import documents
from prism_memstore.documents import MemDocuments
from prism_plugin.contracts.document.values import get


def document_store(store_class: type[MemDocuments]) -> Callable[[], None]:
    def patch() -> None:
        prism_memstore.MemDocuments = store_class  # type: ignore[misc]

    return patch


class MergeIsReplace(MemDocuments):
    async def update(self, ns, collection, id, body, merge):
        return await super().update(ns, collection, id, body, False)


class MergeIsShallow(MemDocuments):
    async def update(self, ns, collection, id, body, merge):
        current = await self.get(ns, collection, id)
        if merge and current is not None:
            body = {k: v for k, v in {**current, **body}.items() if v is not None}
        return await super().update(ns, collection, id, body, False)


class NeSkipsMissing(MemDocuments):
    """$ne as SQL's `field <> value`: a missing field never matches."""

    def _matching(self, ns, collection, filter_):
        found = super()._matching(ns, collection, filter_)
        return [(i, b) for i, b in found if all(get(b, c.path)[0] for c in getattr(filter_, "parts", ()) if getattr(c, "op", "") == "$ne")]


class TrueEqualsOne(MemDocuments):
    """Python's equality: True == 1."""

    def _matching(self, ns, collection, filter_):
        real = documents.canon
        documents.canon = lambda v: ("number", float(v)) if isinstance(v, bool) else real(v)  # type: ignore[assignment]
        try:
            return super()._matching(ns, collection, filter_)
        finally:
            documents.canon = real  # type: ignore[assignment]


class SortTiesInInsertionOrder(MemDocuments):
    async def find(self, ns, collection, query):
        found = self._matching(ns, collection, query.filter)  # no sort by id first
        for path, descending in reversed(query.sort):
            found.sort(key=lambda doc: documents.sort_key(*get(doc[1], path)), reverse=descending)
        end = None if query.limit is None else query.skip + query.limit
        return found[query.skip : end]


class SkipOffByOne(MemDocuments):
    async def find(self, ns, collection, query):
        if query.skip:
            query = type(query)(query.filter, query.sort, query.skip - 1, query.limit, query.projection)
        return await super().find(ns, collection, query)


class ProjectionTopLevelOnly(MemDocuments):
    async def find(self, ns, collection, query):
        found = await super().find(ns, collection, type(query)(query.filter, query.sort, query.skip, query.limit))
        if not query.projection:
            return found
        top = {p[0] for p in query.projection}
        return [(i, {k: v for k, v in b.items() if k in top}) for i, b in found]


class AverageOfIntsIsFloored(MemDocuments):
    async def aggregate(self, ns, collection, filter, group_by, function, field):
        groups = await super().aggregate(ns, collection, filter, group_by, function, field)
        if function == "avg":
            return [type(g)(g.present, g.key, float(math.floor(g.value))) for g in groups]
        return groups


class UniqueCheckNotAtomic(MemDocuments):
    """Checks the unique index, then writes after an await: concurrent duplicates slip in."""

    async def insert(self, ns, collection, id, body):
        coll = self._collection(ns, collection)
        coll.check_unique(id or "?", body)
        await asyncio.sleep(0.005)
        saved, coll.indexes = coll.indexes, {}
        try:
            return await super().insert(ns, collection, id, body)
        finally:
            coll.indexes = saved


class UniqueIgnoresUpdates(MemDocuments):
    async def update(self, ns, collection, id, body, merge):
        coll = self._collection(ns, collection)
        saved, coll.indexes = coll.indexes, {}
        try:
            return await super().update(ns, collection, id, body, merge)
        finally:
            coll.indexes = saved


class MergeNullStoresNull(MemDocuments):
    """A merge patch's null written as null instead of removing the field."""

    async def update(self, ns, collection, id, body, merge):
        current = await self.get(ns, collection, id)
        if merge and current is not None:
            body = {**current, **body}
        return await super().update(ns, collection, id, body, False)


class DropKeepsIndexes(MemDocuments):
    """DropNamespace removes the documents but leaves the indexes behind."""

    def drop(self, ns):
        for coll in self._spaces.get(ns, {}).values():
            coll.docs.clear()


MUTANTS: dict[str, tuple[str, Callable[[], None]]] = {
    "document-merge-is-replace": ("document_basic", document_store(MergeIsReplace)),
    "document-merge-is-shallow": ("document_basic", document_store(MergeIsShallow)),
    "document-ne-skips-missing": ("document_query", document_store(NeSkipsMissing)),
    "document-true-equals-one": ("document_query", document_store(TrueEqualsOne)),
    "document-sort-ties-in-insertion-order": ("document_query", document_store(SortTiesInInsertionOrder)),
    "document-skip-off-by-one": ("document_query", document_store(SkipOffByOne)),
    "document-projection-top-level-only": ("document_query", document_store(ProjectionTopLevelOnly)),
    "document-average-of-ints-floored": ("document_query", document_store(AverageOfIntsIsFloored)),
    "document-unique-check-not-atomic": ("document_indexing", document_store(UniqueCheckNotAtomic)),
    "document-unique-ignores-updates": ("document_indexing", document_store(UniqueIgnoresUpdates)),
    "document-drop-keeps-indexes": ("document_indexing", document_store(DropKeepsIndexes)),
    "document-merge-null-stored": ("model-document", document_store(MergeNullStoresNull)),
}
