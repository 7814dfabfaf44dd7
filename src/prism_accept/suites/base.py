"""What every suite shares: capabilities, per-case namespaces, and checks that say
operation, got, want."""

from __future__ import annotations

import collections
import time
import uuid
from dataclasses import dataclass
from typing import Any, Callable, ClassVar, Iterable, Iterator

import grpc
import pytest

from prism_accept.registry import BackendDeclaration

DEFAULT_TIMING_TOLERANCE_MS = 50


@dataclass(frozen=True)
class Capabilities:
    """What a backend declares beyond its interfaces, from registry/backends/<name>.yaml.

    A case reads only what it declared it needs (suites/requirements.py): the cell skips it
    before it runs when the registry file does not declare that."""

    decl: BackendDeclaration

    def limit(self, name: str) -> int:
        if name not in self.decl.limits:
            raise AssertionError(f"the case reads limits.{name} without @requires.limit({name!r})")
        return self.decl.limits[name]

    def behaviour(self, interface: str, name: str):
        declared = self.decl.behaviours.get(interface, {})
        if name not in declared:
            raise AssertionError(f"the case reads behaviours.{interface}.{name} without @requires.behaviour(...)")
        return declared[name]

    def for_setup(self, interface: str, limit: str) -> int | None:
        """For a case's set-up only, never what it checks: the declared `limit` when the backend
        declares `interface` too, else None. A case that needs thousands of keys in place writes
        them the faster way where the backend has one (BatchSet), and one by one where not."""
        if interface in self.decl.implements and limit in self.decl.limits:
            return self.decl.limits[limit]
        return None

    @property
    def timing_tolerance_ms(self) -> int:
        return self.decl.tolerances.get("timing_ms", DEFAULT_TIMING_TOLERANCE_MS)


def describe(value: Any, limit: int = 120) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} chars)"


def check(operation: str, got: Any, want: Any) -> None:
    """assert got == want, failing with `operation: got ..., want ...`."""
    if got != want:
        raise AssertionError(f"{operation}: got {describe(got)}, want {describe(want)}")


def expect_status(operation: str, want: grpc.StatusCode, call: Callable[[], Any]) -> grpc.RpcError:
    """Run `call` (consume streams inside it); it must fail with status `want`."""
    try:
        result = call()
    except grpc.RpcError as e:
        if e.code() != want:
            raise AssertionError(f"{operation}: got status {e.code().name} ({e.details()}), want {want.name}") from None
        return e
    raise AssertionError(f"{operation}: got OK ({describe(result)}), want status {want.name}")


def in_flight(method: Any, requests: Iterable[Any], window: int = 32, answer: Callable[[Any], Any] | None = None) -> list[Any]:
    """Each request through the unary `method` (a stub's), up to `window` calls in flight at once,
    held by the gRPC core rather than a thread each: the cheapest way (a quarter less CPU than 8
    threads here) to send many calls whose order does not matter. What `answer(call)` makes of
    each finished call (by default its response: the first failed call raises its
    grpc.RpcError), in request order."""
    take = answer or (lambda call: call.result())
    pending: collections.deque = collections.deque()
    answers: list[Any] = []
    for request in requests:
        pending.append(method.future(request))
        if len(pending) >= window:
            answers.append(take(pending.popleft()))
    answers.extend(take(call) for call in pending)
    return answers


def poll_until(condition: Callable[[], bool], timeout_s: float, interval_s: float = 0.01) -> bool:
    """Poll `condition` until true or the deadline; returns its last value."""
    deadline = time.monotonic() + timeout_s
    while True:
        if condition():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval_s)


class InterfaceSuite:
    """Base of every interface suite. Not collected itself (no `Test` prefix): a runner
    subclasses it and provides the `plugin` and `capabilities` fixtures."""

    interface: ClassVar[str] = ""

    @pytest.fixture
    def namespace(self, plugin) -> Iterator[str]:
        """A fresh namespace for one case, emptied afterwards."""
        ns = plugin.track(f"pa-{self.interface}-{uuid.uuid4().hex[:12]}")
        yield ns
        try:
            plugin.drop_namespace(ns)
        except grpc.RpcError:
            pass  # clean-up only; the case's own result stands

    @pytest.fixture
    def related(self, plugin, namespace) -> Iterator[Callable[[str], str]]:
        """Namespaces next to the case's (`related("-other")` is `<namespace>-other`), for
        isolation cases: journaled before the first write and dropped afterwards, like it."""
        made: dict[str, None] = {}

        def related_namespace(suffix: str) -> str:
            ns = namespace + suffix
            if ns not in made:
                made[plugin.track(ns)] = None
            return ns

        yield related_namespace
        for ns in made:
            try:
                plugin.drop_namespace(ns)
            except grpc.RpcError:
                pass
