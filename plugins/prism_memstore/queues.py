"""MemStore's queues: per queue a heap of ready messages, a heap of scheduled (delayed) ones and
the in-flight ones by receipt, all on monotonic time.

Single-threaded asyncio and no await inside a method: each call is atomic, so competing
consumers never share a message. Due work (delays passed, visibility timeouts expired,
dead-lettering) is done by `_tick` at the start of every call that reads a queue.
"""

from __future__ import annotations

import heapq
import itertools
import time
import uuid
from dataclasses import dataclass, field

from prism_plugin.contracts.queue.basic import Delivered


@dataclass
class _Message:
    message_id: str
    payload: bytes
    priority: int
    available_at: float  # when it joined the ready messages (enqueue, or end of its delay)
    seq: int
    deliveries: int = 0

    def order(self) -> tuple[int, float, int]:
        return (-self.priority, self.available_at, self.seq)


@dataclass
class _InFlight:
    message: _Message
    visible_at: float


@dataclass
class _Queue:
    ready: list[tuple[tuple[int, float, int], _Message]] = field(default_factory=list)
    scheduled: list[tuple[float, int, _Message]] = field(default_factory=list)
    in_flight: dict[str, _InFlight] = field(default_factory=dict)  # by receipt
    dead_letter: tuple[str, int] | None = None  # target queue, max deliveries
    dead_lettered: int = 0


class MemQueues:
    def __init__(self) -> None:
        self._spaces: dict[str, dict[str, _Queue]] = {}
        self._seq = itertools.count(1)

    def drop(self, ns: str) -> None:
        self._spaces.pop(ns, None)

    def _queue(self, ns: str, queue: str) -> _Queue:
        return self._spaces.setdefault(ns, {}).setdefault(queue, _Queue())

    def _ready(self, q: _Queue, message: _Message) -> None:
        heapq.heappush(q.ready, (message.order(), message))

    def _tick(self, ns: str, queue: str) -> _Queue:
        """The queue with every delay and visibility timeout that has passed applied."""
        q, now = self._queue(ns, queue), time.monotonic()
        while q.scheduled and q.scheduled[0][0] <= now:
            _, _, message = heapq.heappop(q.scheduled)
            self._ready(q, message)
        for receipt, held in [(r, h) for r, h in q.in_flight.items() if h.visible_at <= now]:
            del q.in_flight[receipt]
            self._back(ns, q, held.message)
        return q

    def _back(self, ns: str, q: _Queue, message: _Message) -> None:
        """A message becoming visible again: to the dead-letter queue once it used up its
        deliveries, else back to its place."""
        if q.dead_letter is not None and message.deliveries >= q.dead_letter[1]:
            q.dead_lettered += 1
            message.available_at, message.seq = time.monotonic(), next(self._seq)
            self._ready(self._queue(ns, q.dead_letter[0]), message)
        else:
            self._ready(q, message)

    # queue_basic, queue_priority, queue_delayed
    async def enqueue(self, ns: str, queue: str, payload: bytes, priority: int, delay_ms: int) -> str:
        q, now, seq = self._queue(ns, queue), time.monotonic(), next(self._seq)
        message = _Message(f"m{seq}", bytes(payload), priority, now + delay_ms / 1000, seq)
        if delay_ms > 0:
            heapq.heappush(q.scheduled, (message.available_at, seq, message))
        else:
            self._ready(q, message)
        return message.message_id

    async def dequeue(self, ns: str, queue: str, visibility_ms: int | None) -> Delivered | None:
        q = self._tick(ns, queue)
        if not q.ready:
            return None
        _, message = heapq.heappop(q.ready)
        message.deliveries += 1
        receipt = ""
        if visibility_ms is not None:
            receipt = uuid.uuid4().hex
            q.in_flight[receipt] = _InFlight(message, time.monotonic() + visibility_ms / 1000)
        return Delivered(message.message_id, message.payload, message.deliveries, message.priority, receipt)

    async def peek(self, ns: str, queue: str) -> Delivered | None:
        q = self._tick(ns, queue)
        if not q.ready:
            return None
        message = q.ready[0][1]
        return Delivered(message.message_id, message.payload, message.deliveries, message.priority)

    # queue_visibility
    async def extend(self, ns: str, queue: str, receipt: str, visibility_ms: int) -> bool:
        held = self._tick(ns, queue).in_flight.get(receipt)
        if held is None:
            return False
        held.visible_at = time.monotonic() + visibility_ms / 1000
        return True

    async def release(self, ns: str, queue: str, receipt: str) -> bool:
        q = self._tick(ns, queue)
        held = q.in_flight.pop(receipt, None)
        if held is None:
            return False
        self._back(ns, q, held.message)
        return True

    async def ack(self, ns: str, queue: str, receipt: str) -> bool:
        return self._tick(ns, queue).in_flight.pop(receipt, None) is not None

    # queue_dead_letter
    async def configure_dead_letter(self, ns: str, queue: str, dead_letter_queue: str, max_deliveries: int) -> None:
        self._tick(ns, queue).dead_letter = (dead_letter_queue, max_deliveries)

    async def dead_letter(self, ns: str, queue: str) -> tuple[str, int, int] | None:
        q = self._tick(ns, queue)
        if q.dead_letter is None:
            return None
        return q.dead_letter[0], q.dead_letter[1], q.dead_lettered

    # queue_delayed
    async def scheduled_count(self, ns: str, queue: str) -> int:
        return len(self._tick(ns, queue).scheduled)
