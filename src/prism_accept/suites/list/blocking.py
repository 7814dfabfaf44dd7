"""list_blocking: BlockingPopLeft, BlockingPopRight over several keys, with a timeout.

Values are pushed through list_basic. "Still blocked" is checked by polling the pending call
for a short while (it must not return on an empty list), never by sleeping."""

from __future__ import annotations

import time

import grpc
import pytest

from prism.list.v1 import list_pb2 as pb
from prism.list.v1 import list_pb2_grpc as pb_grpc
from prism_accept.suites.base import InterfaceSuite, check, expect_status, poll_until
from prism_accept.suites.list.basic import ListOps
from prism_accept.suites.requirements import requires

LONG_TIMEOUT_MS = 5000
STILL_BLOCKED_S = 0.15


@requires.interface("list_basic")  # lists are built with PushRight
class ListBlockingTests(InterfaceSuite):
    interface = "list_blocking"

    @pytest.fixture
    def lists(self, plugin, namespace):
        return ListOps(pb_grpc.ListBasicStub(plugin.channel), namespace)

    @pytest.fixture
    def blocking(self, plugin):
        return pb_grpc.ListBlockingStub(plugin.channel)

    @staticmethod
    def start_pop(blocking, ns: str, keys: list[str], timeout_ms: int, left: bool = True, deadline_s: float | None = None):
        call = blocking.BlockingPopLeft if left else blocking.BlockingPopRight
        req = pb.BlockingPopRequest(namespace=ns, keys=keys, timeout_ms=timeout_ms)
        return call.future(req, timeout=deadline_s or timeout_ms / 1000 + 5)

    @staticmethod
    def result(future) -> tuple[bool, str, bytes]:
        r = future.result()
        return r.found, r.key, r.value

    @staticmethod
    def assert_still_blocked(future, what: str) -> None:
        returned_early = poll_until(future.done, STILL_BLOCKED_S)
        if returned_early:
            raise AssertionError(
                f"{what}: returned {future.result() if not future.exception() else future.exception()} on an empty list, want it to block"
            )

    def test_returns_at_once_when_a_value_is_there(self, blocking, lists):
        lists.push_right("k", b"a", b"b", b"c")
        t0 = time.monotonic()
        check(
            "BlockingPopLeft of a non-empty list",
            self.result(self.start_pop(blocking, lists.ns, ["k"], LONG_TIMEOUT_MS)),
            (True, "k", b"a"),
        )
        assert time.monotonic() - t0 < LONG_TIMEOUT_MS / 2000, "BlockingPopLeft of a non-empty list waited"
        check(
            "BlockingPopRight of a non-empty list",
            self.result(self.start_pop(blocking, lists.ns, ["k"], LONG_TIMEOUT_MS, left=False)),
            (True, "k", b"c"),
        )
        check("list after both pops", lists.pop_left("k", 5), [b"b"])

    def test_wakes_on_push(self, blocking, lists, capabilities):
        future = self.start_pop(blocking, lists.ns, ["k"], LONG_TIMEOUT_MS)
        self.assert_still_blocked(future, "BlockingPopLeft before any push")
        pushed = time.monotonic()
        lists.push_right("k", b"v")
        check("BlockingPopLeft woken by a push", self.result(future), (True, "k", b"v"))
        latency_ms = (time.monotonic() - pushed) * 1000
        bound_ms = 500 + capabilities.timing_tolerance_ms
        assert (
            latency_ms < bound_ms
        ), f"BlockingPopLeft wake-up latency: got {latency_ms:.0f} ms, want < {bound_ms} ms (timeout was {LONG_TIMEOUT_MS} ms)"
        check("Length after the woken pop", lists.length("k"), 0)

    def test_times_out_empty(self, blocking, lists, capabilities):
        tol = capabilities.timing_tolerance_ms
        timeout_ms = 200
        t0 = time.monotonic()
        check(
            "BlockingPopLeft of an empty list", self.result(self.start_pop(blocking, lists.ns, ["k", "k2"], timeout_ms)), (False, "", b"")
        )
        elapsed_ms = (time.monotonic() - t0) * 1000
        assert (
            timeout_ms - tol <= elapsed_ms <= timeout_ms + tol + 1000
        ), f"BlockingPopLeft(timeout 200 ms) returned after {elapsed_ms:.0f} ms, want about {timeout_ms} ms (tolerance {tol} ms)"

    def test_first_non_empty_key_in_argument_order_wins(self, blocking, lists):
        lists.push_right("k3", b"three")
        lists.push_right("k2", b"two")
        check(
            "BlockingPopLeft([k1, k2, k3])",
            self.result(self.start_pop(blocking, lists.ns, ["k1", "k2", "k3"], LONG_TIMEOUT_MS)),
            (True, "k2", b"two"),
        )
        lists.push_right("k1", b"one")
        check(
            "BlockingPopLeft([k3, k1])",
            self.result(self.start_pop(blocking, lists.ns, ["k3", "k1"], LONG_TIMEOUT_MS)),
            (True, "k3", b"three"),
        )
        check(
            "BlockingPopLeft([k2, k1])",
            self.result(self.start_pop(blocking, lists.ns, ["k2", "k1"], LONG_TIMEOUT_MS)),
            (True, "k1", b"one"),
        )

    def test_wakes_on_push_to_any_key(self, blocking, lists):
        future = self.start_pop(blocking, lists.ns, ["a", "b", "c"], LONG_TIMEOUT_MS, left=False)
        self.assert_still_blocked(future, "BlockingPopRight([a, b, c]) before any push")
        lists.push_right("c", b"x", b"y")
        check("BlockingPopRight woken by a push to the third key", self.result(future), (True, "c", b"y"))
        check("Length('c') after", lists.length("c"), 1)

    def test_two_blocked_clients_each_get_one_value(self, blocking, lists):
        first = self.start_pop(blocking, lists.ns, ["k"], LONG_TIMEOUT_MS)
        second = self.start_pop(blocking, lists.ns, ["k"], LONG_TIMEOUT_MS)
        self.assert_still_blocked(first, "first BlockingPopLeft before any push")
        lists.push_right("k", b"a", b"b")
        got = sorted([self.result(first), self.result(second)])
        check("two blocked pops after pushing a, b", got, [(True, "k", b"a"), (True, "k", b"b")])
        check("Length after both pops", lists.length("k"), 0)

    def test_client_deadline_is_honoured_and_loses_nothing(self, blocking, lists):
        future = self.start_pop(blocking, lists.ns, ["k"], 60_000, deadline_s=0.3)
        t0 = time.monotonic()
        try:
            r = future.result()
            check("BlockingPopLeft past the client's deadline .found", r.found, False)
        except grpc.RpcError as e:
            check("BlockingPopLeft past the client's deadline: status", e.code(), grpc.StatusCode.DEADLINE_EXCEEDED)
        assert time.monotonic() - t0 < 5, "BlockingPopLeft outlived the client's deadline by seconds"
        lists.push_right("k", b"v")
        check("PopLeft after an abandoned blocking pop (the value must not be lost to it)", lists.pop_left("k"), [b"v"])

    def test_invalid_arguments(self, blocking, lists):
        for ms in (0, -1):
            expect_status(
                f"BlockingPopLeft(timeout_ms={ms})",
                grpc.StatusCode.INVALID_ARGUMENT,
                lambda: self.result(self.start_pop(blocking, lists.ns, ["k"], ms, deadline_s=5)),
            )
        expect_status(
            "BlockingPopLeft with no keys",
            grpc.StatusCode.INVALID_ARGUMENT,
            lambda: self.result(self.start_pop(blocking, lists.ns, [], 100)),
        )
        expect_status(
            "BlockingPopRight with an empty key",
            grpc.StatusCode.INVALID_ARGUMENT,
            lambda: self.result(self.start_pop(blocking, lists.ns, ["k", ""], 100, left=False)),
        )
        expect_status(
            "BlockingPopLeft with an empty namespace",
            grpc.StatusCode.INVALID_ARGUMENT,
            lambda: self.result(self.start_pop(blocking, "", ["k"], 100)),
        )
