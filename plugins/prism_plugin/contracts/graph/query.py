"""graph_query: Query(language, text, parameters) -> columns and rows of JSON cells, in the
languages the backend's engine serves (never a parser of this SDK)."""

from __future__ import annotations

import datetime
import decimal
import json
import math
from typing import Any, Protocol, Sequence

from prism.graph.v1 import graph_pb2 as pb
from prism.graph.v1 import graph_pb2_grpc as pb_grpc
from prism_plugin.contract import InterfaceServicer
from prism_plugin.contracts.graph.basic import struct_to_dict
from prism_plugin.status import invalid, resource_exhausted, shown


class Store(Protocol):
    @property
    def languages(self) -> Sequence[str]:
        """The languages the backend declares (behaviours.graph_query.languages)."""

    async def query(self, ns: str, language: str, text: str, parameters: dict[str, Any]) -> tuple[list[str], list[Sequence[Any]]]:
        """(column names, rows) of a read-only query over the namespace's graph only. A text
        the engine rejects is INVALID_ARGUMENT; every call is bounded by a timeout."""


def _plain(value: Any) -> Any:
    """What json cannot encode by itself, as JSON values."""
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=repr)
    if isinstance(value, (datetime.date, datetime.datetime, datetime.time)):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).hex()
    return str(value)


def json_cell(value: Any) -> str:
    if isinstance(value, float) and not math.isfinite(value):
        return json.dumps(str(value))
    return json.dumps(value, default=_plain, ensure_ascii=False, allow_nan=False, sort_keys=True)


class Servicer(InterfaceServicer[Store], pb_grpc.GraphQueryServicer):
    async def Query(self, request, context):
        if request.language not in self.store.languages:
            raise invalid(f"language {shown(request.language)} is not served; this backend serves {', '.join(self.store.languages)}")
        if not request.text.strip():
            raise invalid("text must hold a query")
        parameters = struct_to_dict(request.parameters) if request.HasField("parameters") else {}
        columns, rows = await self.store.query(request.namespace, request.language, request.text, parameters)
        answer = pb.QueryResponse(columns=[str(c) for c in columns])
        size = 0
        for row in rows:
            cells = [json_cell(v) for v in row]
            size += sum(len(c) for c in cells)
            if size > self.limits.max_response_bytes:
                raise resource_exhausted(f"the answer exceeds max_response_bytes={self.limits.max_response_bytes}")
            answer.rows.add(cells=cells)
        return answer
