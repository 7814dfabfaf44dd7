"""queue_basic: Enqueue, Dequeue, Peek. Also what the other queue suites share: `QueueOps`
(one namespace's calls), `audit`, the Jepsen total-queue accounting of a run's deliveries
(lost, duplicated, unexpected, reordered message ids), and concurrent producers
(`produce_concurrently`, `audit_producers`: the same accounting by payload id)."""

from __future__ import annotations

import threading
from typing import Callable

import grpc
import pytest

from prism.queue.v1 import queue_pb2 as pb
from prism.queue.v1 import queue_pb2_grpc as pb_grpc
from prism_accept.suites.base import InterfaceSuite, check, expect_status
from prism_accept.suites.delivery import audit
from prism_accept.suites.rows import AllRows

ALL_BYTES = bytes(range(256))
METACHARACTER_QUEUES = ["q*", "q?", "q%", "q_", "q:", "q.x", "q q", "[q]", "'q'"]


class QueueOps:
    """The queue RPCs of one namespace, each returning plain values."""

    def __init__(self, channel: grpc.Channel, ns: str):
        self.channel, self.ns = channel, ns
        self.basic = pb_grpc.QueueBasicStub(channel)
        self.visibility = pb_grpc.QueueVisibilityStub(channel)
        self.dead_letters = pb_grpc.QueueDeadLetterStub(channel)
        self.priority = pb_grpc.QueuePriorityStub(channel)
        self.delayed = pb_grpc.QueueDelayedStub(channel)

    @staticmethod
    def _message(r: pb.DequeueResponse) -> pb.QueueMessage | None:
        return r.message if r.found else None

    def enqueue(self, queue: str, payload: bytes) -> str:
        return self.basic.Enqueue(pb.EnqueueRequest(namespace=self.ns, queue=queue, payload=payload)).message_id

    def dequeue(self, queue: str) -> pb.QueueMessage | None:
        return self._message(self.basic.Dequeue(pb.DequeueRequest(namespace=self.ns, queue=queue)))

    def peek(self, queue: str) -> pb.QueueMessage | None:
        return self._message(self.basic.Peek(pb.PeekRequest(namespace=self.ns, queue=queue)))

    def drain(self, queue: str, limit: int = 10_000) -> list[pb.QueueMessage]:
        """Dequeue until empty."""
        got: list[pb.QueueMessage] = []
        while len(got) < limit and (m := self.dequeue(queue)) is not None:
            got.append(m)
        return got

    def take(self, queue: str, visibility_ms: int) -> pb.QueueMessage | None:
        request = pb.DequeueWithTimeoutRequest(namespace=self.ns, queue=queue, visibility_timeout_ms=visibility_ms)
        return self._message(self.visibility.DequeueWithTimeout(request))

    def ack(self, queue: str, receipt: str) -> None:
        self.visibility.Ack(pb.AckRequest(namespace=self.ns, queue=queue, receipt=receipt))

    def release(self, queue: str, receipt: str) -> None:
        self.visibility.Release(pb.ReleaseRequest(namespace=self.ns, queue=queue, receipt=receipt))

    def extend(self, queue: str, receipt: str, visibility_ms: int) -> None:
        request = pb.ExtendVisibilityRequest(namespace=self.ns, queue=queue, receipt=receipt, visibility_timeout_ms=visibility_ms)
        self.visibility.ExtendVisibility(request)

    def configure_dead_letter(self, queue: str, target: str, max_deliveries: int) -> None:
        request = pb.ConfigureDeadLetterRequest(namespace=self.ns, queue=queue, dead_letter_queue=target, max_deliveries=max_deliveries)
        self.dead_letters.ConfigureDeadLetter(request)

    def dead_letter(self, queue: str) -> tuple[str, int, int]:
        r = self.dead_letters.GetDeadLetterQueue(pb.GetDeadLetterQueueRequest(namespace=self.ns, queue=queue))
        return r.dead_letter_queue, r.max_deliveries, r.count

    def enqueue_priority(self, queue: str, payload: bytes, priority: int) -> str:
        request = pb.EnqueueWithPriorityRequest(namespace=self.ns, queue=queue, payload=payload, priority=priority)
        return self.priority.EnqueueWithPriority(request).message_id

    def enqueue_delayed(self, queue: str, payload: bytes, delay_ms: int) -> str:
        request = pb.EnqueueDelayedRequest(namespace=self.ns, queue=queue, payload=payload, delay_ms=delay_ms)
        return self.delayed.EnqueueDelayed(request).message_id

    def scheduled(self, queue: str) -> int:
        return self.delayed.GetScheduledCount(pb.GetScheduledCountRequest(namespace=self.ns, queue=queue)).count


