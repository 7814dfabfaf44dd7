"""The two ways a workload is driven. Closed loop (YCSB): one client, the next operation when
the last one answered, each operation's latency recorded. Fixed rate (OpenMessaging Benchmark):
messages sent on a schedule, each latency measured from the moment it was *due*, not from when
it was sent, so a stall of the sender counts for every message it delayed (coordinated-omission
correction)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from prism_accept.perf.stats import histogram, record_us

if TYPE_CHECKING:
    from hdrh.histogram import HdrHistogram  # type: ignore[import]


@dataclass
class Sample:
    """What one repeat of a workload measured."""

    histogram: "HdrHistogram"
    ops: int
    seconds: float
    note: str = ""  # e.g. "987 of 1000 delivered"


def closed_loop(op: Callable[[], None], duration_s: float) -> Sample:
    h = histogram()
    ops = 0
    start = time.perf_counter()
    end = start + duration_s
    now = start
    while now < end:
        op()
        after = time.perf_counter()
        record_us(h, after - now)
        ops += 1
        now = after
    return Sample(h, ops, now - start)


def schedule(rate: float, duration_s: float) -> list[float]:
    """The due times (seconds from the start) of a fixed-rate run."""
    return [i / rate for i in range(max(1, int(rate * duration_s)))]


def fixed_rate_end_to_end(
    send: Callable[[int], None],
    delivered: Callable[[Callable[[int], None]], None],
    rate: float,
    duration_s: float,
    drain_s: float = 2.0,
) -> Sample:
    """Send message i (send(i)) at its due time; `delivered(on_delivery)` runs on a thread of its
    own and calls on_delivery(i) for each message i that arrives. Latency = arrival - due time."""
    due = schedule(rate, duration_s)
    arrived = [0.0] * len(due)
    got = threading.Event()
    count = [0]
    lock = threading.Lock()

    def on_delivery(i: int) -> None:
        if 0 <= i < len(due) and not arrived[i]:
            arrived[i] = time.perf_counter()
            with lock:
                count[0] += 1
                if count[0] == len(due):
                    got.set()

    reader = threading.Thread(target=delivered, args=(on_delivery,), name="perf-consumer", daemon=True)
    reader.start()
    start = time.perf_counter()
    for i, at in enumerate(due):
        wait = start + at - time.perf_counter()
        if wait > 0:
            time.sleep(wait)  # pacing to the schedule, not waiting for a condition
        send(i)
    got.wait(drain_s)
    h = histogram()
    for i, at in enumerate(due):
        if arrived[i]:
            record_us(h, arrived[i] - (start + at))
    last = max(arrived) if count[0] else time.perf_counter()
    note = "" if count[0] == len(due) else f"{count[0]} of {len(due)} delivered within {drain_s:.0f} s"
    return Sample(h, count[0], max(last - start, due[-1]), note)


def competing_consumers(take: Callable[[], bool], consumers: int, total: int, deadline_s: float) -> Sample:
    """`consumers` threads call take() (one dequeue + ack; False when the queue was empty) until
    `total` messages were taken or the deadline passed; the latency of each successful take."""
    h = histogram()
    lock = threading.Lock()
    taken = [0]
    start = time.perf_counter()
    end = start + deadline_s

    def worker() -> None:
        while time.perf_counter() < end:
            with lock:
                if taken[0] >= total:
                    return
            t0 = time.perf_counter()
            if take():
                t1 = time.perf_counter()
                with lock:
                    taken[0] += 1
                    record_us(h, t1 - t0)

    threads = [threading.Thread(target=worker, name=f"perf-consumer-{n}", daemon=True) for n in range(consumers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(max(0.0, end - time.perf_counter()) + 1.0)
    seconds = time.perf_counter() - start
    note = "" if taken[0] >= total else f"{taken[0]} of {total} taken before the deadline"
    return Sample(h, taken[0], seconds, note)
