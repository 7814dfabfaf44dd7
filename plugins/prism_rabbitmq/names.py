"""Broker-wide names of what a namespace creates: an injective encoding of (kind, namespace,
name), so no two namespaces (or a namespace and another plugin's resources) can meet.

AMQP names are at most 255 bytes; a name that would be longer is replaced by a SHA-256 of the
same encoding under its own prefix (so the two forms never collide with each other)."""

from __future__ import annotations

import hashlib
import string

MAX_AMQP_NAME_BYTES = 255
PREFIX = "prism"

QUEUE = "q"  # a queue of queue_* interfaces
DELAY = "d"  # a queue's messages of one delay, waiting for their TTL (queues.py)
INDEX = "i"  # the namespace's index: one message per resource it created (for DropNamespace)
TOPICS = "t"  # the namespace's topic exchange (pubsub_basic, pubsub_wildcards)
HEADERS = "h"  # the namespace's headers exchange (pubsub_filtering)
PERSISTENT = "p"  # the namespace's persistent topic exchange (pubsub_persistent)
DURABLE = "u"  # a durable name's queue (pubsub_persistent)
LAST = "l"  # a topic's newest persistent message (pubsub_persistent)


def _utf8(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


_PLAIN = frozenset(string.ascii_letters + string.digits + "-_.:")


def _escaped(text: str) -> str:
    """Only characters the AMQP client accepts in names (pamqp allows `[a-zA-Z0-9-_.:@#,/+ ]`):
    any other one becomes `@hh` per UTF-8 byte (`@` itself included, so it is injective)."""
    return "".join(c if c in _PLAIN else "".join(f"@{b:02x}" for b in _utf8(c)) for c in text)


def broker_name(kind: str, ns: str, name: str = "") -> str:
    """`prism.<kind>.<len(ns)>.<ns>.<name>`, escaped: the length prefix makes it injective."""
    ns_escaped = _escaped(ns)
    readable = f"{PREFIX}.{kind}.{len(ns_escaped)}.{ns_escaped}.{_escaped(name)}"
    if len(readable) <= MAX_AMQP_NAME_BYTES:
        return readable
    digest = hashlib.sha256(b"%d:%s:%d:%s" % (len(_utf8(kind)), _utf8(kind), len(_utf8(ns)), _utf8(ns)) + _utf8(name)).hexdigest()
    return f"{PREFIX}#{kind}#{digest}"


def durable_queue(topic: str, durable_name: str) -> str:
    """The name part of a durable name's queue (kind DURABLE): the topic's length makes it
    injective in (topic, durable name)."""
    return f"{len(topic)}.{topic}.{durable_name}"


# Characters a topic exchange gives a meaning to in binding keys ('*', '#'), and the escape.
_ESCAPES = {"%": "%25", "*": "%2A", "#": "%23"}


def routing_segment(segment: str) -> str:
    """A topic segment as a literal word of a routing or binding key."""
    return "".join(_ESCAPES.get(c, c) for c in segment)


def routing_key(topic: str) -> str:
    """The topic's routing key: its '.'-separated segments, each escaped (injective, and no
    word of it is a wildcard)."""
    return ".".join(routing_segment(s) for s in topic.split("."))


def attribute_header(attribute: str) -> str:
    """The header an attribute is matched under by a headers exchange: `a:<name>` (never an
    `x-` header, which the exchange ignores), hashed when longer than a field name may be."""
    header = f"a:{attribute}"
    if len(_utf8(header)) <= MAX_AMQP_NAME_BYTES - 1:
        return header
    return "h:" + hashlib.sha256(_utf8(attribute)).hexdigest()
