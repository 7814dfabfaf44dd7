"""The MQTT plugin's topic mapping (names to levels, canonical patterns to MQTT filters) agrees
with the canonical matcher, and DropNamespace leaves no durable session or retained message of
the namespace in the broker."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from typing import Any

import aiomqtt
import grpc
import pytest

from prism.pubsub.v1 import pubsub_pb2 as pb
from prism.pubsub.v1 import pubsub_pb2_grpc as pb_grpc
from prism_accept.harness.inprocess import InProcessPlugin
from prism_accept.harness.process import PluginStartError
from prism_mqtt import topics
from prism_plugin.contracts.pubsub.wildcards import matches
from prism_plugin.status import StatusError

URL = "mqtt://127.0.0.1:1883"
NAMES = ["a", "b", "", "+", "#", "a/b", "*", ">", "%2B", "$SYS", "é", "a b", "\\", "%"]


def mqtt_matches(filter_: str, topic: str) -> bool:
    """MQTT 5's topic filter matching (section 4.7), written from the spec."""
    levels, parts = filter_.split("/"), topic.split("/")
    for i, f in enumerate(levels):
        if f == "#":
            return len(parts) >= i
        if i >= len(parts) or (f != "+" and f != parts[i]):
            return False
    return len(parts) == len(levels)


def test_levels_are_literal_and_injective():
    encoded = {topics.level(n) for n in NAMES}
    assert len(encoded) == len(NAMES)
    for level in encoded:
        assert not set(level) & set("+#/$\0"), level
    for name in NAMES:
        assert topics.name_of("n", topics.LIVE, topics.topic("n", topics.LIVE, name)) == name


def test_patterns_translate_exactly():
    segments = ["a", "b", "", "+", "#", "*", ">"]
    topic_names = [".".join(p) for n in range(1, 4) for p in itertools.product(segments, repeat=n)]
    patterns = [tuple(p) for n in range(1, 4) for p in itertools.product(["a", "*", ">", "#", "+", ""], repeat=n) if ">" not in p[:-1]]
    for pattern in patterns:
        filter_ = topics.pattern("n", pattern)
        for name in topic_names:
            got = mqtt_matches(filter_, topics.topic("n", topics.LIVE, name))
            assert got == matches(pattern, name), (pattern, name, filter_)


def test_names_deeper_than_the_broker_takes_are_invalid():
    topics.topic("n", topics.LIVE, ".".join(["a"] * topics.MAX_SEGMENTS))
    with pytest.raises(StatusError) as e:
        topics.topic("n", topics.LIVE, ".".join(["a"] * (topics.MAX_SEGMENTS + 1)))
    assert e.value.code == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(StatusError):
        topics.pattern("n", ("a",) * (topics.MAX_SEGMENTS - 1) + (">",))


async def _retained(ns: str) -> list[str]:
    """The topics of the namespace's retained messages (read up to a marker published after)."""
    marker = f"prism-marker/{uuid.uuid4().hex}"
    retained = []
    async with aiomqtt.Client("127.0.0.1", protocol=aiomqtt.ProtocolVersion.V5, timeout=3) as c:
        await c.subscribe([(topics.namespace_filter(ns), 1), (marker, 1)])
        await c.publish(marker, b"", qos=1)
        async for m in c.messages:
            if m.topic.value == marker:
                break
            retained.append(m.topic.value)
    return retained


def test_drop_namespace_deletes_sessions_and_retained_messages():
    try:
        plugin = InProcessPlugin("prism_mqtt").start({"url": URL})
    except PluginStartError as e:
        pytest.skip(f"no MQTT broker at {URL}: start it (see README): {e}")
    ns = f"pa-mqtt-{uuid.uuid4().hex[:8]}"
    client_id = topics.durable_client_id(ns, "t", "d")
    try:
        ps = pb_grpc.PubSubPersistentStub(plugin.channel)
        stream = ps.SubscribeDurable(pb.SubscribeDurableRequest(namespace=ns, topic="t", durable_name="d"), timeout=10)
        assert next(stream).WhichOneof("event") == "ready"
        ps.PublishPersistent(pb.PublishRequest(namespace=ns, topic="t", payload=b"m1"))
        assert next(stream).message.payload == b"m1"  # kept in the backlog, not acked
        stream.cancel()
        ps.PublishPersistent(pb.PublishRequest(namespace=ns, topic="t", payload=b"m2"))  # queued in the session
        retained = asyncio.run(_retained(ns))
        assert sorted(retained) == sorted(
            [topics.last(ns, "t"), topics.session(ns, client_id), topics.backlog(ns, client_id, "1")]
        ), retained
        plugin.drop_namespace(ns)
        retained = asyncio.run(_retained(ns))
        assert retained == [], "DropNamespace left retained messages behind"
        assert not asyncio.run(_session_present(client_id)), "DropNamespace left the durable session behind"
    finally:
        plugin.stop()


