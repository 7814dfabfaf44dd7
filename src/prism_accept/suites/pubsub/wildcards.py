"""pubsub_wildcards: SubscribePattern in the canonical syntax ('.' separates segments, '*' is
one segment, a last '>' one or more). Every case publishes the topics a pattern must not match
first, then the ones it must, then a marker it matches: it must get exactly those, in order."""

from __future__ import annotations

from typing import Iterator

import grpc
import pytest

from prism.pubsub.v1 import pubsub_pb2 as pb
from prism_accept.suites.base import InterfaceSuite, check
from prism_accept.suites.pubsub.basic import PubSubOps, payloads
from prism_accept.suites.requirements import requires
from prism_accept.suites.rows import AllRows


def matched(ps: PubSubOps, pattern: str, misses: list[str], hits: list[str]) -> None:
    """Subscribe to the pattern; publish to every topic (misses interleaved before the hits);
    the subscriber must get exactly the hits, each with its topic, in publish order."""
    s = ps.subscribe_pattern(pattern)
    for topic in misses + hits:
        ps.publish(topic, f"to {topic}".encode())
    marker = hits[-1]
    ps.publish(marker, b"marker")
    got = s.until(b"marker")
    want = [(t, f"to {t}".encode()) for t in hits] + [(marker, b"marker")]
    check(f"SubscribePattern({pattern!r}) after publishing to {misses + hits}: (topic, payload)", [(m.topic, m.payload) for m in got], want)


class PubSubWildcardsTests(InterfaceSuite):
    interface = "pubsub_wildcards"

    @pytest.fixture
    def ps(self, plugin, namespace) -> Iterator[PubSubOps]:
        ops = PubSubOps(plugin.channel, namespace)
        yield ops
        ops.close()

    def test_star_is_exactly_one_segment(self, ps):
        matched(ps, "a.*", misses=["a", "a.b.c", "ab.c", "b.a", "a.b.", "x.a.b"], hits=["a.b", "a.c", "a.", "a.*"])

    def test_star_in_the_middle(self, ps):
        matched(ps, "a.*.c", misses=["a.c", "a.b.c.d", "a.b.d", "b.b.c", "a.b.cc"], hits=["a.b.c", "a.xyz.c"])

    def test_rest_is_one_or_more_trailing_segments(self, ps):
        matched(ps, "a.>", misses=["a", "ab", "ab.c", "b.a", "x.a.b"], hits=["a.b", "a.b.c", "a.b.c.d.e", "a.>"])

    def test_rest_alone_matches_every_topic(self, ps):
        matched(ps, ">", misses=[], hits=["a", "a.b", "a.b.c", "*", "x y"])

    def test_literal_segments_are_not_wildcards(self, ps):
        """MQTT's '+ #', a glob's '? [ ] \\', and '*' or '>' inside a longer segment."""
        matched(ps, "+.#", misses=["x.y", "x.y.z", "+.y", "x.#"], hits=["+.#"])
        matched(ps, "a?.*", misses=["ab.x", "a.x", "a?b.x"], hits=["a?.x"])
        matched(ps, "[ab].*", misses=["a.x", "b.x", "[ab]x.x"], hits=["[ab].x"])
        matched(ps, "a*.b", misses=["ab.b", "a.b", "axy.b", "a*.c"], hits=["a*.b"])
        matched(ps, "a>", misses=["a.b", "ab", "a"], hits=["a>"])
        matched(ps, "\\*.*", misses=["x.y", "\\x.y"], hits=["\\*.y"])
        matched(ps, "c%_:.*", misses=["cx_:.y", "c%x:.y"], hits=["c%_:.y"])

    @requires.interface("pubsub_basic")
    def test_pattern_and_exact_subscribers_both_receive(self, ps):
        pattern, exact = ps.subscribe_pattern("a.*"), ps.subscribe("a.b")
        ps.publish("a.c", b"only the pattern")
        ps.publish("a.b", b"both")
        check(
            "SubscribePattern('a.*')",
            [(m.topic, m.payload) for m in pattern.until(b"both")],
            [("a.c", b"only the pattern"), ("a.b", b"both")],
        )
        check("Subscribe('a.b')", payloads(exact.until(b"both")), [b"both"])

    def test_namespace_isolation(self, plugin, ps):
        """A namespace holding glob characters, and one of the same length, stay apart."""
        globbed = PubSubOps(plugin.channel, plugin.track(ps.ns + "*"))
        same_length = PubSubOps(plugin.channel, plugin.track(ps.ns + "x"))
        try:
            s = globbed.subscribe_pattern(">")
            same_length.publish("t", b"other namespace")
            ps.publish("t", b"prefix namespace")
            globbed.publish("t", b"marker")
            check(f"SubscribePattern('>') in namespace {globbed.ns!r}", payloads(s.until(b"marker")), [b"marker"])
        finally:
            for ops in (globbed, same_length):
                ops.close()
                try:
                    plugin.drop_namespace(ops.ns)
                except grpc.RpcError:
                    pass

    def test_malformed_pattern_is_invalid(self, ps):
        with AllRows() as rows:
            for pattern in ["a.>.b", ">.a", ""]:
                request = pb.SubscribePatternRequest(namespace=ps.ns, pattern=pattern)
                s = ps.open(ps.wildcards.SubscribePattern, request, f"SubscribePattern({pattern!r})")
                rows.check(f"SubscribePattern({pattern!r}): (messages, status)", s.end(), ([], "INVALID_ARGUMENT"))
