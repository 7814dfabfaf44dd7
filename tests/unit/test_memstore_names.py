"""MemStore keeps data in dicts keyed by the namespace, then the name (never a string built
from both): distinct look-alike (namespace, name) pairs of the #conventions case stay apart."""

from __future__ import annotations

import asyncio

from prism_accept.runtime.isolation import colliding_tuples
from prism_memstore.keyvalue import MemKeyValue
from prism_memstore.pubsub import MemPubSub


def test_look_alike_keys_stay_apart():
    async def run() -> None:
        store = MemKeyValue()
        tuples = list(dict.fromkeys(parts for pair in colliding_tuples() for parts in pair))
        for i, (ns, key) in enumerate(tuples):
            await store.set(ns, key, b"%d" % i)
        for i, (ns, key) in enumerate(tuples):
            assert await store.get(ns, key) == b"%d" % i, (ns, key)

    asyncio.run(run())


def test_look_alike_durable_names_stay_apart():
    async def run() -> None:
        store = MemPubSub()
        tuples = list(dict.fromkeys(parts for pair in colliding_tuples(3) for parts in pair))
        for ns, topic, durable in tuples:
            await store.publish_persistent(ns, topic, b"m")
            assert await store.ack_durable(ns, topic, durable, "1")
        for ns, topic, durable in tuples:
            assert store._topic(ns, topic).acked == {d: 1 for n, t, d in tuples if (n, t) == (ns, topic)}

    asyncio.run(run())
