"""The perf statistics, SLO verdicts and zipfian key chooser, on fixed inputs (no timing)."""

import collections
import math
import random

import pytest

from prism_accept.perf import slo
from prism_accept.perf.measure import schedule
from prism_accept.perf.stats import Estimate, estimate, histogram, record_us, run_of, summarize
from prism_accept.perf.zipfian import ScrambledZipfian, Zipfian, fnv1a_64


def test_estimate_is_the_t_interval_of_the_mean():
    e = estimate([1.0, 2.0, 3.0])
    # mean 2, s = 1, t(0.975, 2) = 4.303, half-width = 4.303 / sqrt(3) = 2.484
    assert e.mean == pytest.approx(2.0)
    assert e.high - e.mean == pytest.approx(2.4841, abs=1e-3)
    assert e.mean - e.low == pytest.approx(2.4841, abs=1e-3)


def test_one_repeat_has_an_unbounded_interval():
    e = estimate([5.0])
    assert (e.low, e.high) == (-math.inf, math.inf)


def test_run_of_reads_percentiles_from_the_histogram():
    h = histogram()
    for us in range(1, 1001):  # 1 us .. 1000 us
        record_us(h, us / 1e6)
    run = run_of(h, ops=1000, seconds=2.0, cpu_s=0.5)
    assert run.p50_ms == pytest.approx(0.5, rel=0.01)
    assert run.p99_ms == pytest.approx(0.99, rel=0.01)
    assert run.max_ms == pytest.approx(1.0, rel=0.01)
    assert run.throughput == 500.0
    assert run.cpu_us_per_op == pytest.approx(500.0)
    assert run.spectrum[-1][0] == 100.0


def test_summarize_leaves_out_a_figure_no_repeat_has():
    h = histogram()
    record_us(h, 0.001)
    figures = summarize([run_of(h, 1, 1.0), run_of(h, 1, 1.0)])
    assert "cpu_us_per_op" not in figures and figures["p99_ms"].mean == pytest.approx(1.0, rel=0.01)


@pytest.mark.parametrize(
    "low, high, want",
    [(1.0, 4.9, slo.MEETS), (5.1, 9.0, slo.MISSES), (4.0, 6.0, slo.INCONCLUSIVE), (-math.inf, math.inf, slo.INCONCLUSIVE)],
)
def test_latency_verdict_needs_the_whole_interval_on_one_side(low, high, want):
    assert slo.latency_verdict(Estimate((low + high) / 2 if math.isfinite(low) else 3.0, low, high, 3), 5.0) == want


@pytest.mark.parametrize("low, high, want", [(11_000, 12_000, slo.MEETS), (8_000, 9_000, slo.MISSES), (9_000, 11_000, slo.INCONCLUSIVE)])
def test_throughput_verdict(low, high, want):
    assert slo.throughput_verdict(Estimate((low + high) / 2, low, high, 3), 10_000) == want


def test_verdicts_judge_only_declared_fields():
    figures = {"p99_ms": Estimate(2.0, 1.0, 3.0, 3), "throughput": Estimate(500.0, 400.0, 600.0, 3)}
    got = slo.verdicts(figures, slo.Objective(p99_ms=5.0))
    assert got == {"p99_ms": {"target": 5.0, "verdict": slo.MEETS}}
    assert slo.verdicts(figures, slo.RFC_015)["throughput_ops"]["verdict"] == slo.MISSES


def test_zipfian_favours_low_items_like_ycsb():
    z = Zipfian(1000, rng=random.Random(7))
    counts = collections.Counter(z.next() for _ in range(20_000))
    assert all(0 <= i < 1000 for i in counts)
    # P(0) = 1 / zeta(1000, 0.99) ~ 0.134 for YCSB's constant
    assert counts[0] / 20_000 == pytest.approx(1 / z.zetan, abs=0.01)
    assert counts[0] > counts[1] > counts[10] > counts[500]


def test_scrambled_zipfian_spreads_the_hot_keys():
    z = ScrambledZipfian(1000, rng=random.Random(7))
    hot = collections.Counter(z.next() for _ in range(20_000)).most_common(1)[0][0]
    assert hot == fnv1a_64(0) % 1000 != 0


def test_fnv1a_64_of_zero_matches_the_reference():
    # FNV-1a 64 over eight zero bytes (the reference algorithm, by hand)
    h = 0xCBF29CE484222325
    for _ in range(8):
        h = (h * 0x100000001B3) % (1 << 64)
    assert fnv1a_64(0) == h


def test_schedule_is_evenly_spaced():
    assert schedule(4.0, 1.0) == [0.0, 0.25, 0.5, 0.75]
