"""The request conventions of INTERFACES.md, checked once for every RPC from the descriptors:
a non-empty namespace, non-empty names (fields marked `(prism.options.v1.name)`), and bounded
sizes (names, values, repeated fields), so no servicer repeats them and none can forget them."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from prism.options.v1 import options_pb2
from prism_plugin.status import invalid, shown

NAMESPACE = "namespace"


@dataclass(frozen=True)
class Limits:
    """The plugin's limits; its registry entry declares the same numbers (`limits:`)."""

    max_value_bytes: int = 1024 * 1024  # a bytes field, or a string that is not a name
    max_batch_size: int = 1000  # elements of a repeated field
    max_name_bytes: int = 1024  # UTF-8 bytes of a namespace or a name
    max_response_bytes: int = 32 * 1024 * 1024  # what one answer may hold
    max_attributes_bytes: int | None = None  # UTF-8 bytes of a map's keys and values together (None: no total)


@dataclass(frozen=True)
class _Plan:
    names: tuple[FieldDescriptor, ...]  # must be non-empty, even when unset
    nested: bool  # has message fields worth descending into


def _is_name(field: FieldDescriptor) -> bool:
    return field.name == NAMESPACE or field.GetOptions().Extensions[options_pb2.name]


@functools.lru_cache(maxsize=None)
def _plan(descriptor: Descriptor) -> _Plan:
    return _Plan(
        names=tuple(f for f in descriptor.fields if f.type == FieldDescriptor.TYPE_STRING and _is_name(f)),
        nested=any(f.type == FieldDescriptor.TYPE_MESSAGE for f in descriptor.fields),
    )


def _utf8_len(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))


def _check_string(path: str, value: str, is_name: bool, limits: Limits) -> None:
    if is_name:
        if not value:
            raise invalid(f"{path} must be a non-empty string")
        if _utf8_len(value) > limits.max_name_bytes:
            raise invalid(f"{path} is {_utf8_len(value)} bytes, more than max_name_bytes={limits.max_name_bytes}")
    elif _utf8_len(value) > limits.max_value_bytes:
        raise invalid(f"{path} is {_utf8_len(value)} bytes, more than max_value_bytes={limits.max_value_bytes}")


def _check_scalar(path: str, field: FieldDescriptor, value, limits: Limits) -> None:
    if field.type == FieldDescriptor.TYPE_STRING:
        _check_string(path, value, _is_name(field), limits)
    elif field.type == FieldDescriptor.TYPE_BYTES and len(value) > limits.max_value_bytes:
        raise invalid(f"{path} is {len(value)} bytes, more than max_value_bytes={limits.max_value_bytes}")


def check_request(message: Message, limits: Limits, prefix: str = "") -> None:
    """Raise INVALID_ARGUMENT naming the first field that breaks a convention."""
    descriptor = message.DESCRIPTOR
    plan = _plan(descriptor)
    for field in plan.names:
        value = getattr(message, field.name)
        if field.label != FieldDescriptor.LABEL_REPEATED and not value:
            raise invalid(f"{prefix}{field.name} must be a non-empty string")
    for field, value in message.ListFields():
        path = prefix + field.name
        if field.label == FieldDescriptor.LABEL_REPEATED:
            if len(value) > limits.max_batch_size:
                raise invalid(f"{path} has {len(value)} elements, more than max_batch_size={limits.max_batch_size}")
            if field.type == FieldDescriptor.TYPE_MESSAGE and field.message_type.GetOptions().map_entry:
                if limits.max_attributes_bytes is not None:
                    total = sum(_utf8_len(str(k)) + (len(v) if isinstance(v, bytes) else _utf8_len(str(v))) for k, v in value.items())
                    if total > limits.max_attributes_bytes:
                        raise invalid(f"{path} holds {total} bytes, more than max_attributes_bytes={limits.max_attributes_bytes}")
                for k, v in value.items():
                    _check_string(f"{path}[{shown(k)}]", str(k), False, limits)
                    if isinstance(v, (str, bytes)) and len(v) > limits.max_value_bytes:
                        raise invalid(f"{path}[{shown(k)}] is longer than max_value_bytes={limits.max_value_bytes}")
            elif field.type == FieldDescriptor.TYPE_MESSAGE:
                if not field.message_type.full_name.startswith("google.protobuf."):
                    for i, item in enumerate(value):
                        check_request(item, limits, f"{path}[{i}].")
            else:
                for i, item in enumerate(value):
                    _check_scalar(f"{path}[{i}]", field, item, limits)
        elif field.type == FieldDescriptor.TYPE_MESSAGE:
            if plan.nested and not field.message_type.full_name.startswith("google.protobuf."):
                check_request(value, limits, f"{path}.")
        else:
            _check_scalar(path, field, value, limits)
