"""Requests generated from the proto descriptors (Hypothesis strategies), for the conventions
cell: every field of every request message gets values a careless or hostile caller might send,
extremes and empties included, without any per-interface table."""

from __future__ import annotations

import functools
import math

from google.protobuf import message_factory
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from hypothesis import strategies as st

INT64 = [0, 1, -1, 2, 100, 1000, 2**31 - 1, -(2**31), 2**63 - 1, -(2**63), 10**12]
INT32 = [0, 1, -1, 2, 100, 2**31 - 1, -(2**31)]
DOUBLES = [0.0, -0.0, 1.5, -1.0, 1e308, math.inf, -math.inf, math.nan]
STRINGS = ["", "k", "a*", "a?", "[x", "%_", "é", "a.b", "a/b", " ", "k" * 300]
text = st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=8)

_SCALARS = {
    FieldDescriptor.TYPE_STRING: st.one_of(st.sampled_from(STRINGS), text),
    FieldDescriptor.TYPE_BYTES: st.one_of(st.sampled_from([b"", b"\x00", bytes(range(256))]), st.binary(max_size=16)),
    FieldDescriptor.TYPE_BOOL: st.booleans(),
    FieldDescriptor.TYPE_INT64: st.one_of(st.sampled_from(INT64), st.integers(-1000, 1000)),
    FieldDescriptor.TYPE_SINT64: st.sampled_from(INT64),
    FieldDescriptor.TYPE_SFIXED64: st.sampled_from(INT64),
    FieldDescriptor.TYPE_INT32: st.one_of(st.sampled_from(INT32), st.integers(-100, 100)),
    FieldDescriptor.TYPE_SINT32: st.sampled_from(INT32),
    FieldDescriptor.TYPE_SFIXED32: st.sampled_from(INT32),
    FieldDescriptor.TYPE_UINT64: st.sampled_from([0, 1, 100, 2**64 - 1]),
    FieldDescriptor.TYPE_FIXED64: st.sampled_from([0, 1, 100, 2**64 - 1]),
    FieldDescriptor.TYPE_UINT32: st.sampled_from([0, 1, 100, 2**32 - 1]),
    FieldDescriptor.TYPE_FIXED32: st.sampled_from([0, 1, 100, 2**32 - 1]),
    FieldDescriptor.TYPE_DOUBLE: st.one_of(st.sampled_from(DOUBLES), st.floats(-1e6, 1e6)),
    FieldDescriptor.TYPE_FLOAT: st.sampled_from([0.0, 1.5, -1.0, math.inf, math.nan]),
}


def _field(field: FieldDescriptor, depth: int) -> st.SearchStrategy | None:
    if field.type == FieldDescriptor.TYPE_ENUM:
        return st.sampled_from([v.number for v in field.enum_type.values] + [99])
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        message = field.message_type
        if message.GetOptions().map_entry:
            key, value = (_field(f, depth + 1) for f in message.fields)
            return st.dictionaries(key, value, max_size=3) if key is not None and value is not None else None
        if message.full_name.startswith("google.protobuf.") or depth >= 2:
            return None  # well-known types are left unset: their own rules are protobuf's
        return message_strategy(message, None, depth + 1)
    return _SCALARS[field.type]


def message_strategy(descriptor: Descriptor, namespaces: st.SearchStrategy | None, depth: int = 0) -> st.SearchStrategy:
    """Messages of this type with any subset of their fields set. A top-level request's
    `namespace` comes from `namespaces`, so the caller knows what to clean up."""
    cls = message_factory.GetMessageClass(descriptor)
    required: dict[str, st.SearchStrategy] = {}
    if namespaces is not None and "namespace" in descriptor.fields_by_name:
        required["namespace"] = namespaces
    return st.fixed_dictionaries(required, optional=_optional_fields(descriptor, depth, bool(required))).map(lambda kw: cls(**kw))


@functools.lru_cache(maxsize=None)
def _optional_fields(descriptor: Descriptor, depth: int, except_namespace: bool) -> dict[str, st.SearchStrategy]:
    """The strategies of a message's fields, made once per message type: a strategy Hypothesis has
    drawn from before costs less to draw from again (its properties are worked out on first use),
    and the conventions cell draws requests of one type in several cases."""
    optional: dict[str, st.SearchStrategy] = {}
    for field in descriptor.fields:
        if field.name == "namespace" and except_namespace:
            continue
        strategy = _field(field, depth)
        if strategy is None:
            continue
        is_map = field.type == FieldDescriptor.TYPE_MESSAGE and field.message_type.GetOptions().map_entry
        if field.label == FieldDescriptor.LABEL_REPEATED and not is_map:
            strategy = st.lists(strategy, max_size=3)
        optional[field.name] = strategy
    return optional
