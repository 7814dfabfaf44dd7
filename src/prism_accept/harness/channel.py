"""gRPC channels whose every call has a deadline, so a hung plugin fails a case, never a run."""

from __future__ import annotations

import collections
import threading

import grpc

DEFAULT_DEADLINE_S = 5.0


class _Counter:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.value = 0

    def add(self) -> None:
        with self._lock:
            self.value += 1


_calls = _Counter()


def calls_started() -> int:
    """How many calls the channels of open_channel have started in this process: a cell reports
    it (`rpcs`), because most of a cell's CPU time is its RPCs' (bench-cells divides one by the other)."""
    return _calls.value


class _CallDetails(
    collections.namedtuple("_CallDetails", ("method", "timeout", "metadata", "credentials", "wait_for_ready", "compression")),
    grpc.ClientCallDetails,
):
    pass


class DeadlineInterceptor(
    grpc.UnaryUnaryClientInterceptor,
    grpc.UnaryStreamClientInterceptor,
    grpc.StreamUnaryClientInterceptor,
    grpc.StreamStreamClientInterceptor,
):
    """Gives every call without a timeout the default one, and counts the calls (calls_started)."""

    def __init__(self, default_s: float):
        self.default_s = default_s

    def _details(self, d: grpc.ClientCallDetails) -> grpc.ClientCallDetails:
        _calls.add()
        if d.timeout is not None:
            return d
        return _CallDetails(
            d.method, self.default_s, d.metadata, d.credentials, getattr(d, "wait_for_ready", None), getattr(d, "compression", None)
        )

    def intercept_unary_unary(self, continuation, client_call_details, request):
        return continuation(self._details(client_call_details), request)

    def intercept_unary_stream(self, continuation, client_call_details, request):
        return continuation(self._details(client_call_details), request)

    def intercept_stream_unary(self, continuation, client_call_details, request_iterator):
        return continuation(self._details(client_call_details), request_iterator)

    def intercept_stream_stream(self, continuation, client_call_details, request_iterator):
        return continuation(self._details(client_call_details), request_iterator)


def open_channel(address: str, default_deadline_s: float = DEFAULT_DEADLINE_S) -> tuple[grpc.Channel, grpc.Channel]:
    """(raw channel to close, intercepted channel to make stubs from)."""
    raw = grpc.insecure_channel(
        address, options=[("grpc.max_receive_message_length", 64 * 1024 * 1024), ("grpc.max_send_message_length", 64 * 1024 * 1024)]
    )
    return raw, grpc.intercept_channel(raw, DeadlineInterceptor(default_deadline_s))
