"""The NATS plugin names what it creates in one server-wide space: its names must be injective
in (namespace, name), legal for NATS, and DropNamespace must delete exactly the namespace's
streams (KV buckets, queues, topics), never another namespace's nor a stream it did not make."""

from __future__ import annotations

import asyncio
import itertools
import re
import uuid

import pytest

from prism.keyvalue.v1 import keyvalue_pb2 as kv_pb
from prism.keyvalue.v1 import keyvalue_pb2_grpc as kv_grpc
from prism.queue.v1 import queue_pb2 as q_pb
from prism.queue.v1 import queue_pb2_grpc as q_grpc
from prism.stream.v1 import stream_pb2 as st_pb
from prism.stream.v1 import stream_pb2_grpc as st_grpc
from prism_accept.harness.inprocess import InProcessPlugin
from prism_nats import names
from prism_nats.pubsub import NatsPubSub

URL = "nats://127.0.0.1:4222"
BUCKET = re.compile(r"[A-Za-z0-9_-]+")  # NATS KV bucket names; stream and consumer names allow more
TOKEN = re.compile(r"[^\s.*>]+")  # a subject token
# Names that naive joins ("ns-name", "ns.name") or escapes would make collide.
TRICKY = ["a", "a-", "-a", "a-b", "a.b", "a b", "a*", "a>", "a_", "=", "", "é", "🔑", "4-YQ", "YQ", "PRISM-kv-1-YQ-"]


def test_resource_names_are_injective_and_legal():
    pairs = [(ns, name) for ns, name in itertools.product(TRICKY, TRICKY) if ns and name]
    made = {names.resource("st", ns, name): (ns, name) for ns, name in pairs}
    assert len(made) == len(pairs), "two (namespace, name) pairs share a stream name"
    for resource in made:
        assert BUCKET.fullmatch(resource), resource


def test_the_longest_names_fit_a_stream_name():
    longest = "🔑" * (names.MAX_NAME_BYTES // 4)  # 4 UTF-8 bytes each
    assert len("KV_" + names.resource("kv", longest, longest)) <= 255


def test_topic_tokens_are_injective_and_never_wildcards():
    topics = ["a", "a.b", "a..b", "a.", ".a", "*", ">", "a.*", "a.>", "a b", "a\tb", "", "="]
    subjects = {names.subject("ps", "ns", t): t for t in topics}
    assert len(subjects) == len(topics)
    for subject, topic in subjects.items():
        tokens = subject.split(".")
        assert all(TOKEN.fullmatch(t) for t in tokens), subject
        assert ".".join(names.decode_token(t) for t in tokens[3:]) == topic


def test_ownership_is_exact():
    for ns, other in itertools.permutations([n for n in TRICKY if n], 2):
        assert names.owned_by(names.resource("q", ns, "x"), ns)
        assert names.owned_by("KV_" + names.resource("kv", ns, "keys"), ns)
        assert not names.owned_by(names.resource("q", other, "x"), ns), (ns, other)
    assert not names.owned_by("KV_orders", "orders")
    assert not names.owned_by("ORDERS", "ORDERS")


async def _stream_names() -> list[str]:
    import json

    import nats

    nc = await nats.connect(URL, connect_timeout=2, max_reconnect_attempts=0)
    try:
        reply = await nc.request("$JS.API.STREAM.NAMES", b"{}", timeout=2)
        return json.loads(reply.data).get("streams") or []
    finally:
        await nc.close()


async def _foreign_stream(name: str, create: bool) -> None:
    import nats

    nc = await nats.connect(URL, connect_timeout=2, max_reconnect_attempts=0)
    try:
        js = nc.jetstream(timeout=2)
        if create:
            await js.add_stream(name=name, subjects=[f"unit.{name}"], max_bytes=1024 * 1024)
        else:
            await js.delete_stream(name)
    finally:
        await nc.close()


def test_drop_namespace_deletes_its_streams_and_nothing_else():
    try:
        asyncio.run(_stream_names())
    except Exception as e:  # noqa: BLE001 - any failure to reach the server
        pytest.skip(f"no NATS with JetStream at {URL} ({type(e).__name__}): start it (see README)")
    base = f"pa-unit-{uuid.uuid4().hex[:8]}"
    ns, neighbour = base, base + "-"  # the neighbour's encoding extends the namespace's
    foreign = f"UNIT-{uuid.uuid4().hex[:8]}"
    asyncio.run(_foreign_stream(foreign, True))
    plugin = InProcessPlugin("prism_nats").start({"url": URL})
    try:
        for n in (ns, neighbour):
            kv_grpc.KeyValueBasicStub(plugin.channel).Set(kv_pb.SetRequest(namespace=n, key="k", value=b"v"), timeout=5)
            q_grpc.QueueBasicStub(plugin.channel).Enqueue(q_pb.EnqueueRequest(namespace=n, queue="q", payload=b"m"), timeout=5)
            st_grpc.StreamBasicStub(plugin.channel).Append(st_pb.AppendRequest(namespace=n, stream="s", payload=b"r"), timeout=5)
        owned = [s for s in asyncio.run(_stream_names()) if names.owned_by(s, ns)]
        assert len(owned) == 3, owned
        plugin.drop_namespace(ns)
        left = asyncio.run(_stream_names())
        assert not [s for s in left if names.owned_by(s, ns)], "DropNamespace left streams behind"
        assert len([s for s in left if names.owned_by(s, neighbour)]) == 3, "DropNamespace deleted another namespace's streams"
        assert foreign in left, "DropNamespace deleted a stream the plugin did not make"
        plugin.drop_namespace(neighbour)
    finally:
        plugin.stop()
        asyncio.run(_foreign_stream(foreign, False))


def test_names_are_injective_over_look_alikes():
    """The look-alike tuples of the #conventions case (separators, case, NFC/NFD, long names)."""
    from prism_accept.runtime.isolation import assert_injective

    for kind in ("kv", "q", "st", "ps", "pp"):
        assert_injective(lambda ns, name: names.resource(kind, ns, name), longest=names.MAX_NAME_BYTES)
        assert_injective(lambda ns, name: names.subject(kind, ns, name), longest=names.MAX_NAME_BYTES)
    assert_injective(lambda ns, key: (names.kv_bucket(ns), names.encode(key)), longest=names.MAX_NAME_BYTES)
    assert_injective(
        lambda ns, topic, durable: (NatsPubSub.stream_name(ns, topic), NatsPubSub.bookmark(durable)), arity=3, longest=names.MAX_NAME_BYTES
    )
