"""The deadline of the gRPC call being served, for stores that bound their backend's work by it
(a statement interrupted when the caller stops waiting) rather than by a fixed limit: the
runtime's interceptor records it before each handler runs, in the handler's own task."""

from __future__ import annotations

import time
from contextvars import ContextVar

# time.monotonic() at which the current call's deadline passes; None: the caller set none.
CALL_DEADLINE: ContextVar[float | None] = ContextVar("prism_call_deadline", default=None)


def record(time_remaining: float | None) -> None:
    """Called by the runtime with the call's context.time_remaining()."""
    CALL_DEADLINE.set(None if time_remaining is None else time.monotonic() + time_remaining)


def deadline(default_s: float) -> float:
    """The current call's deadline (monotonic), or default_s from now when it has none."""
    at = CALL_DEADLINE.get()
    return time.monotonic() + default_s if at is None else at
