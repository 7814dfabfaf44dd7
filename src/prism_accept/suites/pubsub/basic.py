"""pubsub_basic: Publish, Subscribe (stream), Unsubscribe. Also what the other pub/sub suites
share: `PubSubOps` (one namespace's calls), `Subscription` (a stream read in a thread, every
wait with a deadline) and `delivered`, the accounting of one subscriber's messages.

Proving a message did NOT arrive: publish a marker after it to a topic the subscriber does
receive, read up to the marker; one publisher's messages arrive in publish order, so anything
misrouted would have come first. Never a sleep."""

from __future__ import annotations

import queue
import threading
import time
import uuid
from typing import Iterator

import grpc
import pytest

from prism.pubsub.v1 import pubsub_pb2 as pb
from prism.pubsub.v1 import pubsub_pb2_grpc as pb_grpc
from prism_accept.suites.base import InterfaceSuite, check, describe, expect_status, poll_until
from prism_accept.suites.delivery import audit

ALL_BYTES = bytes(range(256))
READY_S = 10.0  # a subscription sends ready within this
DELIVERY_S = 10.0  # a message published after ready arrives within this
STREAM_DEADLINE_S = 120.0  # no stream outlives its case, even if the case forgets it
_END = object()


class Subscription:
    """A subscription stream, read to a queue by a daemon thread."""

    def __init__(self, call, what: str):
        self.call, self.what = call, what
        self.events: queue.Queue = queue.Queue()
        self.status: str | None = None  # status code name once the stream ended
        self.subscription_id = ""
        threading.Thread(target=self._read, name=f"read {what}", daemon=True).start()

    def _read(self) -> None:
        try:
            for event in self.call:
                self.events.put(event)
            self.events.put((_END, "OK", ""))
        except grpc.RpcError as e:
            self.events.put((_END, e.code().name, e.details()))

    def _next(self, deadline: float, waiting_for: str):
        try:
            item = self.events.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            raise AssertionError(f"{self.what}: nothing within the deadline while waiting for {waiting_for}") from None
        if isinstance(item, tuple) and item[0] is _END:
            self.status = item[1]
            raise AssertionError(f"{self.what}: the stream ended with {item[1]} ({item[2]}) while waiting for {waiting_for}")
        return item

    def ready(self, timeout_s: float = READY_S) -> Subscription:
        event = self._next(time.monotonic() + timeout_s, "the ready event")
        check(f"{self.what}: the first event", event.WhichOneof("event"), "ready")
        self.subscription_id = event.ready.subscription_id
        check(f"{self.what}: ready.subscription_id is set", bool(self.subscription_id), True)
        return self

    def _message(self, deadline: float, waiting_for: str) -> pb.Message:
        event = self._next(deadline, waiting_for)
        if event.WhichOneof("event") != "message":
            raise AssertionError(f"{self.what}: got a second {event.WhichOneof('event')} event, want only messages after ready")
        return event.message

    def until(self, marker: bytes, timeout_s: float = DELIVERY_S) -> list[pb.Message]:
        """Every message up to and including the one whose payload is `marker`."""
        deadline, got = time.monotonic() + timeout_s, list[pb.Message]()
        while not got or got[-1].payload != marker:
            try:
                got.append(self._message(deadline, f"the message {marker!r}"))
            except AssertionError as e:
                raise AssertionError(f"{e}; got before it: {describe([m.payload for m in got], 300)}") from None
        return got

    def take(self, count: int, timeout_s: float = DELIVERY_S) -> list[pb.Message]:
        deadline, got = time.monotonic() + timeout_s, list[pb.Message]()
        while len(got) < count:
            try:
                got.append(self._message(deadline, f"message {len(got) + 1} of {count}"))
            except AssertionError as e:
                raise AssertionError(f"{e}; got {len(got)}: {describe([m.payload for m in got], 300)}") from None
        return got

    def end(self, timeout_s: float = DELIVERY_S) -> tuple[list[bytes], str]:
        """Wait for the stream to end: the payloads that came first and the final status."""
        deadline, got = time.monotonic() + timeout_s, []
        while True:
            try:
                got.append(self._message(deadline, "the end of the stream").payload)
            except AssertionError as e:
                if self.status is None:
                    raise AssertionError(f"{e}; got {describe(got, 300)}") from None
                return got, self.status

    def cancel(self) -> None:
        self.call.cancel()


