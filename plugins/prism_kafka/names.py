"""Kafka names for Prism namespaces and names, injective so namespaces never meet.

Kafka topic names allow [a-zA-Z0-9._-], at most 249 characters. A part (namespace, stream,
topic, durable name) is its UTF-8 bytes in lowercase unpadded base32 ([a-z2-7]); a part whose
encoding would not fit is "h-" + the sha256 of its bytes in hex ('-' is not in the base32
alphabet, so the two forms never collide; two long parts collide only with sha256). Parts are
joined with '.', which neither form contains:

    prism.<namespace>.<kind>.<name>     kind: s (stream), t (pub/sub topic), r (retention policies)
    prism.<namespace>.d.<topic>.<durable name>    the consumer group of a durable subscription
    prism.<namespace>.g.<stream>.<group>          a stream's consumer group

Everything of a namespace starts with `namespace_prefix(ns)`, which is how DropNamespace finds it.
"""

from __future__ import annotations

import base64
import hashlib

MAX_TOPIC = 249
MAX_NAMESPACE_PART = 100
ROOT = "prism"
STREAM, TOPIC, POLICIES, DURABLE, GROUP = "s", "t", "r", "d", "g"


def part(name: str, budget: int) -> str:
    raw = name.encode("utf-8", "surrogatepass")
    encoded = base64.b32encode(raw).decode().rstrip("=").lower()
    return encoded if len(encoded) <= budget else "h-" + hashlib.sha256(raw).hexdigest()


def namespace_prefix(ns: str) -> str:
    return f"{ROOT}.{part(ns, MAX_NAMESPACE_PART)}."


def topic(ns: str, kind: str, name: str = "") -> str:
    head = f"{namespace_prefix(ns)}{kind}."
    return head + part(name, MAX_TOPIC - len(head))


def group(ns: str, topic_name: str, durable: str) -> str:
    """The consumer group of a durable subscription (group ids have no length limit)."""
    return f"{namespace_prefix(ns)}{DURABLE}.{part(topic_name, MAX_TOPIC)}.{part(durable, MAX_TOPIC)}"


def stream_group(ns: str, stream: str, group_name: str) -> str:
    """The Kafka consumer group of a stream's consumer group."""
    return f"{namespace_prefix(ns)}{GROUP}.{part(stream, MAX_TOPIC)}.{part(group_name, MAX_TOPIC)}"
