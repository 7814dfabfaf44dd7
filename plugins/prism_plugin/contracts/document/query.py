"""document_query: Find, FindOne, Aggregate, with the filter language of filters.py."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from prism.document.v1 import document_pb2 as pb
from prism.document.v1 import document_pb2_grpc as pb_grpc
from prism_plugin.contract import InterfaceServicer
from prism_plugin.contracts.document import filters
from prism_plugin.contracts.document.values import JSON, Path, body_of, parse_path, to_struct, to_value
from prism_plugin.status import invalid, not_found, shown

FUNCTIONS = {pb.AggregateRequest.COUNT: "count", pb.AggregateRequest.SUM: "sum", pb.AggregateRequest.AVG: "avg"}


@dataclass(frozen=True)
class Query:
    """What Find asks: sort is (path, descending) pairs, ties then broken by id ascending;
    limit None is no limit; projection () is the whole body (values.project)."""

    filter: filters.Filter
    sort: tuple[tuple[Path, bool], ...] = ()
    skip: int = 0
    limit: int | None = None
    projection: tuple[Path, ...] = ()


@dataclass(frozen=True)
class Group:
    present: bool  # False: the group of documents missing the group_by path (key unused)
    key: JSON
    value: float


class Store(Protocol):
    async def find(self, ns: str, collection: str, query: Query) -> list[tuple[str, dict[str, JSON]]]:
        """(id, projected body) of the matching documents, in the order document.proto gives."""

    async def aggregate(
        self, ns: str, collection: str, filter: filters.Filter, group_by: Path, function: str, field: Path | None
    ) -> list[Group]:
        """function: "count", "sum" or "avg" (field set for the last two); AVG leaves out
        groups with no number at `field`."""


MAX_SORT_FIELDS = 16  # sort fields of one Find (limits.max_sort_fields in a registry file)


def _query(request) -> Query:
    if request.skip < 0 or request.limit < 0:
        raise invalid(f"skip and limit must be >= 0, got skip={request.skip} limit={request.limit}")
    if len(request.sort) > MAX_SORT_FIELDS:
        raise invalid(f"sort has {len(request.sort)} fields, more than max_sort_fields={MAX_SORT_FIELDS}")
    return Query(
        filter=filters.parse(body_of(request.filter, "filter")),
        sort=tuple((parse_path(s.path, "sort path"), s.descending) for s in request.sort),
        skip=request.skip,
        limit=request.limit or None,
        projection=tuple(parse_path(p, "projection path") for p in request.projection),
    )


class Servicer(InterfaceServicer[Store], pb_grpc.DocumentQueryServicer):
    async def Find(self, request, context):
        found = await self.store.find(request.namespace, request.collection, _query(request))
        return pb.FindResponse(documents=[pb.Document(id=id, body=to_struct(body)) for id, body in found])

    async def FindOne(self, request, context):
        query = _query(request)
        found = await self.store.find(
            request.namespace, request.collection, Query(query.filter, query.sort, query.skip, 1, query.projection)
        )
        if not found:
            raise not_found(f"no document of collection {shown(request.collection)} matches")
        id, body = found[0]
        return pb.Document(id=id, body=to_struct(body))

    async def Aggregate(self, request, context):
        function = FUNCTIONS.get(request.function)
        if function is None:
            raise invalid(f"unknown aggregate function {request.function}")
        filter_ = filters.parse(body_of(request.filter, "filter"))
        group_by = parse_path(request.group_by, "group_by")
        field = None if function == "count" else parse_path(request.field, "field")
        groups = await self.store.aggregate(request.namespace, request.collection, filter_, group_by, function, field)
        return pb.AggregateResponse(
            groups=[
                pb.AggregateResponse.Group(key=to_value(g.key), value=g.value) if g.present else pb.AggregateResponse.Group(value=g.value)
                for g in groups
            ]
        )
