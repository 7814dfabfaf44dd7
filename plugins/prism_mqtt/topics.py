"""Prism names as MQTT topics. Every name segment becomes one MQTT topic level,
percent-encoded (RFC 3986 unreserved characters kept), so '+', '#', '/', '$', '%' and every
other character of a name are literal in MQTT and the encoding is injective.

    prism/<namespace>/t/<segment>/<segment>...   messages of Publish (pubsub_basic, ...)
    prism/<namespace>/p/<segment>/<segment>...   messages of PublishPersistent
    prism/<namespace>/l/<topic>                  retained: the topic's last persistent message id
    prism/<namespace>/s/<client id>              retained: a durable session and its acked position
    prism/<namespace>/b/<client id>/<message id> retained: a durable session's unacknowledged messages

A topic's segments are split on '.', as the canonical wildcard syntax splits them, so '*'
becomes '+' and a last '>' becomes '+/#' (one or more levels): the translation is exact.
Mosquitto refuses (disconnects) a topic of more than 200 levels: a name with more segments
than fit is INVALID_ARGUMENT here, before it reaches the broker."""

from __future__ import annotations

import hashlib
from urllib.parse import quote, unquote

from prism_plugin.status import invalid

ROOT = "prism"
LIVE = "t"
PERSISTENT = "p"
LAST = "l"
SESSIONS = "s"
BACKLOG = "b"
MAX_LEVELS = 200  # Mosquitto's TOPIC_HIERARCHY_LIMIT
MAX_SEGMENTS = MAX_LEVELS - 3  # after "prism/<namespace>/<kind>"


def level(name: str) -> str:
    """One MQTT topic level holding the name literally (never a wildcard, never a separator)."""
    return quote(name, safe="")


def namespace_filter(ns: str) -> str:
    """Every topic of the namespace."""
    return f"{ROOT}/{level(ns)}/#"


def kind_prefix(ns: str, kind: str) -> str:
    return f"{ROOT}/{level(ns)}/{kind}/"


def _fitting(what: str, count: int) -> None:
    if count > MAX_SEGMENTS:
        raise invalid(f"{what} has {count} segments: an MQTT broker takes at most {MAX_SEGMENTS} here")


def topic(ns: str, kind: str, name: str) -> str:
    segments = name.split(".")
    _fitting("the topic", len(segments))
    return kind_prefix(ns, kind) + "/".join(level(s) for s in segments)


def pattern(ns: str, segments: tuple[str, ...]) -> str:
    """The MQTT filter matching exactly the topics the canonical pattern matches."""
    levels = ["+" if s == "*" else "+/#" if s == ">" else level(s) for s in segments]
    _fitting("the pattern", len(segments) + (segments[-1] == ">"))
    return kind_prefix(ns, LIVE) + "/".join(levels)


def last(ns: str, name: str) -> str:
    """The retained record of a topic's last persistent message id (one level: any name fits)."""
    return kind_prefix(ns, LAST) + level(name)


def name_of(ns: str, kind: str, mqtt_topic: str) -> str:
    """The Prism topic of an MQTT topic made by topic(ns, kind, ...)."""
    rest = mqtt_topic[len(kind_prefix(ns, kind)) :]
    return ".".join(unquote(part) for part in rest.split("/"))


def session(ns: str, client_id: str) -> str:
    return kind_prefix(ns, SESSIONS) + client_id


def durable_client_id(ns: str, name: str, durable_name: str) -> str:
    """The fixed MQTT client id of a durable subscription: every SubscribeDurable of the same
    (namespace, topic, durable name) resumes the same broker session, and no other does. The
    digest is of the parts length-prefixed (a join with a separator is not injective: names may
    hold any character, U+0000 included)."""
    digest = hashlib.sha256(length_prefixed(ns, name, durable_name)).hexdigest()
    return f"prism-{digest[:40]}"


def length_prefixed(*parts: str) -> bytes:
    """An injective encoding of a tuple of strings: each part's UTF-8 bytes after their length."""
    return b"".join(len(raw).to_bytes(8, "big") + raw for raw in (p.encode("utf-8", "surrogatepass") for p in parts))


def backlog(ns: str, client_id: str, message_id: str) -> str:
    return f"{kind_prefix(ns, BACKLOG)}{client_id}/{message_id}"
