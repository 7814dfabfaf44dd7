"""Plausible bugs of a document store, each a small change to MemStore's documents: the
document suites and the #model-document cell must catch each one."""

from __future__ import annotations

import asyncio
import math
import re
from typing import Callable

import prism_memstore
from prism_memstore import documents
from prism_memstore.documents import MemDocuments
from prism_plugin.contracts.document.filters import AllOf, Condition
from prism_plugin.contracts.document.values import get, merge_patch
from prism_plugin.status import already_exists


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


def merge_new_keys_verbatim(target, patch):
    """RFC 7396 but for a key the target lacks, which takes the patch's value as it is (nulls
    inside it stored as nulls)."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = value if key not in result else merge_new_keys_verbatim(result[key], value)
    return result


class MergeNewKeyKeepsNulls(MemDocuments):
    async def update(self, ns, collection, id, body, merge):
        current = await self.get(ns, collection, id)
        if merge and current is not None:
            body = merge_new_keys_verbatim(current, body)
        return await super().update(ns, collection, id, body, False)


def without_nulls(value):
    if isinstance(value, dict):
        return {k: without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [without_nulls(v) for v in value if v is not None]
    return value


class MergeCleansArrays(MemDocuments):
    """Merges an array of the patch into nothing element by element: its nulls are dropped."""

    async def update(self, ns, collection, id, body, merge):
        if merge:
            body = {k: without_nulls(v) if isinstance(v, list) else v for k, v in body.items()}
        return await super().update(ns, collection, id, body, merge)


class MergeReadsAnyNamespace(MemDocuments):
    """A merge reads the current body by collection and id in whichever namespace holds it first
    (a read without its namespace), then writes the result to its own."""

    async def update(self, ns, collection, id, body, merge):
        if merge and id in self._collection(ns, collection).docs:
            holders = (space[collection].docs for space in self._spaces.values() if collection in space)
            current = next(docs[id] for docs in holders if id in docs)
            body = merge_patch(current, body)
        return await super().update(ns, collection, id, body, False)


class GetCacheKeptOnUpdate(MemDocuments):
    """Get answers from a cache that Insert and Delete clear, but Update does not."""

    def __init__(self):
        super().__init__()
        self._cache: dict[tuple[str, str, str], dict] = {}

    async def get(self, ns, collection, id):
        key = (ns, collection, id)
        if key not in self._cache:
            body = await super().get(ns, collection, id)
            if body is None:
                return None
            self._cache[key] = body
        return self._cache[key]

    async def insert(self, ns, collection, id, body):
        id = await super().insert(ns, collection, id, body)
        self._cache.pop((ns, collection, id), None)
        return id

    async def update(self, ns, collection, id, body, merge):
        coll = self._collection(ns, collection)
        current = coll.docs.get(id)
        if current is None:
            return None
        new = documents.merge_patch(current, body) if merge else body
        coll.check_unique(id, new)
        coll.docs[id] = new
        return new

    async def delete(self, ns, collection, id):
        self._cache.pop((ns, collection, id), None)
        return await super().delete(ns, collection, id)


class FindCappedAt1000(MemDocuments):
    """A Find without a limit answers one backend page of 1,000."""

    async def find(self, ns, collection, query):
        found = await super().find(ns, collection, query)
        return found if query.limit is not None else found[:1000]


class AggregateCappedAt100Groups(MemDocuments):
    async def aggregate(self, ns, collection, filter, group_by, function, field):
        return (await super().aggregate(ns, collection, filter, group_by, function, field))[:100]


class AggregateOverEveryNamespace(MemDocuments):
    """Aggregate groups the collection's documents of every namespace (a query without its namespace)."""

    every = False

    def _matching(self, ns, collection, filter_):
        found = []
        for space in [s for s in self._spaces if collection in self._spaces[s]] if self.every else [ns]:
            found += super()._matching(space, collection, filter_)
        return found

    async def aggregate(self, ns, collection, filter, group_by, function, field):
        self.every = True  # no await inside: no other call sees it
        try:
            return await super().aggregate(ns, collection, filter, group_by, function, field)
        finally:
            self.every = False