def in_threads(n: int, work: Callable[[int], None], timeout_s: float = 60) -> list[str]:
    """Run work(0..n-1) in n threads released together; returns the errors they raised."""
    errors: list[BaseException] = []
    start = threading.Barrier(n)

    def run(i: int) -> None:
        try:
            start.wait(10)
            work(i)
        except BaseException as e:  # noqa: BLE001 - reported by the caller
            errors.append(e)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout_s)
    return [repr(e)[:200] for e in errors]


def produce_concurrently(channel: grpc.Channel, ns: str, queue: str, producers: int, each: int) -> tuple[list[list[bytes]], list[str]]:
    """`producers` threads (each with its own stub) enqueue `each` messages at once, payloads
    b"p<producer>-<n>"; returns each producer's payloads in its order and every message id."""
    payloads = [[f"p{p}-{i}".encode() for i in range(each)] for p in range(producers)]
    ids: list[list[str]] = [[] for _ in range(producers)]

    def produce(p: int) -> None:
        ops = QueueOps(channel, ns)
        for payload in payloads[p]:
            ids[p].append(ops.enqueue(queue, payload))

    check(f"errors of {producers} concurrent producers", in_threads(producers, produce), [])
    return payloads, [i for share in ids for i in share]


def audit_producers(operation: str, payloads: list[list[bytes]], shares: list[list[bytes]], fifo: bool = True) -> None:
    """Lost and duplicated messages by payload id over every producer; with fifo, each
    consumer's share of each producer's messages in that producer's order."""
    audit(operation, [p.decode() for ps in payloads for p in ps], [[p.decode() for p in share] for share in shares], fifo=False)
    if fifo:
        for producer, mine in enumerate(payloads):
            own = set(mine)
            in_order = [[p.decode() for p in share if p in own] for share in shares]
            audit(f"{operation}: each consumer's share of producer p{producer}", [p.decode() for p in mine], in_order)


