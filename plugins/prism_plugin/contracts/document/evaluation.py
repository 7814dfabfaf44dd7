"""The document contract evaluated over plain JSON bodies: equality (canon), the sort order
across types (sort_key) and the filter language (matches), for stores that evaluate a query
in Python rather than in their own query language (the same rules as MemStore's)."""

from __future__ import annotations

from typing import Any

from prism_plugin.contracts.document.filters import AllOf, AnyOf, Filter
from prism_plugin.contracts.document.values import JSON, get


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
