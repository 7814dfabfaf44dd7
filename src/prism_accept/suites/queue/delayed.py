"""queue_delayed: EnqueueDelayed, GetScheduledCount.

Delays are 200-400 ms; cases poll with a deadline, widened by the backend's declared tolerance
(registry `tolerances.timing_ms`). Messages are dequeued through queue_basic."""

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


@requires.interface("queue_basic")  # messages are dequeued with Dequeue and Peek
class QueueDelayedTests(InterfaceSuite):
    interface = "queue_delayed"

    @pytest.fixture
    def q(self, plugin, namespace):
        return QueueOps(plugin.channel, namespace)

    def wait_available(self, q, delay_ms: int, t0: float, tol: int):
        """Poll Dequeue until the delayed message comes; (the message, ms of early sightings)."""
        got: list = []
        early: list[int] = []

        def poll() -> bool:
            asked = (time.monotonic() - t0) * 1000
            m = q.dequeue("q")
            if m is not None:
                got.append(m)
                if asked < delay_ms - tol:
                    early.append(round(asked))
            return m is not None

        poll_until(poll, (delay_ms + tol) / 1000 + POLL_MARGIN_S)
        return (got[0] if got else None), early

    def test_not_before_the_delay(self, q, capabilities):
        tol, delay_ms = capabilities.timing_tolerance_ms, 400
        t0 = time.monotonic()
        sent = q.enqueue_delayed("q", b"v", delay_ms)
        got, early = self.wait_available(q, delay_ms, t0, tol)
        check(f"ms after EnqueueDelayed({delay_ms}) at which Dequeue returned it", early, [])
        check("the delayed message, once due .message_id", got.message_id if got else None, sent)

    def test_available_after_the_delay(self, q, capabilities):
        tol, delay_ms = capabilities.timing_tolerance_ms, 200
        t0 = time.monotonic()
        sent = q.enqueue_delayed("q", bytes(range(256)), delay_ms)
        got, _ = self.wait_available(q, delay_ms, t0, tol)
        assert got is not None, f"Dequeue: message delayed {delay_ms} ms still missing {delay_ms} ms + {tol} ms + {POLL_MARGIN_S} s later"
        check(
            "delayed message: (id, payload, delivery_count)",
            (got.message_id, got.payload, got.delivery_count),
            (sent, bytes(range(256)), 1),
        )
        check("Dequeue after", q.dequeue("q"), None)

    def test_ordering_between_delayed_and_immediate(self, q, capabilities):
        """A delayed message queues when its delay passes: behind what was enqueued before
        that, ahead of what comes after."""
        tol, delay_ms = capabilities.timing_tolerance_ms, 250
        t0 = time.monotonic()
        delayed = q.enqueue_delayed("q", b"delayed", delay_ms)
        before = q.enqueue("q", b"before")
        due = poll_until(lambda: q.scheduled("q") == 0, (delay_ms + tol) / 1000 + POLL_MARGIN_S)
        assert due, f"GetScheduledCount still > 0 {delay_ms} ms + {tol} ms + {POLL_MARGIN_S} s after EnqueueDelayed"
        poll_until(lambda: time.monotonic() - t0 > (delay_ms + tol) / 1000, 5)
        after = q.enqueue("q", b"after")
        got = q.drain("q")
        audit("Dequeue of: immediate, delayed (now due), immediate", [before, delayed, after], [[m.message_id for m in got]])

    def test_scheduled_count(self, q, capabilities):
        tol = capabilities.timing_tolerance_ms
        check("GetScheduledCount of a queue never written", q.scheduled("q"), 0)
        long = [q.enqueue_delayed("q", f"long{i}".encode(), LONG_MS) for i in range(3)]
        short = [q.enqueue_delayed("q", f"short{i}".encode(), 200) for i in range(2)]
        now = q.enqueue("q", b"now")
        zero = q.enqueue_delayed("q", b"zero", 0)
        check("GetScheduledCount with 5 delayed, 2 immediate", q.scheduled("q"), 5)
        check("GetScheduledCount of another queue", q.scheduled("other"), 0)
        counts: list[int] = []
        poll_until(lambda: counts.append(q.scheduled("q")) or counts[-1] == 3, (200 + tol) / 1000 + POLL_MARGIN_S)
        check("GetScheduledCount once the 200 ms delays passed", counts[-1], 3)
        check("GetScheduledCount values outside 3..5 while the delays pass", [c for c in counts if not 3 <= c <= 5], [])
        check("GetScheduledCount over time (never rising)", counts, sorted(counts, reverse=True))
        got = q.drain("q")
        audit("Dequeue after the 200 ms delays passed", [now, zero, *short], [[m.message_id for m in got]])
        check("GetScheduledCount after the drain (the 3 long delays)", q.scheduled("q"), len(long))

    def test_invalid_arguments(self, q):
        expect_status("EnqueueDelayed(delay_ms=-1)", grpc.StatusCode.INVALID_ARGUMENT, lambda: q.enqueue_delayed("q", b"v", -1))
        check("GetScheduledCount after a refused EnqueueDelayed", q.scheduled("q"), 0)
        check("Dequeue after a refused EnqueueDelayed", q.dequeue("q"), None)
