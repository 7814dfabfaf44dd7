"""queue_visibility: DequeueWithTimeout, ExtendVisibility, Release, Ack.

Timing cases use 150-500 ms visibility timeouts and poll with a deadline; every bound is
widened by the backend's declared tolerance (registry `tolerances.timing_ms`). Messages are
enqueued through queue_basic."""

from __future__ import annotations

import threading
import time

import grpc
import pytest

from prism_accept.suites.base import InterfaceSuite, check, expect_status, poll_until
from prism_accept.suites.delivery import audit
from prism_accept.suites.queue.basic import QueueOps, audit_producers, in_threads, produce_concurrently
from prism_accept.suites.requirements import requires
from prism_accept.suites.rows import AllRows

LONG_MS = 60_000
POLL_MARGIN_S = 2.0  # how long past timeout + tolerance we keep polling before calling it lost


def watch(q: QueueOps, queue: str, visibility_ms: int, t0: float, not_before_ms: float, until_s: float):
    """Poll DequeueWithTimeout until a message comes back or `until_s` after t0 passes; returns
    (the message or None, ms after t0 when it came, the ms of any delivery seen before
    not_before_ms)."""
    got: list = []
    early: list[int] = []

    def poll() -> bool:
        asked = (time.monotonic() - t0) * 1000
        m = q.take(queue, visibility_ms)
        if m is None:
            return False
        if asked < not_before_ms:
            early.append(round(asked))
        got.append((m, (time.monotonic() - t0) * 1000))
        return True

    poll_until(poll, max(0.0, t0 + until_s - time.monotonic()), interval_s=0.01)
    return (got[0] if got else (None, None)), early


def wait_past(t: float, ms: float) -> None:
    """Poll the clock until `ms` after monotonic time `t` (a timeout that must have passed)."""
    poll_until(lambda: time.monotonic() >= t + ms / 1000, ms / 1000 + 1.0, interval_s=0.005)


def succeeds(operation: str, call) -> None:
    """Run `call`; a status fails the case naming the operation (want OK)."""
    try:
        call()
    except grpc.RpcError as e:
        raise AssertionError(f"{operation}: got status {e.code().name} ({e.details()}), want OK") from None


# The three RPCs that take a receipt, each on a queue of its own.
RECEIPT_RPCS = ("Ack", "ExtendVisibility", "Release")


def with_receipt(q: QueueOps, rpc: str, receipt: str) -> None:
    queue = rpc.lower()
    if rpc == "Ack":
        q.ack(queue, receipt)
    elif rpc == "Release":
        q.release(queue, receipt)
    else:
        q.extend(queue, receipt, LONG_MS)


