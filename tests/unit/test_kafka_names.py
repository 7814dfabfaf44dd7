"""The Kafka plugin's names (injective, valid Kafka topic names) and its ApiVersions parsing."""

from __future__ import annotations

import re
import struct

from prism_kafka import names, protocol

TOPIC_CHARS = re.compile(r"[a-zA-Z0-9._-]{1,249}")


def test_topic_names_are_valid_and_injective():
    pairs = [("a", "b.c"), ("a.b", "c"), ("ns", "s"), ("ns", "S"), ("n", "ss"), ("", "x"), ("é", "✓"), ("x" * 1024, "y" * 1024)]
    pairs += [("x" * 1024, "y" * 1023), ("ns", "s" * 500), ("ns", "s" * 501)]
    made = {}
    for ns, name in pairs:
        for kind in (names.STREAM, names.TOPIC):
            topic = names.topic(ns, kind, name)
            assert TOPIC_CHARS.fullmatch(topic), topic
            assert made.setdefault(topic, (ns, kind, name)) == (ns, kind, name), f"{topic} named twice"
            assert topic.startswith(names.namespace_prefix(ns))


def test_a_namespace_prefix_is_no_other_namespaces():
    assert not names.topic("ab", names.STREAM, "s").startswith(names.namespace_prefix("a"))
    assert not names.group("a.b", "t", "d").startswith(names.namespace_prefix("a"))
    assert names.stream_group("ns", "s", "g") != names.group("ns", "s", "g")


def test_api_versions_request_and_answer():
    assert protocol.request()[4:6] == struct.pack(">h", protocol.API_VERSIONS)
    body = struct.pack(">ihi", protocol.CORRELATION_ID, 0, 2) + struct.pack(">hhh", 0, 0, 11) + struct.pack(">hhh", 1, 4, 16)
    versions = protocol.parse(body)
    assert versions == {0: (0, 11), 1: (4, 16)}
    assert protocol.describe(versions) == "2 APIs, Produce up to v11, Fetch up to v16"


def test_names_are_injective_over_look_alikes():
    """The look-alike tuples of the #conventions case (separators, case, NFC/NFD, long names),
    also with parts long enough to be hashed."""
    from prism_accept.runtime.isolation import assert_injective

    for longest in (300, 1000):
        for kind in (names.STREAM, names.TOPIC, names.POLICIES):
            assert_injective(lambda ns, name: names.topic(ns, kind, name), longest=longest)
        assert_injective(names.group, arity=3, longest=longest)
        assert_injective(names.stream_group, arity=3, longest=longest)
