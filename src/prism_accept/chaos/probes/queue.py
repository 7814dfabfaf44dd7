"""queue_basic probe: Enqueue of payload `item-<i>` to queue `probe`; read Dequeues until the
queue is empty (and, while `want` has not all arrived, polls it until `timeout`). Consuming.

queue_basic has no Ack: a Dequeue that answered is the delivery and removes the message, so a
Dequeue whose answer a fault lost may lose a message (at-most-once on the consumer side); what
an interrupted read had already dequeued is kept and returned by the next read."""

from __future__ import annotations

import time

import grpc

from prism.queue.v1 import queue_pb2 as pb
from prism.queue.v1 import queue_pb2_grpc as pb_grpc
from prism_accept.chaos.probes import NAME, item_of, item_payload
from prism_accept.chaos.probes import Probe as Base

POLL_S = 0.05  # between Dequeues of an empty queue while `want` is still awaited


class Probe(Base):
    interface = "queue_basic"
    messages = True
    consuming = True

    def __init__(self, channel: grpc.Channel, namespace: str):
        super().__init__(channel, namespace)
        self.stub = pb_grpc.QueueBasicStub(channel)
        self.queue = NAME
        self.taken: list[int] = []  # dequeued by a read that then failed: the next read's

    def write(self, i: int, timeout: float) -> None:
        self.stub.Enqueue(pb.EnqueueRequest(namespace=self.namespace, queue=self.queue, payload=item_payload(i)), timeout=timeout)

    def read(self, timeout: float, want: frozenset[int] = frozenset()) -> list[int]:
        deadline = time.monotonic() + timeout
        request = pb.DequeueRequest(namespace=self.namespace, queue=self.queue)
        while True:
            r = self.stub.Dequeue(request, timeout=timeout)
            if r.found:
                self.taken.append(item_of(f"Dequeue({self.queue!r})", r.message.payload))
                continue
            if want <= set(self.taken) or time.monotonic() >= deadline:
                got, self.taken = self.taken, []
                return got
            time.sleep(min(POLL_S, max(0.0, deadline - time.monotonic())))
