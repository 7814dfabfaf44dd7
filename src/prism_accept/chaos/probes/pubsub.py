"""pubsub_basic probe: a Subscribe to topic `probe`, opened (ready seen) before the first
Publish of payload `item-<i>`; read returns what the subscription delivered since the last read.
Consuming, and at-most-once by INTERFACES.md: what is published while a fault has broken the
subscription is not owed to it. A subscription that ended by itself (a fault: UNAVAILABLE) is
subscribed again by the read that meets its end, or by the next read."""

from __future__ import annotations

import queue
import threading
import time
from typing import Any

import grpc

from prism.pubsub.v1 import pubsub_pb2 as pb
from prism.pubsub.v1 import pubsub_pb2_grpc as pb_grpc
from prism_accept.chaos.probes import NAME, check_value, item_of, item_payload
from prism_accept.chaos.probes import Probe as Base

# The subscription's own deadline: it must outlive every read of a case (each read waits at
# most its `timeout`), yet no stream outlives the cell.
SUBSCRIPTION_S = 3600.0
CALL_FLOOR_S = 1.0  # a subscription opened again after its end gets at least this for its ready event
_END = object()


class NoReady(grpc.RpcError):
    """A subscription that sent no ready event within the probe's timeout: to the caller, the
    call's deadline passed (DEADLINE_EXCEEDED), as a unary call's would."""

    def __init__(self, details: str):
        super().__init__(details)
        self._details = details

    def code(self) -> grpc.StatusCode:
        return grpc.StatusCode.DEADLINE_EXCEEDED

    def details(self) -> str:
        return self._details


class Subscription:
    """One Subscribe stream, read into a queue by a daemon thread; the stream's end is queued
    as (_END, None) when it ended OK, (_END, the grpc.RpcError) otherwise."""

    def __init__(self, call: Any) -> None:
        self.call = call
        self.events: queue.Queue = queue.Queue()
        self.ended = False  # its end was read
        threading.Thread(target=self._read, name="probe subscription", daemon=True).start()

    def _read(self) -> None:
        try:
            for event in self.call:
                self.events.put(event)
            self.events.put((_END, None))
        except grpc.RpcError as e:
            self.events.put((_END, e))

    def next(self, timeout: float):
        """The next event, or None when nothing came within `timeout` (0: only what is there)."""
        try:
            return self.events.get(timeout=timeout) if timeout > 0 else self.events.get_nowait()
        except queue.Empty:
            return None


class Probe(Base):
    interface = "pubsub_basic"
    messages = True
    consuming = True
    at_most_once = True

    def __init__(self, channel: grpc.Channel, namespace: str):
        super().__init__(channel, namespace)
        self.stub = pb_grpc.PubSubBasicStub(channel)
        self.topic = NAME
        self.subscription: Subscription | None = None

    def open(self, timeout: float) -> None:
        self.subscribe(timeout)

    def subscribe(self, timeout: float) -> Subscription:
        """A new subscription, once it sent ready (within `timeout`)."""
        self.close()
        s = Subscription(self.stub.Subscribe(pb.SubscribeRequest(namespace=self.namespace, topic=self.topic), timeout=SUBSCRIPTION_S))
        self.subscription = s
        event = s.next(timeout)
        operation = f"Subscribe({self.topic!r})"
        if event is None:
            self.close()
            raise NoReady(f"{operation}: no ready event within {timeout} s")
        if isinstance(event, tuple) and event[0] is _END:
            self.subscription = None
            if event[1] is not None:
                raise event[1]
            raise AssertionError(f"{operation}: got the end of the stream (OK), want the ready event")
        check_value(f"{operation}: the first event", event.WhichOneof("event"), "ready")
        return s

    def write(self, i: int, timeout: float) -> None:
        self.stub.Publish(pb.PublishRequest(namespace=self.namespace, topic=self.topic, payload=item_payload(i)), timeout=timeout)

    def read(self, timeout: float, want: frozenset[int] = frozenset()) -> list[int]:
        deadline = time.monotonic() + timeout
        s = self.subscription
        if s is None or s.ended:
            s = self.subscribe(timeout)
        got = list[int]()
        operation = f"Subscribe({self.topic!r}) message"
        while True:
            waiting = not want <= set(got)
            event = s.next(max(0.0, deadline - time.monotonic()) if waiting else 0)
            if event is None:
                return got
            if isinstance(event, tuple) and event[0] is _END:
                # ended (a fault: UNAVAILABLE): subscribed again at once, so that a read always
                # leaves a live subscription behind it
                s.ended = True
                s = self.subscribe(max(CALL_FLOOR_S, deadline - time.monotonic()))
                continue
            check_value(f"{operation}: the event", event.WhichOneof("event"), "message")
            check_value(f"{operation}: the topic", event.message.topic, self.topic)
            got.append(item_of(operation, event.message.payload))

    def close(self) -> None:
        if self.subscription is not None:
            try:
                self.subscription.call.cancel()
            except Exception:  # noqa: BLE001 - close never raises
                pass
            self.subscription = None
