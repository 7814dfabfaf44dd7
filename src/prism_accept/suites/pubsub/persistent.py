"""pubsub_persistent: PublishPersistent, SubscribeDurable, AckDurable, GetLastMessageID. A
durable name that goes away (its stream cancelled) and comes back gets, in order, everything
published after its last ack; no acknowledged publish is lost."""

from __future__ import annotations

import threading
from typing import Iterator

import grpc
import pytest

from prism_accept.suites.base import InterfaceSuite, check, expect_status
from prism_accept.suites.delivery import audit
from prism_accept.suites.pubsub.basic import PubSubOps, payloads
from prism_accept.suites.rows import AllRows


class PubSubPersistentTests(InterfaceSuite):
    interface = "pubsub_persistent"

    @pytest.fixture
    def ps(self, plugin, namespace) -> Iterator[PubSubOps]:
        ops = PubSubOps(plugin.channel, namespace)
        yield ops
        ops.close()

    def test_offline_catch_up(self, ps):
        online = ps.subscribe_durable("t", "d")
        first = ps.publish_persistent("t", b"m1")
        got = online.until(b"m1")
        check("SubscribeDurable('t', 'd'): (payload, message_id)", [(m.payload, m.message_id) for m in got], [(b"m1", first)])
        ps.ack("t", "d", first)
        online.cancel()
        offline = [ps.publish_persistent("t", p) for p in (b"m2", b"m3")]
        back = ps.subscribe_durable("t", "d")
        last = ps.publish_persistent("t", b"m4")
        got = back.until(b"m4")
        check(
            "SubscribeDurable('t', 'd') again after acking m1: (payload, message_id)",
            [(m.payload, m.message_id) for m in got],
            [(b"m2", offline[0]), (b"m3", offline[1]), (b"m4", last)],
        )

    def test_unacked_messages_are_delivered_again(self, ps):
        s = ps.subscribe_durable("t", "d")
        ids = [ps.publish_persistent("t", p) for p in (b"m1", b"m2", b"m3")]
        check("first session", payloads(s.until(b"m3")), [b"m1", b"m2", b"m3"])
        ps.ack("t", "d", ids[0])
        s.cancel()
        again = ps.subscribe_durable("t", "d")
        ps.publish_persistent("t", b"m4")
        check("second session after acking only m1", payloads(again.until(b"m4")), [b"m2", b"m3", b"m4"])

    def test_a_new_durable_name_starts_at_the_end(self, ps):
        ps.publish_persistent("t", b"before")
        s = ps.subscribe_durable("t", "new")
        ps.publish_persistent("t", b"after")
        check("a new durable name's first session", payloads(s.until(b"after")), [b"after"])

    def test_two_durable_names_each_get_everything(self, ps):
        for name in ("d1", "d2"):
            ps.subscribe_durable("t", name).cancel()
        sent = [f"m{i}".encode() for i in range(10)]
        ids = [ps.publish_persistent("t", p) for p in sent]
        ps.ack("t", "d1", ids[4])
        d1, d2 = ps.subscribe_durable("t", "d1"), ps.subscribe_durable("t", "d2")
        check("durable d1 after acking m4", payloads(d1.until(sent[-1])), sent[5:])
        check("durable d2 (never acked)", payloads(d2.until(sent[-1])), sent)

    def test_last_message_id(self, ps):
        expect_status("GetLastMessageID of a topic never published to", grpc.StatusCode.NOT_FOUND, lambda: ps.last_message_id("t"))
        ids = []
        with AllRows() as rows:
            for i in range(3):
                ids.append(ps.publish_persistent("t", f"m{i}".encode()))
                rows.check(f"GetLastMessageID after publish {i + 1}", ps.last_message_id("t"), ids[-1])
        check("distinct message ids of 3 publishes", len(set(ids)), 3)
        ps.publish_persistent("u", b"other topic")
        check("GetLastMessageID('t') after a publish to 'u'", ps.last_message_id("t"), ids[-1])
        expect_status("GetLastMessageID of a topic of another name", grpc.StatusCode.NOT_FOUND, lambda: ps.last_message_id("T"))

    def test_no_acknowledged_message_lost_across_reconnects(self, ps, plugin):
        """A publisher publishes 150 messages while the durable subscriber connects, reads
        some, acks the last it read and disconnects, 3 times; its last session reads to the
        end. Every acknowledged publish arrives, each session in publish order."""
        ps.subscribe_durable("t", "d").cancel()
        sent: list[bytes] = []
        errors: list[BaseException] = []

        def publish() -> None:
            publisher = PubSubOps(plugin.channel, ps.ns)
            try:
                for i in range(150):
                    payload = f"m{i:03d}".encode()
                    publisher.publish_persistent("t", payload)
                    sent.append(payload)
            except BaseException as e:  # noqa: BLE001 - reported by the main thread
                errors.append(e)

        publisher = threading.Thread(target=publish)
        publisher.start()
        sessions: list[list[bytes]] = []
        for _ in range(3):
            s = ps.subscribe_durable("t", "d")
            got = s.take(20)
            ps.ack("t", "d", got[-1].message_id)
            s.cancel()
            sessions.append(payloads(got))
        publisher.join(60)
        check("publisher errors", [repr(e)[:200] for e in errors], [])
        last = ps.subscribe_durable("t", "d")
        sessions.append(payloads(last.until(sent[-1])))
        received = sorted({p for session in sessions for p in session})
        audit("every message over 4 durable sessions (lost)", [p.decode() for p in sent], [[p.decode() for p in received]])
        with AllRows() as rows:
            for i, session in enumerate(sessions):
                rows.check(f"session {i + 1} in publish order", session, sorted(session))

    def test_ack_of_an_unknown_message_is_not_found(self, ps):
        ps.publish_persistent("t", b"m")
        expect_status("AckDurable of a message id 't' never had", grpc.StatusCode.NOT_FOUND, lambda: ps.ack("t", "d", "no-such-id"))
        expect_status("AckDurable with an empty durable name", grpc.StatusCode.INVALID_ARGUMENT, lambda: ps.ack("t", "", "x"))
