"""Delivery accounting, Jepsen total-queue style, for every suite that moves messages (queue,
pub/sub, stream): which ids were lost, duplicated, unexpected or reordered, named in the failure."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Iterable

SHOWN_IDS = 20  # ids listed per kind of anomaly in a failure message


def _ids(ids: Iterable[str]) -> str:
    ids = list(ids)
    shown = ", ".join(ids[:SHOWN_IDS])
    return f"[{shown}{f', ... {len(ids)} in all' if len(ids) > SHOWN_IDS else ''}]"


@dataclass
class Audit:
    lost: list[str]
    duplicated: list[str]
    unexpected: list[str]
    reordered: list[str]

    def anomalies(self, fifo: bool) -> list[str]:
        found = [f"lost={_ids(self.lost)}"] if self.lost else []
        found += [f"duplicated={_ids(self.duplicated)}"] if self.duplicated else []
        found += [f"unexpected={_ids(self.unexpected)}"] if self.unexpected else []
        found += [f"reordered={_ids(self.reordered)}"] if fifo and self.reordered else []
        return found


def account(sent: list[str], consumers: list[list[str]]) -> Audit:
    """Total-queue accounting: `sent` in the order the queue promises to hand them out; each
    consumer's deliveries in the order it got them. A consumer's own deliveries must follow
    the promised order (any message it got was the head when it asked)."""
    position = {m: i for i, m in enumerate(sent)}
    counts = Counter(m for c in consumers for m in c)
    reordered = []
    for deliveries in consumers:
        last = -1
        for m in deliveries:
            if m in position:
                if position[m] < last:
                    reordered.append(m)
                last = max(last, position[m])
    return Audit(
        lost=[m for m in sent if counts[m] == 0],
        duplicated=sorted(m for m, n in counts.items() if n > 1),
        unexpected=sorted(m for m in counts if m not in position),
        reordered=reordered,
    )


def audit(operation: str, sent: list[str], consumers: list[list[str]], fifo: bool = True) -> Audit:
    """Fail naming every lost, duplicated, unexpected (and, with fifo, reordered) message id."""
    result = account(sent, consumers)
    anomalies = result.anomalies(fifo)
    received = sum(len(c) for c in consumers)
    if anomalies:
        raise AssertionError(f"{operation}: {'; '.join(anomalies)} ({len(sent)} sent, {received} delivered)")
    return result
