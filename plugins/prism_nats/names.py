"""Injective names for what the plugin creates in NATS, which has one flat, server-wide space of
subjects, streams, consumers and KV buckets.

A Prism name is literal, but NATS gives `.`, `*`, `>` and whitespace meaning in subjects and
forbids them in stream, consumer and bucket names. So every namespace, name and topic segment is
written as unpadded base64url of its UTF-8 bytes (letters, digits, `-`, `_`: legal in every NATS
name and subject token); an empty topic segment is the token `=`, which no encoding yields.
Resource names carry the length of the encoded namespace, so (namespace, name) pairs never
collide, and every resource of a namespace starts with `resource_prefix(kind, ns)`.
"""

from __future__ import annotations

import base64

ROOT = "prism"  # first token of every subject the plugin publishes to
PREFIX = "PRISM"  # first part of every stream, consumer and bucket name the plugin creates
EMPTY_SEGMENT = "="
# NATS refuses stream names longer than 255 characters; a name of MAX_NAME_BYTES encodes to at
# most 4 * MAX_NAME_BYTES / 3 + 1 characters, so two of them and the prefix fit.
MAX_NAME_BYTES = 64


def encode(text: str) -> str:
    """Unpadded base64url of the UTF-8 bytes; "" for ""."""
    return base64.urlsafe_b64encode(text.encode("utf-8", "surrogatepass")).rstrip(b"=").decode("ascii")


def token(segment: str) -> str:
    """A subject token standing for one literal topic segment (possibly empty)."""
    return encode(segment) if segment else EMPTY_SEGMENT


def subject(kind: str, ns: str, name: str) -> str:
    """The subject of a name (a whole topic: its segments become tokens)."""
    return ".".join([subject_prefix(kind, ns), *(token(s) for s in name.split("."))])


def subject_prefix(kind: str, ns: str) -> str:
    return f"{ROOT}.{kind}.{encode(ns)}"


def resource_prefix(kind: str, ns: str) -> str:
    """What every stream, consumer or bucket name of `kind` of the namespace starts with."""
    encoded = encode(ns)
    return f"{PREFIX}-{kind}-{len(encoded)}-{encoded}-"


def resource(kind: str, ns: str, name: str) -> str:
    """A stream, consumer or bucket name for a (namespace, name) pair: injective, and legal in
    NATS (letters, digits, '-', '_')."""
    return resource_prefix(kind, ns) + encode(name)


def kv_bucket(ns: str) -> str:
    """The namespace's KV bucket (its stream is KV_<bucket>, its subjects $KV.<bucket>.>)."""
    return resource("kv", ns, "keys")


def subject_filters(ns: str) -> tuple[str, ...]:
    """Subject filters that every stream of the namespace has subjects in."""
    return (f"{ROOT}.*.{encode(ns)}.>", f"$KV.{kv_bucket(ns)}.>")


def owned_by(resource_name: str, ns: str) -> bool:
    """Whether a stream name is one this plugin made for the namespace, of any kind (a KV
    bucket's stream is named KV_<bucket>)."""
    encoded = encode(ns)
    name = resource_name.removeprefix("KV_")
    if not name.startswith(f"{PREFIX}-"):
        return False
    _, _, rest = name.partition("-")
    _, _, rest = rest.partition("-")  # the kind
    return rest.startswith(f"{len(encoded)}-{encoded}-")


def decode(encoded: str) -> str:
    return base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode("utf-8", "surrogatepass")


def decode_token(tok: str) -> str:
    return "" if tok == EMPTY_SEGMENT else decode(tok)
