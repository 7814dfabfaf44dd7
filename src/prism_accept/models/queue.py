"""The queue model cell: every declared queue interface against a Python model of ordered
messages. Visibility timeouts and delays are long (a minute), so the model needs no clock:
timing is the suites' job; here it is order, delivery counts, receipts and dead-lettering
under arbitrary interleavings, across namespaces and queue names that collide with likely
encodings."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import grpc
from hypothesis import strategies as st
from hypothesis.stateful import rule

from prism_accept.models.machine import ModelMachine, declares, namespace_index, run
from prism_accept.suites.base import check, expect_status
from prism_accept.suites.queue.basic import QueueOps
from prism_accept.suites.requirements import requires

QUEUES = ["q", "Q", "q:q", "dlq", "*", "é"]
queues = st.sampled_from(["q", "q", "q", *QUEUES])  # "q" most: messages pile up where reads meet them
payloads = st.sampled_from([b"", b"a", b"b", b"\x00", b"\xff" * 3])
priorities = st.sampled_from([0, 0, 1, -1, 5])
LONG_MS = 60_000
PATHS = {"peek": "queue_basic", "scheduled": "queue_delayed", "dead_letters": "queue_dead_letter"}


@dataclass
class Msg:
    message_id: str
    payload: bytes
    priority: int
    seq: int  # place among the messages of equal priority
    deliveries: int = 0


class QueueMachine(ModelMachine):
    PATHS = PATHS

    def __init__(self, plugin, declared, base):
        super().__init__(plugin, declared, base)
        self.ops = {ns: QueueOps(plugin.channel, ns) for ns in self.namespaces}
        self.model: dict[tuple[str, str], list[Msg]] = {}  # visible messages
        self.in_flight: dict[str, tuple[str, str, Msg]] = {}  # receipt -> (ns, queue, message)
        self.spent: list[tuple[str, str, str]] = []  # receipts acked or released
        self.scheduled: dict[tuple[str, str], int] = {}
        self.dead_letters: dict[tuple[str, str], list] = {}  # -> [target, max, moved]
        self.seq = itertools.count()

    def ready(self, ns: str, queue: str, msg: Msg) -> None:
        self.model.setdefault((ns, queue), []).append(msg)

    def head(self, ns: str, queue: str) -> Msg | None:
        msgs = self.model.get((ns, queue), [])
        return min(msgs, key=lambda m: (-m.priority, m.seq)) if msgs else None

    def _enqueue(self, ns: str, queue: str, payload: bytes, priority: int, message_id: str) -> None:
        self.ready(ns, queue, Msg(message_id, payload, priority, next(self.seq)))

    @declares("queue_basic")
    @rule(i=namespace_index, queue=queues, payload=payloads)
    def enqueue(self, i, queue, payload):
        ns = self.namespaces[i]
        self._enqueue(ns, queue, payload, 0, self.call(self.ops[ns].enqueue, queue, payload))

    @declares("queue_priority")
    @rule(i=namespace_index, queue=queues, payload=payloads, priority=priorities)
    def enqueue_with_priority(self, i, queue, payload, priority):
        ns = self.namespaces[i]
        self._enqueue(ns, queue, payload, priority, self.call(self.ops[ns].enqueue_priority, queue, payload, priority))

    @declares("queue_delayed")
    @rule(i=namespace_index, queue=queues, payload=payloads, later=st.booleans())
    def enqueue_delayed(self, i, queue, payload, later):
        ns = self.namespaces[i]
        message_id = self.call(self.ops[ns].enqueue_delayed, queue, payload, LONG_MS if later else 0)
        if later:
            self.scheduled[(ns, queue)] = self.scheduled.get((ns, queue), 0) + 1
        else:
            self._enqueue(ns, queue, payload, 0, message_id)

    def deliver(self, ns: str, queue: str, got, operation: str) -> Msg | None:
        want = self.head(ns, queue)
        if want is None:
            check(f"{operation} {queue!r} of an empty queue", got, None)
            return None
        want.deliveries += 1
        check(
            f"{operation} {queue!r}: (id, payload, priority, delivery_count)",
            (got.message_id, got.payload, got.priority, got.delivery_count) if got else None,
            (want.message_id, want.payload, want.priority, want.deliveries),
        )
        self.model[(ns, queue)].remove(want)
        return want

    @declares("queue_basic")
    @rule(data=st.data())
    def dequeue(self, data):
        ns, queue = self.target(data, queues)
        self.deliver(ns, queue, self.call(self.ops[ns].dequeue, queue), "Dequeue")

    @declares("queue_visibility")
    @rule(data=st.data())
    def dequeue_with_timeout(self, data):
        ns, queue = self.target(data, queues)
        got = self.call(self.ops[ns].take, queue, LONG_MS)
        msg = self.deliver(ns, queue, got, "DequeueWithTimeout")
        if msg is not None:
            self.in_flight[got.receipt] = (ns, queue, msg)

    def _in_flight(self, data) -> tuple[str, str, str, Msg] | None:
        if not self.in_flight:
            return None
        receipt = data.draw(st.sampled_from(list(self.in_flight)), label="receipt")  # delivery order: receipts are random
        ns, queue, msg = self.in_flight.pop(receipt)
        self.spent.append((ns, queue, receipt))
        return receipt, ns, queue, msg

    @declares("queue_visibility")
    @rule(data=st.data())
    def ack(self, data):
        held = self._in_flight(data)
        if held is not None:
            receipt, ns, queue, _ = held
            self.call(self.ops[ns].ack, queue, receipt)

    @declares("queue_visibility")
    @rule(data=st.data())
    def release(self, data):
        held = self._in_flight(data)
        if held is None:
            return
        receipt, ns, queue, msg = held
        self.call(self.ops[ns].release, queue, receipt)
        config = self.dead_letters.get((ns, queue))
        if config is not None and msg.deliveries >= config[1]:
            config[2] += 1
            msg.seq = next(self.seq)
            self.ready(ns, config[0], msg)
        else:
            self.ready(ns, queue, msg)

    @declares("queue_visibility")
    @rule(data=st.data(), what=st.sampled_from(["Ack", "Release", "ExtendVisibility"]))
    def spent_receipt(self, data, what):
        if not self.spent:
            return
        ns, queue, receipt = data.draw(st.sampled_from(self.spent), label="spent")
        ops = self.ops[ns]
        call = {"Ack": ops.ack, "Release": ops.release, "ExtendVisibility": lambda q, r: ops.extend(q, r, LONG_MS)}[what]
        expect_status(
            f"{what} {queue!r} with a spent receipt", grpc.StatusCode.FAILED_PRECONDITION, lambda: self.call(call, queue, receipt)
        )

    @declares("queue_dead_letter")
    @rule(i=namespace_index, queue=queues, dead_letter_queue=queues, max_deliveries=st.integers(1, 3))
    def configure_dead_letter(self, i, queue, dead_letter_queue, max_deliveries):
        if queue == dead_letter_queue:
            return
        ns = self.namespaces[i]
        self.call(self.ops[ns].configure_dead_letter, queue, dead_letter_queue, max_deliveries)
        moved = self.dead_letters.get((ns, queue), [None, None, 0])[2]
        self.dead_letters[(ns, queue)] = [dead_letter_queue, max_deliveries, moved]

    @rule(i=namespace_index, path=st.sampled_from(sorted(PATHS)))
    def observe(self, i, path):
        self.read(path, self.namespaces[i])

    def read_peek(self, ns):
        for queue in QUEUES:
            want = self.head(ns, queue)
            got = self.call(self.ops[ns].peek, queue)
            check(
                f"Peek {queue!r}: (id, payload, delivery_count)",
                (got.message_id, got.payload, got.delivery_count) if got else None,
                (want.message_id, want.payload, want.deliveries) if want else None,
            )

    def read_scheduled(self, ns):
        for queue in QUEUES:
            check(f"GetScheduledCount {queue!r}", self.call(self.ops[ns].scheduled, queue), self.scheduled.get((ns, queue), 0))

    def read_dead_letters(self, ns):
        for queue in QUEUES:
            config = self.dead_letters.get((ns, queue))
            if config is None:
                expect_status(
                    f"GetDeadLetterQueue {queue!r} (not configured)",
                    grpc.StatusCode.NOT_FOUND,
                    lambda: self.call(self.ops[ns].dead_letter, queue),
                )
            else:
                check(f"GetDeadLetterQueue {queue!r}", self.call(self.ops[ns].dead_letter, queue), tuple(config))

    def read_drain(self, ns):
        """Every visible message, in order, through Dequeue (ends the run's state)."""
        for queue in QUEUES:
            msgs = sorted(self.model.get((ns, queue), []), key=lambda m: (-m.priority, m.seq))
            got = [(m.message_id, m.delivery_count) for m in self.call(self.ops[ns].drain, queue, len(msgs) + 1)]
            check(f"Dequeue {queue!r} until empty: (id, delivery_count)", got, [(m.message_id, m.deliveries + 1) for m in msgs])

    def final_look(self, n, ns):
        super().final_look(n, ns)
        self.read_drain(ns)


@requires.interface("queue_basic")  # the machine enqueues and reads with queue_basic
class QueueModelTests:
    def test_state_machine(self, plugin, declaration):
        run(lambda: QueueMachine(plugin, frozenset(declaration.implements), "pa-model-queue"))
