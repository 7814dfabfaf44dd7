"""queue_priority: EnqueueWithPriority. Higher priority first; FIFO within a priority;
Enqueue's priority is 0. Messages are dequeued through queue_basic."""

from __future__ import annotations

import random

import pytest

from prism_accept.suites.base import InterfaceSuite, check
from prism_accept.suites.delivery import audit
from prism_accept.suites.queue.basic import QueueOps
from prism_accept.suites.requirements import requires

INT32 = (-(2**31), 2**31 - 1)


def by_priority(sent: list[tuple[str, int]]) -> list[str]:
    """The promised order: priority descending, enqueue order within one (a stable sort)."""
    return [m for m, _ in sorted(sent, key=lambda e: -e[1])]


@requires.interface("queue_basic")  # messages are dequeued with Dequeue
class QueuePriorityTests(InterfaceSuite):
    interface = "queue_priority"

    @pytest.fixture
    def q(self, plugin, namespace):
        return QueueOps(plugin.channel, namespace)

    def test_mixed_priorities(self, q):
        rng = random.Random(15)
        priorities = [rng.choice([-3, -1, 0, 1, 2, 5, 9, *INT32]) for _ in range(80)]
        sent = [(q.enqueue_priority("q", f"m{i}".encode(), p), p) for i, p in enumerate(priorities)]
        got = q.drain("q")
        audit("Dequeue until empty after 80 messages of mixed priorities", by_priority(sent), [[m.message_id for m in got]])
        check("priority reported on each message", [m.priority for m in got], sorted(priorities, reverse=True))

    def test_ties_keep_order(self, q):
        sent = [(q.enqueue_priority("q", f"m{i}".encode(), 7), 7) for i in range(40)]
        got = q.drain("q")
        audit("Dequeue of 40 messages of one priority", by_priority(sent), [[m.message_id for m in got]])

    def test_default_priority(self, q):
        sent = []
        for i in range(6):
            sent.append((q.enqueue("q", f"plain{i}".encode()), 0))
            sent.append((q.enqueue_priority("q", f"zero{i}".encode(), 0), 0))
            sent.append((q.enqueue_priority("q", f"low{i}".encode(), -1), -1))
            sent.append((q.enqueue_priority("q", f"high{i}".encode(), 1), 1))
        check("Peek .payload (the first priority-1 message)", q.peek("q").payload, b"high0")
        got = q.drain("q")
        audit("Dequeue of Enqueue (priority 0) mixed with priorities -1, 0, 1", by_priority(sent), [[m.message_id for m in got]])
        check("priority of Enqueue's messages", {m.priority for m in got if m.payload.startswith(b"plain")}, {0})

    def test_a_higher_priority_overtakes_waiting_messages(self, q):
        low = [q.enqueue_priority("q", f"low{i}".encode(), 1) for i in range(3)]
        first = q.dequeue("q")
        urgent = q.enqueue_priority("q", b"urgent", 2)
        later = q.enqueue("q", b"later")
        rest = q.drain("q")
        audit(
            "Dequeue while a priority-2 and a priority-0 message arrive behind priority-1 ones",
            [low[0], urgent, low[1], low[2], later],
            [[first.message_id, *[m.message_id for m in rest]]],
        )