class QueueBasicTests(InterfaceSuite):
    interface = "queue_basic"

    @pytest.fixture
    def q(self, plugin, namespace):
        return QueueOps(plugin.channel, namespace)

    def test_fifo_for_one_producer(self, q):
        payloads = [f"m{i}".encode() for i in range(50)]
        sent = [q.enqueue("q", p) for p in payloads]
        check("distinct message ids from 50 Enqueues", len(set(sent)), 50)
        got = q.drain("q")
        audit("Dequeue until empty after 50 Enqueues", sent, [[m.message_id for m in got]])
        check("payloads in dequeue order", [m.payload for m in got], payloads)
        check("delivery_count of each first delivery", sorted({m.delivery_count for m in got}), [1])

    def test_empty_queue(self, q):
        check("Dequeue of a queue never written", q.dequeue("q"), None)
        check("Peek of a queue never written", q.peek("q"), None)
        q.enqueue("q", b"a")
        check("Dequeue after one Enqueue .payload", q.dequeue("q").payload, b"a")
        check("Dequeue of the emptied queue", q.dequeue("q"), None)
        check("Peek of the emptied queue", q.peek("q"), None)

    def test_peek_does_not_consume(self, q):
        a, b = q.enqueue("q", b"a"), q.enqueue("q", b"b")
        first = q.peek("q")
        check("Peek: (id, payload, delivery_count)", (first.message_id, first.payload, first.delivery_count), (a, b"a", 0))
        check("Peek again .message_id", q.peek("q").message_id, a)
        check("Dequeue after two Peeks: (id, delivery_count)", (lambda m: (m.message_id, m.delivery_count))(q.dequeue("q")), (a, 1))
        check("Peek after the Dequeue .message_id", q.peek("q").message_id, b)
        audit("Dequeue of the rest", [b], [[m.message_id for m in q.drain("q")]])
        check("Peek of the emptied queue", q.peek("q"), None)

    def test_payloads_round_trip(self, q):
        payloads = [ALL_BYTES, b"", b"\x00", bytes(reversed(ALL_BYTES)), "é✓".encode()]
        sent = [q.enqueue("q", p) for p in payloads]
        got = q.drain("q")
        audit("Dequeue of binary payloads", sent, [[m.message_id for m in got]])
        check("payloads (all 256 byte values, the empty payload)", [m.payload for m in got], payloads)

    def test_competing_consumers(self, plugin, namespace):
        """1,000 messages, then 4 consumer threads (each with its own stub) started together:
        every message delivered to exactly one consumer, each consumer's share in queue order."""
        producer = QueueOps(plugin.channel, namespace)
        sent = [producer.enqueue("q", f"m{i}".encode()) for i in range(1000)]
        shares: list[list[str]] = [[] for _ in range(4)]
        errors: list[BaseException] = []
        start = threading.Barrier(len(shares))

        def consume(share: list[str]) -> None:
            ops = QueueOps(plugin.channel, namespace)
            try:
                start.wait(10)
                while (m := ops.dequeue("q")) is not None:
                    share.append(m.message_id)
            except BaseException as e:  # noqa: BLE001 - reported by the main thread
                errors.append(e)

        threads = [threading.Thread(target=consume, args=(s,)) for s in shares]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        check("consumer errors", [repr(e)[:200] for e in errors], [])
        audit("4 competing consumers over 1,000 messages", sent, shares)
        check("Dequeue after the consumers finished", producer.dequeue("q"), None)

    def test_concurrent_producers(self, plugin, namespace):
        """4 producer threads enqueue 25 messages each at once, then 4 competing consumers
        drain the queue: every payload delivered exactly once (lost and duplicated ones named),
        message ids distinct, each producer's messages in its order."""
        payloads, ids = produce_concurrently(plugin.channel, namespace, "q", 4, 25)
        check("distinct message ids from 4 x 25 concurrent Enqueues", len(set(ids)), 100)
        shares: list[list[bytes]] = [[] for _ in range(4)]

        def consume(c: int) -> None:
            ops = QueueOps(plugin.channel, namespace)
            while (m := ops.dequeue("q")) is not None:
                shares[c].append(m.payload)

        check("consumer errors", in_threads(4, consume), [])
        audit_producers("4 competing consumers after 4 concurrent producers of 25", payloads, shares)
        check("Dequeue after the consumers finished", QueueOps(plugin.channel, namespace).dequeue("q"), None)

    def test_queue_isolation(self, plugin, q, namespace, related):
        other = QueueOps(plugin.channel, related(":q"))
        names = ["q", "Q", "q2", *METACHARACTER_QUEUES]
        sent = {name: q.enqueue(name, name.encode()) for name in names}
        elsewhere = other.enqueue("q", b"other namespace")
        with AllRows() as rows:
            for name in names:
                got = q.drain(name)
                audit(f"Dequeue {name!r} until empty (one message per queue)", [sent[name]], [[m.message_id for m in got]])
                rows.check(f"payload from {name!r}", [m.payload for m in got], [name.encode()])
        audit("Dequeue 'q' of the other namespace", [elsewhere], [[m.message_id for m in other.drain("q")]])

    def test_invalid_arguments(self, q):
        expect_status("Enqueue to an empty queue name", grpc.StatusCode.INVALID_ARGUMENT, lambda: q.enqueue("", b"x"))
        expect_status("Dequeue of an empty queue name", grpc.StatusCode.INVALID_ARGUMENT, lambda: q.dequeue(""))
        expect_status("Peek with an empty namespace", grpc.StatusCode.INVALID_ARGUMENT, lambda: QueueOps(q.channel, "").peek("q"))