@requires.interface("queue_basic")  # messages are enqueued with Enqueue
class QueueVisibilityTests(InterfaceSuite):
    interface = "queue_visibility"

    @pytest.fixture
    def q(self, plugin, namespace):
        return QueueOps(plugin.channel, namespace)

    def test_redelivery_after_the_timeout(self, q, capabilities):
        tol, timeout_ms = capabilities.timing_tolerance_ms, 200
        sent = q.enqueue("q", b"payload")
        first = q.take("q", timeout_ms)
        t0 = time.monotonic()
        check("DequeueWithTimeout: (id, delivery_count)", (first.message_id, first.delivery_count), (sent, 1))
        (again, _), _ = watch(q, "q", LONG_MS, t0, 0, (timeout_ms + tol) / 1000 + POLL_MARGIN_S)
        assert (
            again is not None
        ), f"DequeueWithTimeout: message {sent} not redelivered {timeout_ms} ms + {tol} ms + {POLL_MARGIN_S} s after its delivery"
        check(
            "redelivery after the timeout: (id, payload, delivery_count)",
            (again.message_id, again.payload, again.delivery_count),
            (sent, b"payload", 2),
        )
        assert again.receipt and again.receipt != first.receipt, f"redelivery receipt: got {again.receipt!r}, want a new non-empty receipt"
        audit("deliveries of the one message", [sent], [[again.message_id]])

    def test_no_redelivery_before_the_timeout(self, q, capabilities):
        tol, timeout_ms = capabilities.timing_tolerance_ms, 400
        sent = q.enqueue("q", b"v")
        t0 = time.monotonic()
        q.take("q", timeout_ms)
        (again, at), early = watch(q, "q", LONG_MS, t0, timeout_ms - tol, (timeout_ms + tol) / 1000 + POLL_MARGIN_S)
        check(f"ms after DequeueWithTimeout({timeout_ms}) at which the message was delivered again", early, [])
        check("the message delivered after the timeout .message_id", again.message_id if again else None, sent)

    def test_ack_removes_for_good(self, q, capabilities):
        tol, timeout_ms = capabilities.timing_tolerance_ms, 150
        a, b = q.enqueue("q", b"a"), q.enqueue("q", b"b")
        first, second = q.take("q", timeout_ms), q.take("q", timeout_ms)
        check("DequeueWithTimeout twice: ids", (first.message_id, second.message_id), (a, b))
        q.ack("q", first.receipt)
        # b (taken after a, not acked) coming back shows a's timeout has passed too.
        (back, _), _ = watch(q, "q", LONG_MS, time.monotonic(), 0, (timeout_ms + tol) / 1000 + POLL_MARGIN_S)
        seen = ([back.message_id] if back else []) + [m.message_id for m in q.drain("q")]
        audit("deliveries after acking a and letting b time out", [b], [seen])
        expect_status("Ack of an acked message", grpc.StatusCode.FAILED_PRECONDITION, lambda: q.ack("q", first.receipt))

    def test_extend_pushes_the_deadline(self, q, capabilities):
        tol, timeout_ms, extended_ms = capabilities.timing_tolerance_ms, 200, 500
        sent = q.enqueue("q", b"v")
        m = q.take("q", timeout_ms)
        t0 = time.monotonic()
        q.extend("q", m.receipt, extended_ms)
        (again, at), early = watch(q, "q", LONG_MS, t0, extended_ms - tol, (extended_ms + tol) / 1000 + POLL_MARGIN_S)
        check(f"ms after ExtendVisibility({extended_ms}) (first timeout {timeout_ms}) at which the message came back", early, [])
        check(
            "redelivery after the extended deadline: (id, delivery_count)",
            (again.message_id, again.delivery_count) if again else None,
            (sent, 2),
        )

    def test_release_is_immediate(self, q):
        sent = q.enqueue("q", b"v")
        later = q.enqueue("q", b"later")
        m = q.take("q", LONG_MS)
        q.release("q", m.receipt)
        again = q.take("q", LONG_MS)
        check(
            "DequeueWithTimeout right after Release: (id, delivery_count) (it keeps its place)",
            (again.message_id, again.delivery_count) if again else None,
            (sent, 2),
        )
        expect_status("Release with the released receipt", grpc.StatusCode.FAILED_PRECONDITION, lambda: q.release("q", m.receipt))
        q.ack("q", again.receipt)
        audit("what is left", [later], [[x.message_id for x in q.drain("q")]])

    def test_delivery_count_increases(self, q, capabilities):
        tol = capabilities.timing_tolerance_ms
        sent = q.enqueue("q", b"v")
        counts = []
        for _ in range(3):
            m = q.take("q", LONG_MS)
            counts.append(m.delivery_count)
            q.release("q", m.receipt)
        m = q.take("q", 150)
        counts.append(m.delivery_count)
        (again, _), _ = watch(q, "q", LONG_MS, time.monotonic(), 0, (150 + tol) / 1000 + POLL_MARGIN_S)
        counts.append(again.delivery_count if again else None)
        check("delivery_count of 3 released, 1 timed-out and 1 more delivery", counts, [1, 2, 3, 4, 5])
        q.ack("q", again.receipt)
        check("Dequeue after the ack", q.dequeue("q"), None)
        check("id", again.message_id, sent)

    def test_receipts_whose_timeout_passed(self, q, capabilities):
        """Just after a delivery's visibility timeout passed (the message visible again, not yet
        redelivered), Ack, ExtendVisibility and Release with its receipt are FAILED_PRECONDITION
        and change nothing: the message is the next delivery, with delivery_count 2."""
        tol, timeout_ms = capabilities.timing_tolerance_ms, 150
        sent = {rpc: q.enqueue(rpc.lower(), rpc.encode()) for rpc in RECEIPT_RPCS}
        taken = {rpc: q.take(rpc.lower(), timeout_ms) for rpc in RECEIPT_RPCS}
        wait_past(time.monotonic(), timeout_ms + tol)
        for rpc in RECEIPT_RPCS:
            expect_status(
                f"{rpc} with a receipt whose {timeout_ms} ms timeout passed (before any redelivery)",
                grpc.StatusCode.FAILED_PRECONDITION,
                lambda: with_receipt(q, rpc, taken[rpc].receipt),
            )
        with AllRows() as rows:
            for rpc in RECEIPT_RPCS:
                m = q.take(rpc.lower(), LONG_MS)
                rows.check(
                    f"DequeueWithTimeout right after the failed {rpc}: (id, delivery_count)",
                    (m.message_id, m.delivery_count) if m else None,
                    (sent[rpc], 2),
                )
                succeeds(f"Ack of the redelivery after the failed {rpc}", lambda: q.ack(rpc.lower(), m.receipt))
                rows.check(f"Dequeue after acking the redelivery ({rpc})", q.dequeue(rpc.lower()), None)

    def test_receipts_of_an_earlier_delivery(self, q, capabilities):
        """After the message was redelivered to another consumer, the first delivery's receipt
        is FAILED_PRECONDITION on Ack, ExtendVisibility and Release and leaves the new delivery
        alone: its own Ack still works, its 300 ms timeout is not extended, it stays hidden."""
        tol, first_ms, second_ms = capabilities.timing_tolerance_ms, 150, 300
        sent = {rpc: q.enqueue(rpc.lower(), rpc.encode()) for rpc in RECEIPT_RPCS}
        old = {rpc: q.take(rpc.lower(), first_ms) for rpc in RECEIPT_RPCS}
        new, since = {}, {}
        with AllRows() as rows:
            for rpc in RECEIPT_RPCS:
                ms = second_ms if rpc == "ExtendVisibility" else LONG_MS
                (new[rpc], _), _ = watch(q, rpc.lower(), ms, time.monotonic(), 0, (first_ms + tol) / 1000 + POLL_MARGIN_S)
                since[rpc] = time.monotonic()
                assert new[rpc] is not None, f"DequeueWithTimeout({rpc.lower()!r}): not redelivered after its {first_ms} ms timeout"
                rows.check(
                    f"redelivery on {rpc.lower()!r}: (id, delivery_count)", (new[rpc].message_id, new[rpc].delivery_count), (sent[rpc], 2)
                )
        for rpc in RECEIPT_RPCS:
            expect_status(
                f"{rpc} with the receipt of the delivery before the current one",
                grpc.StatusCode.FAILED_PRECONDITION,
                lambda: with_receipt(q, rpc, old[rpc].receipt),
            )
        # Release through the old receipt must not have made the current delivery visible.
        check("DequeueWithTimeout('release') after the failed Release (current delivery hidden)", q.take("release", LONG_MS), None)
        succeeds("Release with the current receipt", lambda: q.release("release", new["Release"].receipt))
        again = q.take("release", LONG_MS)
        check("DequeueWithTimeout after the current Release: delivery_count", again.delivery_count if again else None, 3)
        # Ack through the old receipt must not have acked the current delivery.
        succeeds("Ack with the current receipt after the failed Ack", lambda: q.ack("ack", new["Ack"].receipt))
        check("Dequeue after acking the current delivery", q.dequeue("ack"), None)
        # ExtendVisibility through the old receipt must not have extended the current delivery.
        (back, _), _ = watch(q, "extendvisibility", LONG_MS, since["ExtendVisibility"], 0, (second_ms + tol) / 1000 + POLL_MARGIN_S)
        check(
            f"redelivery after the current delivery's own {second_ms} ms timeout: delivery_count",
            back.delivery_count if back else "not redelivered",
            3,
        )
        expect_status("Ack with a receipt on another queue", grpc.StatusCode.FAILED_PRECONDITION, lambda: q.ack("other", back.receipt))
        succeeds("Ack of that redelivery", lambda: q.ack("extendvisibility", back.receipt))

    def test_concurrent_producers_then_acking_consumers(self, plugin, namespace):
        """4 producer threads enqueue 25 messages each at once; 4 competing consumers take and
        ack until empty: every payload acked exactly once (lost, duplicated named), each
        consumer's share of each producer's messages in that producer's order."""
        payloads, _ = produce_concurrently(plugin.channel, namespace, "q", 4, 25)
        shares: list[list[bytes]] = [[] for _ in range(4)]

        def consume(c: int) -> None:
            ops = QueueOps(plugin.channel, namespace)
            while (m := ops.take("q", LONG_MS)) is not None:
                ops.ack("q", m.receipt)
                shares[c].append(m.payload)

        check("consumer errors", in_threads(4, consume), [])
        audit_producers("acks of 4 competing consumers after 4 concurrent producers of 25", payloads, shares)
        check("DequeueWithTimeout after the consumers finished", QueueOps(plugin.channel, namespace).take("q", LONG_MS), None)

    def test_competing_consumers_that_crash(self, plugin, namespace, capabilities):
        """4 consumer threads over 200 messages; each abandons (no ack) every 10th message on its
        first delivery: those come back once, after 500 ms, and every message is acked once (500 ms,
        not less: the other messages must be acked within it on a loaded machine)."""
        producer = QueueOps(plugin.channel, namespace)
        sent = [producer.enqueue("q", f"m{i}".encode()) for i in range(200)]
        abandoned = set(sent[::10])
        shares: list[list[str]] = [[] for _ in range(4)]
        acked: list[list[str]] = [[] for _ in range(4)]
        errors: list[BaseException] = []
        deadline = time.monotonic() + 0.5 + capabilities.timing_tolerance_ms / 1000 + POLL_MARGIN_S + 5
        start = threading.Barrier(len(shares))

        def consume(share: list[str], acks: list[str]) -> None:
            ops = QueueOps(plugin.channel, namespace)
            try:
                start.wait(10)
                while time.monotonic() < deadline and sum(map(len, acked)) < len(sent):
                    m = ops.take("q", 500)
                    if m is None:
                        time.sleep(0.02)  # waiting for abandoned messages to time out
                        continue
                    share.append(m.message_id)
                    if m.message_id in abandoned and m.delivery_count == 1:
                        continue
                    ops.ack("q", m.receipt)
                    acks.append(m.message_id)
            except BaseException as e:  # noqa: BLE001 - reported by the main thread
                errors.append(e)

        threads = [threading.Thread(target=consume, args=pair) for pair in zip(shares, acked)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        check("consumer errors", [repr(e)[:200] for e in errors], [])
        audit("acks of 4 competing consumers over 200 messages", sent, acked, fifo=False)
        redelivered = sorted(m for m in set(x for s in shares for x in s) if sum(s.count(m) for s in shares) > 1)
        check("messages delivered twice (the abandoned ones, each exactly twice)", redelivered, sorted(abandoned))
        check("deliveries in all", sum(map(len, shares)), len(sent) + len(abandoned))

    def test_invalid_arguments(self, q):
        q.enqueue("q", b"v")
        for ms in (0, -1):
            expect_status(f"DequeueWithTimeout(visibility_timeout_ms={ms})", grpc.StatusCode.INVALID_ARGUMENT, lambda: q.take("q", ms))
        m = q.take("q", LONG_MS)
        expect_status("ExtendVisibility(visibility_timeout_ms=0)", grpc.StatusCode.INVALID_ARGUMENT, lambda: q.extend("q", m.receipt, 0))
        expect_status("Ack with an unknown receipt", grpc.StatusCode.FAILED_PRECONDITION, lambda: q.ack("q", "no-such-receipt"))
        expect_status("Ack with an empty receipt", grpc.StatusCode.INVALID_ARGUMENT, lambda: q.ack("q", ""))
        check("DequeueWithTimeout after the failed calls (still hidden)", q.take("q", LONG_MS), None)