async def _session_present(client_id: str) -> bool:
    """Whether the broker still has a session for the client id (CONNACK's session present),
    then delete the one this check may have created."""
    from paho.mqtt.packettypes import PacketTypes  # pants: no-infer-dep
    from paho.mqtt.properties import Properties  # pants: no-infer-dep

    props = Properties(PacketTypes.CONNECT)
    props.SessionExpiryInterval = 0
    client = aiomqtt.Client(
        "127.0.0.1", identifier=client_id, protocol=aiomqtt.ProtocolVersion.V5, clean_start=False, properties=props, timeout=3
    )
    present: list[bool] = []
    seen = client._on_connect  # noqa: SLF001 - aiomqtt's own, which completes the connect

    def on_connect(c: Any, userdata: Any, flags: Any, reason_code: Any, properties: Any = None) -> None:
        present.append(flags.session_present)
        seen(c, userdata, flags, reason_code, properties)

    client._client.on_connect = on_connect  # noqa: SLF001
    async with client:
        pass
    return present[0]


def test_a_new_plugin_process_resumes_ids_and_durable_names():
    """What PublishPersistent and SubscribeDurable keep lives in the broker (retained records,
    sessions, backlogs), not in the plugin process: a second plugin continues where the first
    one stopped."""
    try:
        first = InProcessPlugin("prism_mqtt").start({"url": URL})
    except PluginStartError as e:
        pytest.skip(f"no MQTT broker at {URL}: start it (see README): {e}")
    ns = f"pa-mqtt-{uuid.uuid4().hex[:8]}"
    second = None
    try:
        ps = pb_grpc.PubSubPersistentStub(first.channel)
        stream = ps.SubscribeDurable(pb.SubscribeDurableRequest(namespace=ns, topic="t", durable_name="d"), timeout=10)
        assert next(stream).WhichOneof("event") == "ready"
        ids = [ps.PublishPersistent(pb.PublishRequest(namespace=ns, topic="t", payload=p)).message_id for p in (b"m1", b"m2")]
        assert [next(stream).message.payload for _ in ids] == [b"m1", b"m2"]
        ps.AckDurable(pb.AckDurableRequest(namespace=ns, topic="t", durable_name="d", message_id=ids[0]))
        stream.cancel()
        first.stop()

        second = InProcessPlugin("prism_mqtt").start({"url": URL})
        ps = pb_grpc.PubSubPersistentStub(second.channel)
        assert ps.GetLastMessageID(pb.GetLastMessageIDRequest(namespace=ns, topic="t")).message_id == ids[-1]
        third = ps.PublishPersistent(pb.PublishRequest(namespace=ns, topic="t", payload=b"m3")).message_id
        assert third not in ids
        stream = ps.SubscribeDurable(pb.SubscribeDurableRequest(namespace=ns, topic="t", durable_name="d"), timeout=10)
        assert next(stream).WhichOneof("event") == "ready"
        got = [next(stream).message for _ in range(2)]
        assert [(m.payload, m.message_id) for m in got] == [(b"m2", ids[1]), (b"m3", third)]
        stream.cancel()
        second.drop_namespace(ns)
        assert asyncio.run(_retained(ns)) == []
    finally:
        for plugin in (first, second):
            if plugin is not None:
                plugin.stop()


def test_initialize_without_a_broker_is_unavailable():
    with pytest.raises(PluginStartError) as e:
        InProcessPlugin("prism_mqtt").start({"url": "mqtt://127.0.0.1:1"})
    assert "UNAVAILABLE" in str(e.value), str(e.value)
