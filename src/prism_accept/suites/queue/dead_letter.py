"""queue_dead_letter: ConfigureDeadLetter, GetDeadLetterQueue.

Deliveries go through queue_visibility (DequeueWithTimeout, Release, Ack); the dead-letter
queue is read with queue_basic. Timing cases use 150 ms visibility timeouts and poll."""

from __future__ import annotations

import time

import grpc
import pytest

from prism_accept.suites.base import InterfaceSuite, check, expect_status, poll_until
from prism_accept.suites.delivery import audit
from prism_accept.suites.queue.basic import QueueOps
from prism_accept.suites.requirements import requires

LONG_MS = 60_000
POLL_MARGIN_S = 2.0


@requires.interface("queue_basic")  # messages are enqueued, and the dead-letter queue read
@requires.interface("queue_visibility")  # deliveries that are not acked
class QueueDeadLetterTests(InterfaceSuite):
    interface = "queue_dead_letter"

    @pytest.fixture
    def q(self, plugin, namespace):
        return QueueOps(plugin.channel, namespace)

    def test_exactly_n_deliveries_then_dead_lettered(self, q, capabilities):
        tol, timeout_ms, n = capabilities.timing_tolerance_ms, 150, 3
        q.configure_dead_letter("q", "dlq", n)
        payload = bytes(range(256))
        sent = q.enqueue("q", payload)
        counts: list[int] = []
        for _ in range(n + 1):
            got: list = []
            poll_until(lambda: (m := q.take("q", timeout_ms)) is not None and not got.append(m), (timeout_ms + tol) / 1000 + POLL_MARGIN_S)
            if not got:
                break
            counts.append(got[0].delivery_count)
        check(f"delivery counts from the source queue with max_deliveries={n}", counts, [1, 2, 3])
        dead = q.peek("dlq")
        check(
            "Peek of the dead-letter queue: (id, payload, delivery_count)",
            (dead.message_id, dead.payload, dead.delivery_count) if dead else None,
            (sent, payload, n),
        )
        check("GetDeadLetterQueue", q.dead_letter("q"), ("dlq", n, 1))
        check("Peek of the source queue", q.peek("q"), None)
        audit("the dead-letter queue", [sent], [[m.message_id for m in q.drain("dlq")]])

    def test_released_n_times_then_dead_lettered(self, q):
        q.configure_dead_letter("q", "dlq", 2)
        a, b = q.enqueue("q", b"a"), q.enqueue("q", b"b")
        first = q.take("q", LONG_MS)
        q.release("q", first.receipt)
        second = q.take("q", LONG_MS)
        check(
            "deliveries of a: (id, count) x2",
            [(first.message_id, first.delivery_count), (second.message_id, second.delivery_count)],
            [(a, 1), (a, 2)],
        )
        check("GetDeadLetterQueue .count before the last release", q.dead_letter("q")[2], 0)
        q.release("q", second.receipt)
        check("GetDeadLetterQueue .count right after releasing the last delivery", q.dead_letter("q")[2], 1)
        audit("the source queue after a was dead-lettered", [b], [[m.message_id for m in q.drain("q")]])
        audit("the dead-letter queue", [a], [[m.message_id for m in q.drain("dlq")]])

    def test_acked_messages_are_never_dead_lettered(self, q, capabilities):
        tol = capabilities.timing_tolerance_ms
        q.configure_dead_letter("q", "dlq", 2)
        a, b = q.enqueue("q", b"a"), q.enqueue("q", b"b")
        for m in (q.take("q", LONG_MS), q.take("q", LONG_MS)):
            q.release("q", m.receipt)
        last_a, last_b = q.take("q", 150), q.take("q", 150)
        check(
            "second deliveries: (id, count)",
            [(last_a.message_id, last_a.delivery_count), (last_b.message_id, last_b.delivery_count)],
            [(a, 2), (b, 2)],
        )
        q.ack("q", last_a.receipt)  # acked on its last delivery; b is not
        t0 = time.monotonic()
        moved = poll_until(lambda: q.dead_letter("q")[2] >= 1, (150 + tol) / 1000 + POLL_MARGIN_S)
        assert moved, f"b not dead-lettered {150 + tol} ms + {POLL_MARGIN_S} s after its last delivery"
        poll_until(lambda: time.monotonic() - t0 > (150 + tol) / 1000 + 0.05, 5)  # a's timeout has passed too
        check("GetDeadLetterQueue .count", q.dead_letter("q")[2], 1)
        audit("the dead-letter queue", [b], [[m.message_id for m in q.drain("dlq")]])
        check("Dequeue of the source queue", q.dequeue("q"), None)

    def test_dead_letter_count_equals_failures(self, q):
        q.configure_dead_letter("q", "dlq", 1)
        sent = [q.enqueue("q", f"m{i}".encode()) for i in range(20)]
        taken = [q.take("q", LONG_MS) for _ in sent]
        failed = []
        for i, m in enumerate(taken):
            if i % 2:
                q.release("q", m.receipt)
                failed.append(m.message_id)
            else:
                q.ack("q", m.receipt)
        check("GetDeadLetterQueue after 10 acks and 10 failures", q.dead_letter("q"), ("dlq", 1, 10))
        check(
            "Peek of the dead-letter queue: (id, delivery_count kept)",
            (lambda m: (m.message_id, m.delivery_count))(q.peek("dlq")),
            (failed[0], 1),
        )
        dead = q.drain("dlq")
        audit("the dead-letter queue (the failed messages, in the order they failed)", failed, [[m.message_id for m in dead]])
        check("delivery_count of a Dequeue from the dead-letter queue (counting on)", sorted({m.delivery_count for m in dead}), [2])
        check("Dequeue of the source queue", q.dequeue("q"), None)
        check("ids", [m.message_id for m in taken], sent)

    def test_configuration(self, q):
        expect_status("GetDeadLetterQueue before ConfigureDeadLetter", grpc.StatusCode.NOT_FOUND, lambda: q.dead_letter("q"))
        q.configure_dead_letter("q", "dlq", 3)
        check("GetDeadLetterQueue", q.dead_letter("q"), ("dlq", 3, 0))
        q.configure_dead_letter("q", "dlq2", 5)
        check("GetDeadLetterQueue after configuring again", q.dead_letter("q"), ("dlq2", 5, 0))
        expect_status("GetDeadLetterQueue of another queue", grpc.StatusCode.NOT_FOUND, lambda: q.dead_letter("q2"))
        expect_status("GetDeadLetterQueue of the dead-letter queue itself", grpc.StatusCode.NOT_FOUND, lambda: q.dead_letter("dlq2"))

    def test_invalid_arguments(self, q):
        for n in (0, -1):
            expect_status(
                f"ConfigureDeadLetter(max_deliveries={n})", grpc.StatusCode.INVALID_ARGUMENT, lambda: q.configure_dead_letter("q", "dlq", n)
            )
        expect_status(
            "ConfigureDeadLetter to the queue itself", grpc.StatusCode.INVALID_ARGUMENT, lambda: q.configure_dead_letter("q", "q", 1)
        )
        expect_status("ConfigureDeadLetter to an empty name", grpc.StatusCode.INVALID_ARGUMENT, lambda: q.configure_dead_letter("q", "", 1))
        expect_status("GetDeadLetterQueue after refused configurations", grpc.StatusCode.NOT_FOUND, lambda: q.dead_letter("q"))
