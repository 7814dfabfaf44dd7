"""The chaos probes against memstore, without faults: what a probe writes it reads back, exactly
once (a consuming probe only once over its reads), and a value it never wrote fails the read."""

from __future__ import annotations

import sys
import uuid
from typing import Callable

import grpc
import pytest
from google.protobuf import struct_pb2

from prism.document.v1 import document_pb2, document_pb2_grpc
from prism.graph.v1 import graph_pb2, graph_pb2_grpc
from prism.keyvalue.v1 import keyvalue_pb2, keyvalue_pb2_grpc
from prism.list.v1 import list_pb2, list_pb2_grpc
from prism.pubsub.v1 import pubsub_pb2, pubsub_pb2_grpc
from prism.queue.v1 import queue_pb2, queue_pb2_grpc
from prism.set.v1 import set_pb2, set_pb2_grpc
from prism.sortedset.v1 import sortedset_pb2, sortedset_pb2_grpc
from prism.stream.v1 import stream_pb2, stream_pb2_grpc
from prism.timeseries.v1 import timeseries_pb2, timeseries_pb2_grpc
from prism_accept.chaos.probes import NAME, Probe, probe_for
from prism_accept.chaos.probes.timeseries import BASE_MS, LABELS
from prism_accept.harness.process import PluginProcess

TIMEOUT_S = 5.0
ITEMS = list(range(10))
MODELS = ["keyvalue", "list", "set", "sortedset", "timeseries", "graph", "document", "stream", "queue", "pubsub"]


@pytest.fixture(scope="module")
def memstore():
    plugin = PluginProcess([sys.executable, "-m", "prism_memstore"]).start({"url": "embedded:"})
    yield plugin
    plugin.stop()


@pytest.fixture
def namespace() -> str:
    return f"probe-{uuid.uuid4().hex[:12]}"


def opened(memstore, model: str, namespace: str) -> Probe:
    probe = probe_for(model)(memstore.channel, namespace)
    assert probe.interface in memstore.info.interfaces, f"memstore declares {probe.interface}"
    probe.open(TIMEOUT_S)
    return probe


@pytest.mark.parametrize("model", MODELS)
def test_a_probe_reads_back_exactly_what_it_wrote(memstore, namespace, model):
    probe = opened(memstore, model, namespace)
    try:
        for i in ITEMS:
            probe.write(i, TIMEOUT_S)
        got = probe.read(TIMEOUT_S, frozenset(ITEMS))
        assert (got if probe.ordered else sorted(got)) == ITEMS, f"{model} read: got {got}, want {ITEMS}"
        if probe.consuming:  # a marker after the items: anything a second read owed came before it
            probe.write(len(ITEMS), TIMEOUT_S)
            again, want_again = probe.read(TIMEOUT_S, frozenset({len(ITEMS)})), [len(ITEMS)]
        else:
            again, want_again = probe.read(TIMEOUT_S), ITEMS
        assert (again if probe.ordered else sorted(again)) == want_again, f"{model} second read: got {again}, want {want_again}"
    finally:
        probe.close()


def struct(value: dict) -> struct_pb2.Struct:
    s = struct_pb2.Struct()
    s.update(value)
    return s


def _graph_phantom(channel: grpc.Channel, ns: str) -> None:
    """A node of the probe's name holding another value (graph_basic has no update)."""
    stub = graph_pb2_grpc.GraphBasicStub(channel)
    stub.DeleteNode(graph_pb2.DeleteNodeRequest(namespace=ns, id="item-3"), timeout=TIMEOUT_S)
    node = graph_pb2.Node(id="item-3", labels=["Probe"], properties=struct({"value": "forged"}))
    stub.AddNode(graph_pb2.AddNodeRequest(namespace=ns, node=node), timeout=TIMEOUT_S)


