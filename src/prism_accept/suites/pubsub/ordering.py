"""pubsub_ordering: PublishOrdered. Five publishers, one ordering key each, publish 100
messages each at once; every subscriber gets all 500, each key's in publish order."""

from __future__ import annotations

import threading
from typing import Iterator

import pytest

from prism_accept.suites.base import InterfaceSuite, check
from prism_accept.suites.delivery import audit
from prism_accept.suites.pubsub.basic import PubSubOps
from prism_accept.suites.requirements import requires
from prism_accept.suites.rows import AllRows

KEYS = 5
PER_KEY = 100


def publish_concurrently(plugin, ns: str, topic: str, keys: list[str], per_key: int) -> dict[str, list[str]]:
    """One thread per key, started together; what each key's thread published, in order."""
    sent: dict[str, list[str]] = {k: [] for k in keys}
    errors: list[BaseException] = []
    start = threading.Barrier(len(keys))

    def publish(key: str) -> None:
        ops = PubSubOps(plugin.channel, ns)
        try:
            start.wait(10)
            for i in range(per_key):
                payload = f"{key}/{i:03d}"
                ops.publish_ordered(topic, payload.encode(), key)
                sent[key].append(payload)
        except BaseException as e:  # noqa: BLE001 - reported by the caller
            errors.append(e)

    threads = [threading.Thread(target=publish, args=(k,)) for k in keys]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    check("publisher errors", [repr(e)[:200] for e in errors], [])
    return sent


@requires.interface("pubsub_basic")
class PubSubOrderingTests(InterfaceSuite):
    interface = "pubsub_ordering"

    @pytest.fixture
    def ps(self, plugin, namespace) -> Iterator[PubSubOps]:
        ops = PubSubOps(plugin.channel, namespace)
        yield ops
        ops.close()

    def test_per_key_order_under_concurrent_publishers(self, plugin, ps):
        subscribers = [ps.subscribe("t"), ps.subscribe("t")]
        keys = [f"k{i}" for i in range(KEYS)]
        sent = publish_concurrently(plugin, ps.ns, "t", keys, PER_KEY)
        with AllRows() as rows:
            for n, s in enumerate(subscribers):
                got = s.take(KEYS * PER_KEY)
                for key in keys:
                    mine = [m.payload.decode() for m in got if m.ordering_key == key]
                    audit(f"subscriber {n + 1}: key {key!r} ({PER_KEY} messages)", sent[key], [mine])
                stray = [m.payload.decode() for m in got if m.ordering_key not in sent]
                rows.check(f"subscriber {n + 1}: messages without one of the ordering keys", stray, [])

    def test_ordering_key_round_trips(self, ps):
        s = ps.subscribe("t")
        sent = [("k", b"a"), ("", b"b"), ("k.*", b"c"), ("é ✓", b"d")]
        for key, payload in sent:
            ps.publish_ordered("t", payload, key)
        check("(ordering_key, payload) delivered", [(m.ordering_key, m.payload) for m in s.take(len(sent))], sent)

    def test_keys_on_two_topics(self, plugin, ps):
        t, u = ps.subscribe("t"), ps.subscribe("u")
        keys = ["a", "b"]
        on_t = publish_concurrently(plugin, ps.ns, "t", keys, 50)
        on_u = publish_concurrently(plugin, ps.ns, "u", keys, 50)
        for topic, s, sent in (("t", t, on_t), ("u", u, on_u)):
            got = s.take(100)
            for key in keys:
                audit(f"topic {topic!r}, key {key!r}", sent[key], [[m.payload.decode() for m in got if m.ordering_key == key]])
