"""The caller's deadline, for every statement the plugin sends: each RPC of the plugin's
servicers records when its gRPC deadline falls (a context variable of the RPC's own task), and
the connection bounds each statement by what is left of it (`remaining()`), server-side with
`max_statement_time` and client-side with an asyncio timeout.

The SDK's store protocols take no gRPC context, so the servicers are wrapped here, method by
method of their generated service (`bounded_by_call_deadlines`)."""

from __future__ import annotations

import contextvars
import functools
import inspect
import time
from typing import Any, Callable, TypeVar

import grpc

from prism_plugin.contract import InterfaceServicer
from prism_plugin.status import StatusError

# A call without a deadline (a client that sets none) is bounded by this.
DEFAULT_CALL_S = 5.0
# Answer this long before the caller's deadline, so the answer (or the error) arrives in time.
MARGIN_S = 0.15

_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar("prism_mariadb_call_deadline", default=None)

S = TypeVar("S", bound=InterfaceServicer[Any])


def remaining() -> float:
    """Seconds left for backend work in the current call (DEFAULT_CALL_S outside any call, e.g.
    Initialize's own statements); DEADLINE_EXCEEDED when nothing is left."""
    deadline = _deadline.get()
    left = DEFAULT_CALL_S if deadline is None else deadline - time.monotonic()
    if left <= 0:
        raise StatusError(grpc.StatusCode.DEADLINE_EXCEEDED, "the call's deadline passed before the backend answered")
    return left


def _start(context: Any) -> contextvars.Token[float | None]:
    left = context.time_remaining() if context is not None else None
    budget = DEFAULT_CALL_S if left is None else min(max(left - MARGIN_S, 0.0), 600.0)
    return _deadline.set(time.monotonic() + budget)


def _unary(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    async def call(request: Any, context: Any) -> Any:
        token = _start(context)
        try:
            return await method(request, context)
        finally:
            _deadline.reset(token)

    return call


def _streaming(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    async def call(request: Any, context: Any) -> Any:
        token = _start(context)
        try:
            async for item in method(request, context):
                yield item
        finally:
            try:
                _deadline.reset(token)
            except ValueError:  # closed from another context (garbage collection): nothing to restore
                pass

    return call


def rpc_names(servicer: InterfaceServicer[Any]) -> list[str]:
    """The RPCs of the servicer's generated service: the methods its `<Service>Servicer` base defines."""
    for base in type(servicer).__mro__[1:]:
        if base.__module__.endswith("_pb2_grpc") and base.__name__.endswith("Servicer"):
            return [name for name, value in vars(base).items() if callable(value) and not name.startswith("_")]
    return []


def bounded_by_call_deadlines(servicer: S) -> S:
    """The servicer, each RPC of it recording the call's deadline for the statements it sends."""
    for name in rpc_names(servicer):
        method = getattr(servicer, name)
        wrap = _streaming if inspect.isasyncgenfunction(method) else _unary
        setattr(servicer, name, wrap(method))
    return servicer