class FindCacheKeptOnUpdate(MemDocuments):
    """Find answers from a cache of earlier answers that Insert clears, but Update and Delete do not."""

    def __init__(self):
        super().__init__()
        self._answers: dict[tuple[str, str, str], list] = {}

    async def find(self, ns, collection, query):
        key = (ns, collection, repr(query))
        if key not in self._answers:
            self._answers[key] = await super().find(ns, collection, query)
        return self._answers[key]

    async def insert(self, ns, collection, id, body):
        self._answers = {k: v for k, v in self._answers.items() if k[:2] != (ns, collection)}
        return await super().insert(ns, collection, id, body)


class UniqueAcrossNamespaces(MemDocuments):
    """A unique index checks the documents of its collection in every namespace."""

    async def insert(self, ns, collection, id, body):
        coll = self._collection(ns, collection)
        for other_ns, space in self._spaces.items():
            if other_ns != ns and collection in space:
                others = space[collection].docs
                for index in coll.indexes.values():
                    key = coll.unique_key(index, body)
                    if index.unique and key is not None and any(coll.unique_key(index, b) == key for b in others.values()):
                        raise already_exists("unique index broken")
        return await super().insert(ns, collection, id, body)


class UniqueRemembersDeleted(MemDocuments):
    """A deleted document's values stay taken in the collection's unique indexes."""

    def __init__(self):
        super().__init__()
        self._ghosts: dict[tuple[str, str], list[dict]] = {}

    async def delete(self, ns, collection, id):
        body = self._collection(ns, collection).docs.get(id)
        if body is not None:
            self._ghosts.setdefault((ns, collection), []).append(body)
        return await super().delete(ns, collection, id)

    async def insert(self, ns, collection, id, body):
        coll = self._collection(ns, collection)
        for index in coll.indexes.values():
            key = coll.unique_key(index, body)
            if index.unique and key is not None and any(coll.unique_key(index, g) == key for g in self._ghosts.get((ns, collection), [])):
                raise already_exists("unique index broken")
        return await super().insert(ns, collection, id, body)


class DropIndexAsPattern(MemDocuments):
    """DropIndex matches its name as SQL LIKE would (`_` any character, `%` any run)."""

    async def drop_index(self, ns, collection, name):
        pattern = re.compile("".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in name) + r"\Z", re.S)
        indexes = self._collection(ns, collection).indexes
        matched = [n for n in indexes if pattern.match(n)]
        for n in matched:
            del indexes[n]
        return bool(matched)


class IndexedFindKeptOnWrites(MemDocuments):
    """An equality Find on a field of a one-field index answers from the index's value -> ids map,
    which CreateIndex builds and Insert extends, but Update and Delete leave as it was."""

    def __init__(self):
        super().__init__()
        self._postings: dict[tuple[str, str, tuple], dict] = {}

    async def create_index(self, ns, collection, index):
        await super().create_index(ns, collection, index)
        if len(index.fields) == 1:
            postings = self._postings.setdefault((ns, collection, index.fields[0]), {})
            for id, body in self._collection(ns, collection).docs.items():
                present, value = get(body, index.fields[0])
                if present:
                    postings.setdefault(documents.canon(value), []).append(id)

    async def insert(self, ns, collection, id, body):
        id = await super().insert(ns, collection, id, body)
        for (space, coll, path), postings in self._postings.items():
            present, value = get(body, path)
            if (space, coll) == (ns, collection) and present:
                postings.setdefault(documents.canon(value), []).append(id)
        return id

    async def find(self, ns, collection, query):
        f = query.filter.parts[0] if isinstance(query.filter, AllOf) and len(query.filter.parts) == 1 else query.filter
        postings = self._postings.get((ns, collection, getattr(f, "path", None)))
        if not isinstance(f, Condition) or f.op != "$eq" or postings is None:
            return await super().find(ns, collection, query)
        docs = self._collection(ns, collection).docs
        return [(id, docs[id]) for id in sorted(postings.get(documents.canon(f.value), [])) if id in docs]


