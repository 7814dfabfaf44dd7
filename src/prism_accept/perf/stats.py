"""Figures of one measurement (an HdrHistogram of latencies) and of its repeats (a Student-t
confidence interval over the per-repeat figures), so noise is reported, never hidden."""

from __future__ import annotations

import math
import statistics
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Sequence

if TYPE_CHECKING:
    from hdrh.histogram import HdrHistogram  # type: ignore[import]

LOWEST_US, HIGHEST_US, DIGITS = 1, 60_000_000, 3  # 1 us .. 60 s, 3 significant digits
PERCENTILES = (50.0, 95.0, 99.0)
CONFIDENCE = 0.95
# Points of the latency distribution kept for the plots (HdrHistogram's percentile spectrum).
SPECTRUM = (0.0, 10.0, 25.0, 50.0, 75.0, 90.0, 95.0, 99.0, 99.5, 99.9, 99.99, 100.0)


def histogram() -> "HdrHistogram":
    from hdrh.histogram import HdrHistogram  # type: ignore[import]  # lazily: the reports read figures without it

    return HdrHistogram(LOWEST_US, HIGHEST_US, DIGITS)


def record_us(h: "HdrHistogram", seconds: float) -> None:
    h.record_value(min(HIGHEST_US, max(LOWEST_US, int(round(seconds * 1e6)))))


@dataclass(frozen=True)
class Run:
    """One repeat: latency percentiles (ms), throughput (ops/s) and the plugin's CPU per op."""

    ops: int
    seconds: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    throughput: float
    cpu_us_per_op: float | None = None
    spectrum: tuple[tuple[float, float], ...] = ()  # (percentile, ms)

    def as_dict(self) -> dict:
        return asdict(self)


def run_of(h: "HdrHistogram", ops: int, seconds: float, cpu_s: float | None = None) -> Run:
    def ms(p: float) -> float:
        return h.get_value_at_percentile(p) / 1000.0

    return Run(
        ops=ops,
        seconds=seconds,
        p50_ms=ms(50.0),
        p95_ms=ms(95.0),
        p99_ms=ms(99.0),
        max_ms=h.get_max_value() / 1000.0,
        throughput=ops / seconds if seconds > 0 else 0.0,
        cpu_us_per_op=None if cpu_s is None or ops == 0 else cpu_s * 1e6 / ops,
        spectrum=tuple((p, ms(p)) for p in SPECTRUM) if h.get_total_count() else (),
    )


@dataclass(frozen=True)
class Estimate:
    """The mean of the repeats and its two-sided confidence interval (Student's t)."""

    mean: float
    low: float
    high: float
    n: int

    @property
    def half_width(self) -> float:
        return (self.high - self.low) / 2

    def as_dict(self) -> dict:
        return {"mean": self.mean, "low": self.low, "high": self.high, "n": self.n}

    @classmethod
    def from_dict(cls, d: dict) -> "Estimate":
        return cls(mean=d["mean"], low=d["low"], high=d["high"], n=d["n"])


def t_quantile(confidence: float, dof: int) -> float:
    from scipy.stats import t

    return float(t.ppf(0.5 + confidence / 2, dof))


def estimate(values: Sequence[float], confidence: float = CONFIDENCE) -> Estimate:
    """One repeat has no spread to measure: its interval is unbounded (inconclusive)."""
    if not values:
        raise ValueError("no values to estimate from")
    mean = statistics.fmean(values)
    if len(values) < 2:
        return Estimate(mean, -math.inf, math.inf, len(values))
    half = t_quantile(confidence, len(values) - 1) * statistics.stdev(values) / math.sqrt(len(values))
    return Estimate(mean, mean - half, mean + half, len(values))


FIGURES = ("p50_ms", "p95_ms", "p99_ms", "max_ms", "throughput", "cpu_us_per_op")


def summarize(runs: Sequence[Run]) -> dict[str, Estimate]:
    """Each figure over the repeats (a figure no repeat has, e.g. CPU of a direct client, is left out)."""
    out = {}
    for name in FIGURES:
        values = [getattr(r, name) for r in runs if getattr(r, name) is not None]
        if values:
            out[name] = estimate(values)
    return out


def ratio(plugin: float, direct: float) -> float | None:
    """The plugin's figure over the direct client's (latency: >1 is the plugin's overhead)."""
    return plugin / direct if direct > 0 else None