class PubSubOps:
    """The pub/sub RPCs of one namespace; subscriptions opened here are cancelled by close()."""

    def __init__(self, channel: grpc.Channel, ns: str):
        self.channel, self.ns = channel, ns
        self.basic = pb_grpc.PubSubBasicStub(channel)
        self.wildcards = pb_grpc.PubSubWildcardsStub(channel)
        self.persistent = pb_grpc.PubSubPersistentStub(channel)
        self.filtering = pb_grpc.PubSubFilteringStub(channel)
        self.ordering = pb_grpc.PubSubOrderingStub(channel)
        self.opened: list[Subscription] = []

    def close(self) -> None:
        for s in self.opened:
            s.cancel()

    def open(self, rpc, request, what: str) -> Subscription:
        """A subscription stream, without waiting for ready."""
        s = Subscription(rpc(request, timeout=STREAM_DEADLINE_S), what)
        self.opened.append(s)
        return s

    def publish(self, topic: str, payload: bytes) -> str:
        return self.basic.Publish(pb.PublishRequest(namespace=self.ns, topic=topic, payload=payload)).message_id

    def subscribe(self, topic: str) -> Subscription:
        request = pb.SubscribeRequest(namespace=self.ns, topic=topic)
        return self.open(self.basic.Subscribe, request, f"Subscribe({topic!r})").ready()

    def unsubscribe(self, subscription_id: str) -> None:
        self.basic.Unsubscribe(pb.UnsubscribeRequest(namespace=self.ns, subscription_id=subscription_id))

    def subscribe_pattern(self, pattern: str) -> Subscription:
        request = pb.SubscribePatternRequest(namespace=self.ns, pattern=pattern)
        return self.open(self.wildcards.SubscribePattern, request, f"SubscribePattern({pattern!r})").ready()

    def publish_persistent(self, topic: str, payload: bytes) -> str:
        return self.persistent.PublishPersistent(pb.PublishRequest(namespace=self.ns, topic=topic, payload=payload)).message_id

    def subscribe_durable(self, topic: str, durable_name: str) -> Subscription:
        request = pb.SubscribeDurableRequest(namespace=self.ns, topic=topic, durable_name=durable_name)
        return self.open(self.persistent.SubscribeDurable, request, f"SubscribeDurable({topic!r}, {durable_name!r})").ready()

    def ack(self, topic: str, durable_name: str, message_id: str) -> None:
        request = pb.AckDurableRequest(namespace=self.ns, topic=topic, durable_name=durable_name, message_id=message_id)
        self.persistent.AckDurable(request)

    def last_message_id(self, topic: str) -> str:
        return self.persistent.GetLastMessageID(pb.GetLastMessageIDRequest(namespace=self.ns, topic=topic)).message_id

    def publish_with_attributes(self, topic: str, payload: bytes, attributes: dict[str, str]) -> str:
        request = pb.PublishWithAttributesRequest(namespace=self.ns, topic=topic, payload=payload, attributes=attributes)
        return self.filtering.PublishWithAttributes(request).message_id

    def subscribe_filtered(self, topic: str, *all_of: pb.AttributeCondition) -> Subscription:
        request = pb.SubscribeFilteredRequest(namespace=self.ns, topic=topic, all_of=all_of)
        return self.open(self.filtering.SubscribeFiltered, request, f"SubscribeFiltered({topic!r}, {describe(list(all_of))})").ready()

    def publish_ordered(self, topic: str, payload: bytes, ordering_key: str) -> str:
        request = pb.PublishOrderedRequest(namespace=self.ns, topic=topic, payload=payload, ordering_key=ordering_key)
        return self.ordering.PublishOrdered(request).message_id


def payloads(messages: list[pb.Message]) -> list[bytes]:
    return [m.payload for m in messages]


def delivered(operation: str, sent: list[bytes], got: list[pb.Message]) -> None:
    """One subscriber got each sent payload (unique) exactly once, in publish order: fail
    naming the lost, duplicated, unexpected and reordered ones."""
    audit(operation, [p.decode("latin-1") for p in sent], [[m.payload.decode("latin-1") for m in got]])


def unique(label: str) -> bytes:
    return f"{label}-{uuid.uuid4().hex[:8]}".encode()


