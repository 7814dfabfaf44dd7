"""The RabbitMQ plugin's broker names, priority levels and bindings (pure), and its
DropNamespace: a second plugin process deletes every queue and exchange a first one created
for the namespace (what the journal's sweep relies on after a killed plugin), and nothing else."""

from __future__ import annotations

import asyncio
import socket
import string
import uuid

import aio_pika
import pytest

from prism.pubsub.v1 import pubsub_pb2 as ps_pb
from prism.pubsub.v1 import pubsub_pb2_grpc as ps_grpc
from prism.queue.v1 import queue_pb2 as q_pb
from prism.queue.v1 import queue_pb2_grpc as q_grpc
from prism_accept.harness.inprocess import InProcessPlugin
from prism_plugin.contracts.pubsub.filtering import Condition
from prism_rabbitmq import names
from prism_rabbitmq.connection import MAX_PRIORITY_LEVEL
from prism_rabbitmq.pubsub import MAX_BINDINGS, binding_key, header_bindings
from prism_rabbitmq.queues import priority_level

URL = "amqp://127.0.0.1:5672/"  # the client's default credentials (guest), as the registry has it
AMQP_NAME_CHARS = set(string.ascii_letters + string.digits + "-_.:@#,/+ ")

TRICKY = ["", "a", "a.b", "1.a", "a@", "@61", "q*", "q?", "[q]", "'q'", "q q", "é", "✓", "a" * 300, "x" * 1024]


def test_broker_names_are_injective_and_amqp_legal():
    seen: dict[str, tuple[str, str, str]] = {}
    for kind in (names.QUEUE, names.INDEX, names.TOPICS):
        for ns in TRICKY[1:]:
            for name in TRICKY:
                broker_name = names.broker_name(kind, ns, name)
                assert set(broker_name) <= AMQP_NAME_CHARS, broker_name
                assert len(broker_name.encode()) <= names.MAX_AMQP_NAME_BYTES
                assert seen.setdefault(broker_name, (kind, ns, name)) == (kind, ns, name), f"{broker_name} twice"


def test_routing_keys_never_hold_a_wildcard_word():
    for topic in ["a.*", "#", "a.#.b", "%2A", "*x", "a..b"]:
        words = names.routing_key(topic).split(".")
        assert len(words) == len(topic.split("."))
        assert not any(w in ("*", "#") for w in words), topic
    assert len({names.routing_key(t) for t in ["*", "%2A", "%252A"]}) == 3


def test_binding_keys():
    assert binding_key(("a", "*")) == "a.*"
    assert binding_key(("a", ">")) == "a.*.#"
    assert binding_key((">",)) == "*.#"
    assert binding_key(("+", "#")) == "+.%23"
    assert binding_key(("a*", "b>")) == "a%2A.b>"


def test_priority_levels_are_monotone_and_exact_near_zero():
    samples = sorted({*range(-40, 41), *(s * 2**b for b in range(32) for s in (1, -1)), -(2**31), 2**31 - 1})
    levels = [priority_level(p) for p in samples]
    assert levels == sorted(levels), "a higher priority got a lower level"
    assert 0 <= min(levels) and max(levels) <= MAX_PRIORITY_LEVEL
    exact = [priority_level(p) for p in range(-10, 11)]
    assert len(set(exact)) == 21
    assert priority_level(-11) < priority_level(-10) and priority_level(11) > priority_level(10)


def test_header_bindings_cover_what_the_broker_can_express():
    topic_only = header_bindings("t", ())
    assert topic_only == [{"x-match": "all", "t": "t"}]
    both = header_bindings("t", (Condition("r", frozenset({"eu", "us"})), Condition("k", None, True), Condition("z", None, False)))
    assert sorted(b["a:r"] for b in both) == ["eu", "us"]
    assert all(b["a:k"] is None and "a:z" not in b for b in both)  # absence is left to the plugin
    wide = header_bindings("t", tuple(Condition(f"c{i}", frozenset(map(str, range(5)))) for i in range(3)))
    assert len(wide) <= MAX_BINDINGS


def _broker_up() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 5672), timeout=1).close()
        return True
    except OSError:
        return False


async def _existing(resources: list[tuple[str, bool]]) -> list[str]:
    """Which of these (name, is a queue) the broker has (passive declarations, each on a fresh
    channel: a missing one closes its channel)."""
    found = []
    connection = await aio_pika.connect(URL, timeout=3)
    try:
        for name, is_queue in resources:
            channel = await connection.channel()
            try:
                if is_queue:
                    await channel.declare_queue(name, passive=True)
                else:
                    await channel.declare_exchange(name, passive=True)
                found.append(name)
                await channel.close()
            except aio_pika.exceptions.ChannelNotFoundEntity:
                pass
    finally:
        await connection.close()
    return found


def _exists(exchange: str | None, queues: list[str]) -> list[str]:
    return asyncio.run(_existing([*((q, True) for q in queues), *(((exchange, False),) if exchange else ())]))


