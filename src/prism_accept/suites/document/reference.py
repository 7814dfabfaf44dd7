"""The oracle of the document suites: plain Python over the documents a case inserted, written
to be obviously right rather than fast. Values are JSON as json.loads gives them."""

from __future__ import annotations

import json
from typing import Any, Sequence

MISSING = object()


def normal(value: Any) -> Any:
    """JSON numbers are doubles: 1 and 1.0 are the same number (bools stay bools)."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, list):
        return [normal(v) for v in value]
    return {k: normal(v) for k, v in value.items()}


def text(value: Any) -> str:
    """A canonical JSON text: equal texts exactly when the values are JSON-equal."""
    return json.dumps(normal(value), sort_keys=True, ensure_ascii=False)


def same(a: Any, b: Any) -> bool:
    return text(a) == text(b)


def at(doc: dict, path: str) -> Any:
    """The value at a dotted path, through objects only, or MISSING."""
    value: Any = doc
    for key in path.split("."):
        if not isinstance(value, dict) or key not in value:
            return MISSING
        value = value[key]
    return value


def is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _ordered(op: str, value: Any, operand: Any) -> bool:
    if is_number(operand) != is_number(value) or isinstance(operand, str) != isinstance(value, str):
        return False
    return {"$gt": value > operand, "$gte": value >= operand, "$lt": value < operand, "$lte": value <= operand}[op]


def matches(doc: dict, filter_: dict) -> bool:
    for key, cond in filter_.items():
        if key == "$and":
            ok = all(matches(doc, f) for f in cond)
        elif key == "$or":
            ok = any(matches(doc, f) for f in cond)
        else:
            value = at(doc, key)
            ops = cond if isinstance(cond, dict) and cond and all(k.startswith("$") for k in cond) else {"$eq": cond}
            ok = all(_holds(op, value, operand) for op, operand in ops.items())
        if not ok:
            return False
    return True


def _holds(op: str, value: Any, operand: Any) -> bool:
    present = value is not MISSING
    if op == "$eq":
        return present and same(value, operand)
    if op == "$ne":
        return not (present and same(value, operand))
    if op == "$in":
        return present and any(same(value, v) for v in operand)
    if op == "$exists":
        return present == operand
    return present and _ordered(op, value, operand)


def sort_rank(value: Any) -> tuple:
    """missing < null < numbers < strings < false < true < arrays < objects."""
    if value is MISSING:
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


def find(docs: dict[str, dict], filter_: dict, sort: Sequence[tuple[str, bool]] = (), skip: int = 0, limit: int = 0) -> list[str]:
    """Ids in Find's order: by each sort path, then by id ascending."""
    ids = sorted(i for i, d in docs.items() if matches(d, filter_))
    for path, descending in reversed(list(sort)):  # Python's sort is stable, in reverse too
        ids.sort(key=lambda i: sort_rank(at(docs[i], path)), reverse=descending)
    return ids[skip : skip + limit if limit else None]


def project(doc: dict, paths: list[str]) -> dict:
    """The present paths in their nesting; a path under another projected path adds nothing."""
    kept = [p for p in paths if at(doc, p) is not MISSING and not any(p.startswith(q + ".") for q in paths)]
    out: dict = {}
    for path in kept:
        *parents, last = path.split(".")
        node = out
        for key in parents:
            node = node.setdefault(key, {})
        node[last] = at(doc, path)
    return out


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7396, section 2."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def aggregate(docs: dict[str, dict], filter_: dict, group_by: str, function: str, field: str = "") -> dict[str, float]:
    """Group key (text() of the value, or "<missing>") -> count, sum or avg."""
    groups: dict[str, list[dict]] = {}
    for doc in docs.values():
        if matches(doc, filter_):
            key = at(doc, group_by)
            groups.setdefault("<missing>" if key is MISSING else text(key), []).append(doc)
    out = {}
    for key, members in groups.items():
        numbers = [at(d, field) for d in members if is_number(at(d, field))] if field else []
        if function == "count":
            out[key] = float(len(members))
        elif function == "sum":
            out[key] = float(sum(numbers))
        elif numbers:
            out[key] = sum(numbers) / len(numbers)
    return out
