"""pubsub_filtering: PublishWithAttributes, SubscribeFiltered. Each case publishes what the
filter must drop, then what it must keep, then a marker it keeps: the subscriber must get
exactly the kept ones, with their attributes, in order."""

from __future__ import annotations

from typing import Iterator

import pytest

from prism.pubsub.v1 import pubsub_pb2 as pb
from prism_accept.suites.base import InterfaceSuite, check
from prism_accept.suites.pubsub.basic import PubSubOps, Subscription
from prism_accept.suites.rows import AllRows


def equals(attribute: str, value: str) -> pb.AttributeCondition:
    return pb.AttributeCondition(attribute=attribute, equals=value)


def in_set(attribute: str, *values: str) -> pb.AttributeCondition:
    return pb.AttributeCondition(attribute=attribute, in_set=pb.StringSet(values=values))


def exists(attribute: str, present: bool = True) -> pb.AttributeCondition:
    return pb.AttributeCondition(attribute=attribute, exists=present)


def kept(ps: PubSubOps, s: Subscription, dropped: list[dict[str, str]], wanted: list[dict[str, str]], marker: dict[str, str]) -> None:
    for i, attributes in enumerate(dropped):
        ps.publish_with_attributes("t", f"drop{i}".encode(), attributes)
    for i, attributes in enumerate(wanted):
        ps.publish_with_attributes("t", f"keep{i}".encode(), attributes)
    ps.publish_with_attributes("t", b"marker", marker)
    got = [(m.payload, dict(m.attributes)) for m in s.until(b"marker")]
    want = [(f"keep{i}".encode(), a) for i, a in enumerate(wanted)] + [(b"marker", marker)]
    check(f"{s.what} after publishing {dropped + wanted}: (payload, attributes)", got, want)


class PubSubFilteringTests(InterfaceSuite):
    interface = "pubsub_filtering"

    @pytest.fixture
    def ps(self, plugin, namespace) -> Iterator[PubSubOps]:
        ops = PubSubOps(plugin.channel, namespace)
        yield ops
        ops.close()

    def test_match_and_non_match(self, ps):
        s = ps.subscribe_filtered("t", equals("region", "eu"))
        dropped = [{"region": "us"}, {"region": "EU"}, {"region": "eu "}, {"zone": "eu"}]
        kept(ps, s, dropped, [{"region": "eu"}, {"region": "eu", "tier": "gold"}], {"region": "eu"})

    def test_missing_attribute(self, ps):
        needs = ps.subscribe_filtered("t", exists("region"))
        lacks = ps.subscribe_filtered("t", exists("region", False))
        matching = ps.subscribe_filtered("t", equals("region", ""))
        ps.publish_with_attributes("t", b"none", {})
        ps.publish_with_attributes("t", b"other", {"tier": "gold"})
        ps.publish_with_attributes("t", b"empty", {"region": ""})
        ps.publish_with_attributes("t", b"eu", {"region": "eu"})
        ps.publish_with_attributes("t", b"marker", {"region": "", "tier": "x"})
        ps.publish_with_attributes("t", b"end", {})
        check("exists(region)", [m.payload for m in needs.until(b"marker")], [b"empty", b"eu", b"marker"])
        check("exists(region)=false", [m.payload for m in lacks.until(b"end")], [b"none", b"other", b"end"])
        check("region == ''", [m.payload for m in matching.until(b"marker")], [b"empty", b"marker"])

    def test_in_set(self, ps):
        s = ps.subscribe_filtered("t", in_set("tier", "gold", "silver"))
        kept(
            ps,
            s,
            [{"tier": "bronze"}, {}, {"tier": "gold,silver"}, {"gold": "tier"}],
            [{"tier": "silver"}, {"tier": "gold"}],
            {"tier": "gold"},
        )

    def test_all_conditions_must_hold(self, ps):
        s = ps.subscribe_filtered("t", equals("region", "eu"), in_set("tier", "gold", "silver"), exists("test", False))
        dropped = [{"region": "eu"}, {"tier": "gold"}, {"region": "us", "tier": "gold"}, {"region": "eu", "tier": "gold", "test": "1"}]
        kept(ps, s, dropped, [{"region": "eu", "tier": "gold"}], {"region": "eu", "tier": "silver", "x": "y"})

    def test_two_subscribers_with_different_filters(self, ps):
        eu, us = ps.subscribe_filtered("t", equals("region", "eu")), ps.subscribe_filtered("t", equals("region", "us"))
        everything = ps.subscribe_filtered("t")
        for i, region in enumerate(["eu", "us", "eu", "us", "asia"]):
            ps.publish_with_attributes("t", f"{region}{i}".encode(), {"region": region})
        ps.publish_with_attributes("t", b"end", {"region": "eu"})
        ps.publish_with_attributes("t", b"end", {"region": "us"})
        check("filter region == 'eu'", [m.payload for m in eu.until(b"end")], [b"eu0", b"eu2", b"end"])
        check("filter region == 'us'", [m.payload for m in us.until(b"end")], [b"us1", b"us3", b"end"])
        check("no filter", [m.payload for m in everything.take(7)], [b"eu0", b"us1", b"eu2", b"us3", b"asia4", b"end", b"end"])

    def test_topic_isolation(self, ps):
        s = ps.subscribe_filtered("t", equals("region", "eu"))
        for topic in ["u", "T", "t.x", "t*"]:
            ps.publish_with_attributes(topic, topic.encode(), {"region": "eu"})
        ps.publish_with_attributes("t", b"marker", {"region": "eu"})
        check("filtered subscriber of 't'", [m.payload for m in s.until(b"marker")], [b"marker"])

    def test_malformed_filters_are_invalid(self, ps):
        with AllRows() as rows:
            for what, condition in [
                ("a condition without a test", pb.AttributeCondition(attribute="a")),
                ("an empty in_set", in_set("a")),
                ("an empty attribute name", equals("", "x")),
            ]:
                request = pb.SubscribeFilteredRequest(namespace=ps.ns, topic="t", all_of=[condition])
                s = ps.open(ps.filtering.SubscribeFiltered, request, f"SubscribeFiltered with {what}")
                rows.check(f"SubscribeFiltered with {what}: (messages, status)", s.end(), ([], "INVALID_ARGUMENT"))
