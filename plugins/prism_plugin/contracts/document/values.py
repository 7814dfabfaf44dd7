"""Documents as plain JSON values (dict, list, str, float, bool, None), paths, projection and
JSON merge patch: the parts of the document contract every backend shares."""

from __future__ import annotations

import math
from typing import Any, TypeAlias

from google.protobuf import json_format, struct_pb2

from prism_plugin.status import invalid

Path: TypeAlias = tuple[str, ...]
JSON: TypeAlias = Any  # dict[str, JSON] | list[JSON] | str | float | bool | None
MAX_DEPTH = 64  # nesting of a document or a filter


def body_of(struct: struct_pb2.Struct, what: str) -> dict[str, JSON]:
    """A Struct as a dict, refusing what JSON cannot hold (NaN, infinities) and runaway nesting."""
    return {k: _value(v, what, 1) for k, v in struct.fields.items()}


def _value(value: struct_pb2.Value, what: str, depth: int) -> JSON:
    if depth > MAX_DEPTH:
        raise invalid(f"{what} is nested deeper than {MAX_DEPTH} levels")
    kind = value.WhichOneof("kind")
    if kind == "number_value":
        if not math.isfinite(value.number_value):
            raise invalid(f"{what} holds {value.number_value}, which is not a JSON number")
        return value.number_value
    if kind == "string_value":
        return value.string_value
    if kind == "bool_value":
        return value.bool_value
    if kind == "struct_value":
        return {k: _value(v, what, depth + 1) for k, v in value.struct_value.fields.items()}
    if kind == "list_value":
        return [_value(v, what, depth + 1) for v in value.list_value.values]
    return None  # null_value, or a Value with nothing set


def to_struct(body: dict[str, JSON]) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    struct.update(body)
    return struct


def to_value(value: JSON) -> struct_pb2.Value:
    return json_format.ParseDict(value, struct_pb2.Value())


MAX_PATH_SEGMENTS = 64  # keys of one dotted path (limits.max_path_segments in a registry file)


def parse_path(text: str, what: str) -> Path:
    path = tuple(text.split("."))
    if not text or "" in path:
        raise invalid(f"{what} {text[:80]!r} is not a path (non-empty keys joined by '.')")
    if len(path) > MAX_PATH_SEGMENTS:
        raise invalid(f"{what} has {len(path)} keys, more than max_path_segments={MAX_PATH_SEGMENTS}")
    return path


def get(body: JSON, path: Path) -> tuple[bool, JSON]:
    """(present, value) at `path`, through objects only."""
    for key in path:
        if not isinstance(body, dict) or key not in body:
            return False, None
        body = body[key]
    return True, body


def project(body: dict[str, JSON], paths: list[Path]) -> dict[str, JSON]:
    """The projected paths present in `body`, in their nesting; no paths: the whole body."""
    if not paths:
        return body
    kept: list[Path] = []
    for path in sorted(set(paths), key=len):  # a path under one already kept adds nothing
        if not any(path[: len(k)] == k for k in kept):
            kept.append(path)
    out: dict[str, JSON] = {}
    for path in kept:
        present, value = get(body, path)
        if present:
            node = out
            for key in path[:-1]:
                node = node.setdefault(key, {})
            node[path[-1]] = value
    return out


def merge_patch(target: JSON, patch: JSON) -> JSON:
    """RFC 7396."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result