def _created(ns: str) -> list[tuple[str, bool]]:
    """What _create_everything makes for the namespace on the broker: (name, is a queue)."""
    queues = [names.broker_name(names.QUEUE, ns, q) for q in ("q", "q*", "a" * 300)]
    return [
        *((q, True) for q in queues),
        (names.broker_name(names.DELAY, ns, "60000.q"), True),
        (names.broker_name(names.LAST, ns, "t"), True),
        (names.broker_name(names.TOPICS, ns), False),
        (names.broker_name(names.PERSISTENT, ns), False),
        (names.broker_name(names.INDEX, ns), True),
    ]


def _create_everything(plugin: InProcessPlugin, ns: str) -> None:
    queues = q_grpc.QueueBasicStub(plugin.channel)
    for queue in ("q", "q*", "a" * 300):
        queues.Enqueue(q_pb.EnqueueRequest(namespace=ns, queue=queue, payload=b"x"))
    q_grpc.QueueDelayedStub(plugin.channel).EnqueueDelayed(
        q_pb.EnqueueDelayedRequest(namespace=ns, queue="q", payload=b"x", delay_ms=60_000)
    )
    ps_grpc.PubSubBasicStub(plugin.channel).Publish(ps_pb.PublishRequest(namespace=ns, topic="t", payload=b"x"))
    ps_grpc.PubSubPersistentStub(plugin.channel).PublishPersistent(ps_pb.PublishRequest(namespace=ns, topic="t", payload=b"x"))


@pytest.mark.skipif(not _broker_up(), reason="no RabbitMQ on 127.0.0.1:5672: start it (rabbitmq-server -detached)")
def test_drop_namespace_from_another_plugin_deletes_what_the_namespace_created():
    ns, other_ns = f"pa-rabbit-{uuid.uuid4().hex[:8]}", f"pa-rabbit-{uuid.uuid4().hex[:8]}"
    first = InProcessPlugin("prism_rabbitmq").start({"url": URL})
    try:
        for namespace in (ns, other_ns):
            _create_everything(first, namespace)
    finally:
        first.stop()  # as if it died: it never dropped anything
    assert len(asyncio.run(_existing(_created(ns)))) == len(_created(ns))
    second = InProcessPlugin("prism_rabbitmq").start({"url": URL})
    try:
        second.drop_namespace(ns)
        assert asyncio.run(_existing(_created(ns))) == []
        assert len(asyncio.run(_existing(_created(other_ns)))) == len(_created(other_ns)), "DropNamespace touched another namespace"
        second.drop_namespace(other_ns)
        assert asyncio.run(_existing(_created(other_ns))) == []
    finally:
        second.stop()


@pytest.mark.skipif(not _broker_up(), reason="no RabbitMQ on 127.0.0.1:5672: start it (rabbitmq-server -detached)")
def test_a_plugin_declares_again_what_another_plugin_dropped():
    ns = f"pa-rabbit-{uuid.uuid4().hex[:8]}"
    first = InProcessPlugin("prism_rabbitmq").start({"url": URL})
    second = InProcessPlugin("prism_rabbitmq").start({"url": URL})
    try:
        queues, topics = q_grpc.QueueBasicStub(first.channel), ps_grpc.PubSubBasicStub(first.channel)
        queues.Enqueue(q_pb.EnqueueRequest(namespace=ns, queue="q", payload=b"before"))
        topics.Publish(ps_pb.PublishRequest(namespace=ns, topic="t", payload=b"x"))
        second.drop_namespace(ns)
        assert not queues.Dequeue(q_pb.DequeueRequest(namespace=ns, queue="q")).found
        queues.Enqueue(q_pb.EnqueueRequest(namespace=ns, queue="q", payload=b"after"))
        assert queues.Dequeue(q_pb.DequeueRequest(namespace=ns, queue="q")).message.payload == b"after"
        topics.Publish(ps_pb.PublishRequest(namespace=ns, topic="t", payload=b"x"))
        first.drop_namespace(ns)
        exchange, queue = names.broker_name(names.TOPICS, ns), names.broker_name(names.QUEUE, ns, "q")
        assert _exists(exchange, [queue, names.broker_name(names.INDEX, ns)]) == []
    finally:
        first.stop()
        second.stop()


@pytest.mark.skipif(not _broker_up(), reason="no RabbitMQ on 127.0.0.1:5672: start it (rabbitmq-server -detached)")
def test_the_plugin_reconnects_after_losing_its_connection():
    """As after a broker restart: the next call opens a new connection, no second Initialize."""
    ns = f"pa-rabbit-{uuid.uuid4().hex[:8]}"
    plugin = InProcessPlugin("prism_rabbitmq").start({"url": URL})
    try:
        queues = q_grpc.QueueBasicStub(plugin.channel)
        queues.Enqueue(q_pb.EnqueueRequest(namespace=ns, queue="q", payload=b"before"))
        server = plugin._server  # the in-process server: close its AMQP connection on its loop
        lost = asyncio.run_coroutine_threadsafe(server._plugin.connector.connection.close(), server._loop)
        lost.result(5)
        queues.Enqueue(q_pb.EnqueueRequest(namespace=ns, queue="q", payload=b"after"))
        got = [queues.Dequeue(q_pb.DequeueRequest(namespace=ns, queue="q")).message.payload for _ in range(2)]
        assert got == [b"before", b"after"]
        plugin.drop_namespace(ns)
    finally:
        plugin.stop()