class InsertManyNotAtomic(MemDocuments):
    """InsertMany as a loop of Inserts: the documents before a refused one stay written."""

    async def insert_many(self, ns, collection, docs):
        return [await self.insert(ns, collection, id, body) for id, body in docs]


class InsertManyDropsTheLast(MemDocuments):
    """InsertMany writes every document of the batch but the last (an off-by-one over the batch),
    and still answers every id."""

    async def insert_many(self, ns, collection, docs):
        ids = await super().insert_many(ns, collection, docs)
        self._collection(ns, collection).docs.pop(ids[-1])
        return ids


class InsertManyIdsOfEveryNamespace(MemDocuments):
    """InsertMany looks for existing ids in the collection of every namespace."""

    async def insert_many(self, ns, collection, docs):
        for space in self._spaces.values():
            if collection in space and any(id in space[collection].docs for id, _ in docs):
                raise already_exists("a document of the batch exists")
        return await super().insert_many(ns, collection, docs)


class InsertManyUniqueOnlyAgainstStored(MemDocuments):
    """InsertMany checks each document's unique values against the stored documents only, never
    against the batch's other documents."""

    async def insert_many(self, ns, collection, docs):
        coll = self._collection(ns, collection)
        for id, body in docs:
            coll.check_unique(id, body)
        saved, coll.indexes = coll.indexes, {}
        try:
            return await super().insert_many(ns, collection, docs)
        finally:
            coll.indexes = saved


class InsertManyCheckThenWrite(MemDocuments):
    """InsertMany checks the batch, then writes it after an await: concurrent batches sharing a
    unique value all get in."""

    async def insert_many(self, ns, collection, docs):
        coll = self._collection(ns, collection)
        saved = coll.docs
        coll.docs = dict(saved)  # a dry run on a copy: every check, no write
        try:
            await super().insert_many(ns, collection, docs)
        finally:
            coll.docs = saved
        await asyncio.sleep(0.005)
        indexes, coll.indexes = coll.indexes, {}
        try:
            return await super().insert_many(ns, collection, docs)
        finally:
            coll.indexes = indexes


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
    "document-merge-new-key-keeps-nulls": ("document_basic", document_store(MergeNewKeyKeepsNulls)),
    "document-merge-cleans-arrays": ("document_basic", document_store(MergeCleansArrays)),
    "document-merge-reads-any-namespace": ("document_basic", document_store(MergeReadsAnyNamespace)),
    "document-get-cache-kept-on-update": ("document_basic", document_store(GetCacheKeptOnUpdate)),
    "document-find-capped-at-1000": ("document_query", document_store(FindCappedAt1000)),
    "document-aggregate-capped-at-100-groups": ("document_query", document_store(AggregateCappedAt100Groups)),
    "document-find-cache-kept-on-update": ("document_query", document_store(FindCacheKeptOnUpdate)),
    "document-aggregate-over-every-namespace": ("document_query", document_store(AggregateOverEveryNamespace)),
    "document-unique-across-namespaces": ("document_indexing", document_store(UniqueAcrossNamespaces)),
    "document-unique-remembers-deleted": ("document_indexing", document_store(UniqueRemembersDeleted)),
    "document-drop-index-as-pattern": ("document_indexing", document_store(DropIndexAsPattern)),
    "document-indexed-find-kept-on-writes": ("document_indexing", document_store(IndexedFindKeptOnWrites)),
    "document-insert-many-not-atomic": ("document_basic", document_store(InsertManyNotAtomic)),
    "document-insert-many-drops-the-last": ("document_basic", document_store(InsertManyDropsTheLast)),
    "document-insert-many-ids-of-every-namespace": ("document_basic", document_store(InsertManyIdsOfEveryNamespace)),
    "document-insert-many-unique-only-against-stored": ("document_indexing", document_store(InsertManyUniqueOnlyAgainstStored)),
    "document-insert-many-check-then-write": ("document_indexing", document_store(InsertManyCheckThenWrite)),
}