class PubSubBasicTests(InterfaceSuite):
    interface = "pubsub_basic"

    @pytest.fixture
    def ps(self, plugin, namespace) -> Iterator[PubSubOps]:
        ops = PubSubOps(plugin.channel, namespace)
        yield ops
        ops.close()

    @pytest.fixture
    def other(self, plugin, namespace) -> Iterator[PubSubOps]:
        """The same calls in a second namespace."""
        ops = PubSubOps(plugin.channel, plugin.track(namespace + ":o"))
        yield ops
        ops.close()
        try:
            plugin.drop_namespace(ops.ns)
        except grpc.RpcError:
            pass

    def test_one_subscriber(self, ps):
        s = ps.subscribe("t")
        sent = [f"m{i}".encode() for i in range(10)]
        for p in sent:
            ps.publish("t", p)
        got = s.until(sent[-1])
        delivered("Subscribe('t') after 10 Publishes", sent, got)
        check("topic of each delivered message", sorted({m.topic for m in got}), ["t"])

    def test_only_messages_after_ready(self, ps):
        ps.publish("t", b"before")
        s = ps.subscribe("t")
        ps.publish("t", b"after")
        check("messages of a subscription made after 'before' was published", payloads(s.until(b"after")), [b"after"])

    def test_fan_out_to_three(self, ps):
        subscribers = [ps.subscribe("t") for _ in range(3)]
        sent = [f"m{i}".encode() for i in range(20)]
        for p in sent:
            ps.publish("t", p)
        for i, s in enumerate(subscribers):
            delivered(f"subscriber {i + 1} of 3 on 't' after 20 Publishes", sent, s.until(sent[-1]))

    def test_topic_isolation(self, ps, other):
        exact, star, elsewhere = ps.subscribe("t"), ps.subscribe("t*"), other.subscribe("t")
        for topic in ["T", "t2", "tt", "t.x", "x.t", "t ", "[t]", "t?"]:
            ps.publish(topic, f"to {topic}".encode())
        ps.publish("t*", b"to t*")
        other.publish("t", b"to t of the other namespace")
        ps.publish("t", b"marker t")
        ps.publish("t*", b"marker t*")
        other.publish("t", b"marker other")
        check("Subscribe('t') up to its marker", payloads(exact.until(b"marker t")), [b"marker t"])
        check("Subscribe('t*') up to its marker", payloads(star.until(b"marker t*")), [b"to t*", b"marker t*"])
        got = payloads(elsewhere.until(b"marker other"))
        check("Subscribe('t') of the other namespace up to its marker", got, [b"to t of the other namespace", b"marker other"])

    def test_unsubscribe(self, ps):
        leaving, staying = ps.subscribe("t"), ps.subscribe("t")
        ps.publish("t", b"m1")
        check("leaving subscriber before Unsubscribe", payloads(leaving.until(b"m1")), [b"m1"])
        ps.unsubscribe(leaving.subscription_id)
        ps.publish("t", b"m2")
        check("staying subscriber", payloads(staying.until(b"m2")), [b"m1", b"m2"])
        check("the unsubscribed stream: (messages after m1, how it ended)", leaving.end(), ([], "OK"))
        expect_status(
            "Unsubscribe of a subscription already unsubscribed",
            grpc.StatusCode.NOT_FOUND,
            lambda: ps.unsubscribe(leaving.subscription_id),
        )
        expect_status("Unsubscribe of an unknown id", grpc.StatusCode.NOT_FOUND, lambda: ps.unsubscribe("no-such-subscription"))

    def test_cancelled_subscription_is_released(self, ps, other):
        """A client that cancels its stream leaves nothing live: its id is soon unknown, and
        nobody else's subscription is affected."""
        cancelled, staying = ps.subscribe("t"), ps.subscribe("t")
        cancelled.cancel()

        def released() -> bool:
            try:
                ps.unsubscribe(cancelled.subscription_id)
            except grpc.RpcError as e:
                return e.code() == grpc.StatusCode.NOT_FOUND
            raise AssertionError("Unsubscribe of a cancelled subscription: got OK, want NOT_FOUND")

        check("Unsubscribe of the cancelled subscription answers NOT_FOUND within 5 s", poll_until(released, 5.0), True)
        expect_status(
            "Unsubscribe of a subscription of this namespace from the other namespace",
            grpc.StatusCode.NOT_FOUND,
            lambda: other.unsubscribe(staying.subscription_id),
        )
        ps.publish("t", b"m")
        check("the other subscriber of 't'", payloads(staying.until(b"m")), [b"m"])

    def test_payloads_round_trip(self, ps):
        s = ps.subscribe("t")
        sent = [ALL_BYTES, b"", b"\x00", bytes(reversed(ALL_BYTES)), "é✓".encode(), b"last"]
        for p in sent:
            ps.publish("t", p)
        check("payloads (all 256 byte values, the empty payload)", payloads(s.take(len(sent))), sent)

    def test_hundred_messages_from_one_publisher(self, ps):
        s = ps.subscribe("t")
        sent = [unique(f"m{i}") for i in range(100)]
        for p in sent:
            ps.publish("t", p)
        delivered("Subscribe('t') after 100 Publishes", sent, s.until(sent[-1]))

    def test_invalid_arguments(self, ps):
        empty = ps.open(ps.basic.Subscribe, pb.SubscribeRequest(namespace=ps.ns, topic=""), "Subscribe('')")
        check("Subscribe to an empty topic: (messages, status)", empty.end()[1], "INVALID_ARGUMENT")
        expect_status("Publish to an empty topic", grpc.StatusCode.INVALID_ARGUMENT, lambda: ps.publish("", b"x"))
        expect_status(
            "Publish with an empty namespace", grpc.StatusCode.INVALID_ARGUMENT, lambda: PubSubOps(ps.channel, "").publish("t", b"x")
        )
