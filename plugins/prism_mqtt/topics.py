"""Prism names as MQTT topics. Every name segment becomes one MQTT topic level,
percent-encoded (RFC 3986 unreserved characters kept), so '+', '#', '/', '$', '%' and every
other character of a name are literal in MQTT and the encoding is injective.

    prism/<namespace>/t/<segment>/<segment>...   messages of Publish (pubsub_basic, ...)
    prism/<namespace>/p/<segment>/<segment>...   PublishPersistent; the retained one is the last
    prism/<namespace>/s/<client id>              retained: a durable session and its acked position

A topic's segments are split on '.', as the canonical wildcard syntax splits them, so '*'
becomes '+' and a last '>' becomes '+/#' (one or more levels): the translation is exact."""

from __future__ import annotations

import hashlib
from urllib.parse import quote, unquote

ROOT = "prism"
LIVE = "t"
PERSISTENT = "p"
SESSIONS = "s"


def level(name: str) -> str:
    """One MQTT topic level holding the name literally (never a wildcard, never a separator)."""
    return quote(name, safe="")


def namespace_filter(ns: str) -> str:
    """Every topic of the namespace."""
    return f"{ROOT}/{level(ns)}/#"


def kind_prefix(ns: str, kind: str) -> str:
    return f"{ROOT}/{level(ns)}/{kind}/"


def topic(ns: str, kind: str, name: str) -> str:
    return kind_prefix(ns, kind) + "/".join(level(s) for s in name.split("."))


def pattern(ns: str, segments: tuple[str, ...]) -> str:
    """The MQTT filter matching exactly the topics the canonical pattern matches."""
    levels = ["+" if s == "*" else "+/#" if s == ">" else level(s) for s in segments]
    return kind_prefix(ns, LIVE) + "/".join(levels)


def name_of(ns: str, kind: str, mqtt_topic: str) -> str:
    """The Prism topic of an MQTT topic made by topic(ns, kind, ...)."""
    rest = mqtt_topic[len(kind_prefix(ns, kind)) :]
    return ".".join(unquote(part) for part in rest.split("/"))


def session(ns: str, client_id: str) -> str:
    return kind_prefix(ns, SESSIONS) + client_id


def durable_client_id(ns: str, name: str, durable_name: str) -> str:
    """The fixed MQTT client id of a durable subscription: every SubscribeDurable of the same
    (namespace, topic, durable name) resumes the same broker session."""
    digest = hashlib.sha256("\0".join((ns, name, durable_name)).encode()).hexdigest()
    return f"prism-{digest[:40]}"
