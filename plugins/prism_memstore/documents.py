"""MemStore's documents: per namespace and collection, a dict of id -> body (plain JSON values)
and the collection's indexes. Filters are evaluated over the bodies; a unique index is checked
against every other document on each write (no await between check and write)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from prism_plugin.contracts.document.filters import AllOf, AnyOf, Filter
from prism_plugin.contracts.document.indexing import IndexSpec
from prism_plugin.contracts.document.query import Group, Query
from prism_plugin.contracts.document.values import JSON, Path, get, merge_patch, project
from prism_plugin.status import already_exists, shown


def canon(value: JSON) -> Any:
    """A hashable form in which two JSON values are equal exactly when JSON-equal (true is not
    1, 1 is 1.0, object key order does not count)."""
    if value is None:
        return ("null",)
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, (int, float)):
        return ("number", float(value) + 0.0)  # -0.0 is 0.0
    if isinstance(value, str):
        return ("string", value)
    if isinstance(value, list):
        return ("array", tuple(canon(v) for v in value))
    return ("object", tuple(sorted((k, canon(v)) for k, v in value.items())))


def is_number(value: JSON) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def sort_key(present: bool, value: JSON) -> tuple:
    """missing < null < numbers < strings < false < true < arrays < objects."""
    if not present:
        return (0, 0)
    if value is None:
        return (1, 0)
    if is_number(value):
        return (2, value)
    if isinstance(value, str):
        return (3, value)
    if isinstance(value, bool):
        return (4, value)
    return (5, 0) if isinstance(value, list) else (6, 0)


def compare(op: str, value: JSON, operand: JSON) -> bool:
    if is_number(operand):
        if not is_number(value):
            return False
    elif not isinstance(value, str):
        return False
    if op == "$gt":
        return value > operand
    if op == "$gte":
        return value >= operand
    if op == "$lt":
        return value < operand
    return value <= operand


def matches(body: dict[str, JSON], filter_: Filter) -> bool:
    if isinstance(filter_, AllOf):
        return all(matches(body, f) for f in filter_.parts)
    if isinstance(filter_, AnyOf):
        return any(matches(body, f) for f in filter_.parts)
    present, value = get(body, filter_.path)
    op, operand = filter_.op, filter_.value
    if op == "$exists":
        return present == operand
    if op == "$eq":
        return present and canon(value) == canon(operand)
    if op == "$ne":
        return not (present and canon(value) == canon(operand))
    if op == "$in":
        return present and canon(value) in {canon(v) for v in operand}
    return present and compare(op, value, operand)


@dataclass
class Collection:
    docs: dict[str, dict[str, JSON]] = field(default_factory=dict)
    indexes: dict[str, IndexSpec] = field(default_factory=dict)

    def unique_key(self, index: IndexSpec, body: dict[str, JSON]) -> Any:
        """The values a unique index constrains; None when a field is missing (unconstrained)."""
        values = [get(body, path) for path in index.fields]
        return None if not all(p for p, _ in values) else tuple(canon(v) for _, v in values)

    def check_unique(self, id: str, body: dict[str, JSON]) -> None:
        for index in self.indexes.values():
            if not index.unique:
                continue
            key = self.unique_key(index, body)
            if key is None:
                continue
            for other_id, other in self.docs.items():
                if other_id != id and self.unique_key(index, other) == key:
                    raise already_exists(f"unique index {shown(index.name)}: document {shown(other_id)} has the same values")


class MemDocuments:
    def __init__(self) -> None:
        self._spaces: dict[str, dict[str, Collection]] = {}

    def drop(self, ns: str) -> None:
        self._spaces.pop(ns, None)

    def _collection(self, ns: str, name: str) -> Collection:
        return self._spaces.setdefault(ns, {}).setdefault(name, Collection())

    # document_basic
    async def insert(self, ns: str, collection: str, id: str, body: dict[str, JSON]) -> str:
        coll = self._collection(ns, collection)
        id = id or uuid.uuid4().hex
        if id in coll.docs:
            raise already_exists(f"document {shown(id)} exists in collection {shown(collection)}")
        coll.check_unique(id, body)
        coll.docs[id] = body
        return id

    async def insert_many(self, ns: str, collection: str, docs: list[tuple[str, dict[str, JSON]]]) -> list[str]:
        """Every check first, then every write (no await between them): all or nothing."""
        coll = self._collection(ns, collection)
        ids = [id or uuid.uuid4().hex for id, _ in docs]
        for id in ids:
            if id in coll.docs:
                raise already_exists(f"document {shown(id)} exists in collection {shown(collection)}")
        for index in coll.indexes.values():
            if not index.unique:
                continue
            taken = {k: id for id, body in coll.docs.items() if (k := coll.unique_key(index, body)) is not None}
            for id, (_, body) in zip(ids, docs):
                key = coll.unique_key(index, body)
                if key is None:
                    continue
                if key in taken:
                    other = shown(taken[key])
                    raise already_exists(f"unique index {shown(index.name)}: document {other} has the same values as {shown(id)}")
                taken[key] = id
        for id, (_, body) in zip(ids, docs):
            coll.docs[id] = body
        return ids

    async def get(self, ns: str, collection: str, id: str) -> dict[str, JSON] | None:
        return self._collection(ns, collection).docs.get(id)

    async def update(self, ns: str, collection: str, id: str, body: dict[str, JSON], merge: bool) -> dict[str, JSON] | None:
        coll = self._collection(ns, collection)
        current = coll.docs.get(id)
        if current is None:
            return None
        new = merge_patch(current, body) if merge else body
        coll.check_unique(id, new)
        coll.docs[id] = new
        return new

    async def delete(self, ns: str, collection: str, id: str) -> bool:
        return self._collection(ns, collection).docs.pop(id, None) is not None

    # document_query
    def _matching(self, ns: str, collection: str, filter_: Filter) -> list[tuple[str, dict[str, JSON]]]:
        docs = self._collection(ns, collection).docs
        return [(id, body) for id, body in docs.items() if matches(body, filter_)]

    async def find(self, ns: str, collection: str, query: Query) -> list[tuple[str, dict[str, JSON]]]:
        found = sorted(self._matching(ns, collection, query.filter))  # by id: the last tie-break
        for path, descending in reversed(query.sort):  # stable sorts, the first path last
            found.sort(key=lambda doc: sort_key(*get(doc[1], path)), reverse=descending)
        end = None if query.limit is None else query.skip + query.limit
        return [(id, project(body, list(query.projection))) for id, body in found[query.skip : end]]

    async def aggregate(self, ns: str, collection: str, filter: Filter, group_by: Path, function: str, field: Path | None) -> list[Group]:
        groups: dict[Any, tuple[bool, JSON, list[dict[str, JSON]]]] = {}
        for _, body in self._matching(ns, collection, filter):
            present, key = get(body, group_by)
            groups.setdefault(canon(key) if present else None, (present, key, []))[2].append(body)
        out = []
        for present, key, bodies in groups.values():
            if function == "count":
                out.append(Group(present, key, float(len(bodies))))
                continue
            assert field is not None
            numbers = [float(v) for has, v in (get(b, field) for b in bodies) if has and is_number(v)]
            if function == "sum":
                out.append(Group(present, key, float(sum(numbers))))
            elif numbers:
                out.append(Group(present, key, sum(numbers) / len(numbers)))
        return out

    # document_indexing
    async def create_index(self, ns: str, collection: str, index: IndexSpec) -> None:
        coll = self._collection(ns, collection)
        if index.name in coll.indexes:
            raise already_exists(f"index {shown(index.name)} exists on collection {shown(collection)}")
        if index.unique:
            seen: dict[Any, str] = {}
            for id, body in coll.docs.items():
                key = coll.unique_key(index, body)
                if key is not None and key in seen:
                    raise already_exists(f"documents {shown(seen[key])} and {shown(id)} break unique index {shown(index.name)}")
                if key is not None:
                    seen[key] = id
        coll.indexes[index.name] = index

    async def drop_index(self, ns: str, collection: str, name: str) -> bool:
        return self._collection(ns, collection).indexes.pop(name, None) is not None

    async def list_indexes(self, ns: str, collection: str) -> list[IndexSpec]:
        return list(self._collection(ns, collection).indexes.values())
