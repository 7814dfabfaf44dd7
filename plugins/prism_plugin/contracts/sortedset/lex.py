"""sortedset_lex: GetRangeByLex (Redis ZRANGE BYLEX) with "[x", "(x", "-", "+" bounds, for
members of equal score."""

from __future__ import annotations

from typing import Protocol

from prism.sortedset.v1 import sortedset_pb2_grpc as pb_grpc
from prism_plugin.contract import InterfaceServicer
from prism_plugin.contracts.sortedset.range import scored, window
from prism_plugin.status import invalid, shown


class Store(Protocol):
    async def range_by_lex(
        self, ns: str, key: str, low: bytes, high: bytes, offset: int, limit: int, reverse: bool
    ) -> list[tuple[bytes, float]]:
        """Members between the bounds (well-formed, as the request gave them) in member order
        (reverse: descending), `offset` skipped, at most `limit` (0: all)."""


def lex_bound(field: str, bound: bytes) -> bytes:
    """The bound itself when it is "-", "+", "[x" or "(x"; INVALID_ARGUMENT otherwise."""
    if bound in (b"-", b"+") or bound[:1] in (b"[", b"("):
        return bound
    raise invalid(f'{field} {shown(bound)} is not a lex bound: use "[x" (inclusive), "(x" (exclusive), "-" or "+"')


class Servicer(InterfaceServicer[Store], pb_grpc.SortedSetLexServicer):
    async def GetRangeByLex(self, request, context):
        low, high = lex_bound("min", request.min), lex_bound("max", request.max)
        offset, limit = window(request)
        return scored(await self.store.range_by_lex(request.namespace, request.key, low, high, offset, limit, request.reverse))