# A value the probe never wrote, written beside its items straight through the model's stub
# (every probe keeps its items under the name NAME of its namespace).
PHANTOMS: dict[str, Callable[[grpc.Channel, str], object]] = {
    "keyvalue": lambda ch, ns: keyvalue_pb2_grpc.KeyValueBasicStub(ch).Set(
        keyvalue_pb2.SetRequest(namespace=ns, key="item-3", value=b"value-4"), timeout=TIMEOUT_S
    ),
    "list": lambda ch, ns: list_pb2_grpc.ListBasicStub(ch).PushRight(
        list_pb2.PushRequest(namespace=ns, key=NAME, values=[b"forged"]), timeout=TIMEOUT_S
    ),
    "set": lambda ch, ns: set_pb2_grpc.SetBasicStub(ch).Add(
        set_pb2.MembersRequest(namespace=ns, set=NAME, members=[b"item-03"]), timeout=TIMEOUT_S
    ),
    "sortedset": lambda ch, ns: sortedset_pb2_grpc.SortedSetBasicStub(ch).Add(
        sortedset_pb2.AddRequest(namespace=ns, key=NAME, members=[sortedset_pb2.ScoredMember(member=b"item-3", score=30.0)]),
        timeout=TIMEOUT_S,
    ),
    "timeseries": lambda ch, ns: timeseries_pb2_grpc.TimeSeriesBasicStub(ch).Insert(
        timeseries_pb2.InsertRequest(
            namespace=ns, metric=NAME, labels=LABELS, points=[timeseries_pb2.Point(timestamp_ms=BASE_MS + 3, value=4.0)]
        ),
        timeout=TIMEOUT_S,
    ),
    "graph": _graph_phantom,
    "document": lambda ch, ns: document_pb2_grpc.DocumentBasicStub(ch).Update(
        document_pb2.UpdateRequest(namespace=ns, collection=NAME, id="item-3", body=struct({"value": "value-4"})),
        timeout=TIMEOUT_S,
    ),
    "stream": lambda ch, ns: stream_pb2_grpc.StreamBasicStub(ch).Append(
        stream_pb2.AppendRequest(namespace=ns, stream=NAME, payload=b"item-x"), timeout=TIMEOUT_S
    ),
    "queue": lambda ch, ns: queue_pb2_grpc.QueueBasicStub(ch).Enqueue(
        queue_pb2.EnqueueRequest(namespace=ns, queue=NAME, payload=b"forged"), timeout=TIMEOUT_S
    ),
    "pubsub": lambda ch, ns: pubsub_pb2_grpc.PubSubBasicStub(ch).Publish(
        pubsub_pb2.PublishRequest(namespace=ns, topic=NAME, payload=b"item--1"), timeout=TIMEOUT_S
    ),
}


@pytest.mark.parametrize("model", MODELS)
def test_a_value_the_probe_never_wrote_fails_the_read(memstore, namespace, model):
    probe = opened(memstore, model, namespace)
    try:
        for i in ITEMS:
            probe.write(i, TIMEOUT_S)
            if i == 4:  # amid the items: a consuming read that waits for them all meets it
                PHANTOMS[model](memstore.channel, namespace)
        with pytest.raises(AssertionError, match=r"got .*want ") as e:
            probe.read(TIMEOUT_S, frozenset(ITEMS))
        assert "(" in str(e.value).split(":")[0], f"the failure names its operation: {e.value}"
    finally:
        probe.close()


def test_probe_for_names_an_unknown_model():
    with pytest.raises(ValueError, match=r"probe_for\('nosuchmodel'\)"):
        probe_for("nosuchmodel")


def test_a_pubsub_read_subscribes_again_after_the_stream_ended(memstore, namespace):
    """A fault ends the stream (UNAVAILABLE); here the client's cancel ends it (CANCELLED)."""
    probe = opened(memstore, "pubsub", namespace)
    try:
        probe.write(0, TIMEOUT_S)
        first = probe.subscription
        assert first is not None
        first.call.cancel()
        got = probe.read(TIMEOUT_S, frozenset({0, 1}))  # waits for the end, not for item 1
        assert got in ([], [0]), f"read over a cancelled stream: got {got}, want [] or [0]"
        again = probe.read(TIMEOUT_S)  # subscribes again
        assert probe.subscription is not None and probe.subscription is not first, "read subscribes again"
        probe.write(1, TIMEOUT_S)
        after = probe.read(TIMEOUT_S, frozenset({1}))
        assert again + after == [1], f"reads after the new subscription: got {again + after}, want [1]"
    finally:
        probe.close()
