"""The filter language of document_query (see document.proto), parsed into a small tree that a
store evaluates or translates (MemStore in Python, PostgreSQL to SQL over jsonb)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union

from prism_plugin.contracts.document.values import JSON, Path, parse_path
from prism_plugin.status import invalid

ORDERING = ("$gt", "$gte", "$lt", "$lte")
OPERATORS = ("$eq", "$ne", *ORDERING, "$in", "$exists")
MAX_NODES = 1000  # conditions and connectives in one filter


@dataclass(frozen=True)
class Condition:
    """`op` is one of OPERATORS; `value` is checked for it (a number or string for ORDERING, a
    list for $in, a bool for $exists)."""

    path: Path
    op: str
    value: JSON


@dataclass(frozen=True)
class AllOf:
    parts: tuple[Filter, ...]


@dataclass(frozen=True)
class AnyOf:
    parts: tuple[Filter, ...]


Filter = Union[Condition, AllOf, AnyOf]


def parse(filter_: dict[str, JSON]) -> Filter:
    """INVALID_ARGUMENT naming what is wrong, for anything outside the grammar (`filter_`
    comes from values.body_of: JSON values only)."""
    count = [0]
    return _object(filter_, count)


def _count(count: list[int]) -> None:
    count[0] += 1
    if count[0] > MAX_NODES:
        raise invalid(f"filter has more than {MAX_NODES} conditions")


def _object(filter_: JSON, count: list[int]) -> Filter:
    if not isinstance(filter_, dict):
        raise invalid(f"a filter must be an object, got {type(filter_).__name__}")
    parts: list[Filter] = []
    for key, value in filter_.items():
        _count(count)
        if key in ("$and", "$or"):
            if not isinstance(value, list) or not value:
                raise invalid(f"{key} takes a non-empty list of filters")
            inner = tuple(_object(item, count) for item in value)
            parts.append(AllOf(inner) if key == "$and" else AnyOf(inner))
        elif key.startswith("$"):
            raise invalid(f"unknown filter operator {key[:40]!r} (only $and and $or combine filters)")
        else:
            parts.extend(_conditions(parse_path(key, "filter path"), value, count))
    return AllOf(tuple(parts))


def _conditions(path: Path, condition: JSON, count: list[int]) -> list[Condition]:
    operators = isinstance(condition, dict) and any(k.startswith("$") for k in condition)
    if not operators:
        return [Condition(path, "$eq", condition)]
    if not all(k.startswith("$") for k in condition):
        raise invalid(f"condition on {'.'.join(path)[:80]!r} mixes operators with field names")
    out = []
    for op, value in condition.items():
        _count(count)
        if op not in OPERATORS:
            raise invalid(f"unknown filter operator {op[:40]!r}; use one of {', '.join(OPERATORS)}")
        if op in ORDERING and (not isinstance(value, (float, int, str)) or isinstance(value, bool)):
            raise invalid(f"{op} takes a number or a string, got {type(value).__name__}")
        if op == "$in" and not isinstance(value, list):
            raise invalid(f"$in takes a list, got {type(value).__name__}")
        if op == "$exists" and not isinstance(value, bool):
            raise invalid(f"$exists takes true or false, got {type(value).__name__}")
        out.append(Condition(path, op, value))
    return out
