"""The MQTT plugin's names are injective over the look-alike tuples of the #conventions case:
a durable subscription's client id (one broker session per (namespace, topic, durable name)),
topics and the retained records' topics."""

from __future__ import annotations

from prism_accept.runtime.isolation import assert_injective
from prism_mqtt import topics


def test_durable_client_ids_are_injective():
    """A NUL join made (namespace "rtA", topic "b\\0c") and ("rtA\\0b", "c") with one durable
    name resume one broker session: one subscriber got the other's backlog and live messages."""
    assert_injective(topics.durable_client_id, arity=3)
    assert topics.durable_client_id("rtA", "b\0c", "d") != topics.durable_client_id("rtA\0b", "c", "d")


def test_topics_are_injective():
    for kind in (topics.LIVE, topics.PERSISTENT):
        assert_injective(lambda ns, name: topics.topic(ns, kind, name))
    assert_injective(topics.last)
    assert_injective(topics.session)


def test_length_prefixed_parts_are_injective():
    assert_injective(lambda *parts: topics.length_prefixed(*parts), arity=3)
    assert topics.length_prefixed("a", "") != topics.length_prefixed("", "a")
