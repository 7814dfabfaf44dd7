"""Regressions against the previous run on the same machine, on recorded numbers: the repeats
of a real MemStore run and of the mutant that adds 2 ms per call (tests/mutants/broken_slow.py),
measured here on a 2-core machine shared with other work (README, "Performance")."""

from __future__ import annotations

import json

from prism_accept.perf import history
from prism_accept.perf.stats import Estimate, estimate

MACHINE = {"id": "m1", "description": "recorded"}

# per-repeat p50 ms, p99 ms, ops/s of `perf memstore --workload ...` (3 repeats of 1 s), then of
# the same with --plugin-module mutants.broken_slow_plugin
RECORDED = {
    "ycsb-a": (
        [0.539, 0.495, 0.443],
        [8.019, 8.239, 1.626],
        [1023, 1108, 1952],
        [3.333, 4.795, 5.687],
        [26.175, 21.503, 23.583],
        [179, 162, 147],
    ),
    "ycsb-c": (
        [0.423, 0.442, 0.495],
        [9.415, 13.231, 12.063],
        [954, 565, 665],
        [3.837, 7.767, 9.999],
        [19.119, 24.735, 21.551],
        [170, 114, 89],
    ),
    "list-push-pop": (
        [3.755, 0.772, 3.043],
        [15.551, 19.087, 25.215],
        [216, 442, 187],
        [8.463, 10.719, 15.215],
        [27.679, 28.015, 31.999],
        [102, 78, 66],
    ),
}


def entry(run_id: str, time: str, workload: str, p50: list[float], p99: list[float], tput: list[float], machine=MACHINE) -> dict:
    runs = [{"p50_ms": a, "p99_ms": b, "throughput": c} for a, b, c in zip(p50, p99, tput)]
    figures = {name: estimate([r[name] for r in runs]).as_dict() for name in ("p50_ms", "p99_ms", "throughput")}
    return {
        "run_id": run_id,
        "time": time,
        "machine": machine,
        "backend": "memstore",
        "workload": workload,
        "path": "plugin",
        "figures": figures,
        "runs": runs,
    }


def test_the_2ms_mutant_is_a_regression_of_every_recorded_workload():
    for workload, (p50, p99, tput, slow_p50, slow_p99, slow_tput) in RECORDED.items():
        before = entry("r1", "2026-12-07T00:30:00Z", workload, p50, p99, tput)
        after = entry("r2", "2026-12-07T00:31:00Z", workload, slow_p50, slow_p99, slow_tput)
        assert history.baseline([before, after], after) is before
        found = {r["figure"] for r in history.regressions(after, before)}
        assert "p50_ms" in found and "throughput" in found, (workload, found)


def test_the_same_numbers_again_are_no_regression():
    for workload, (p50, p99, tput, *_slow) in RECORDED.items():
        before = entry("r1", "2026-12-07T00:30:00Z", workload, p50, p99, tput)
        again = entry("r2", "2026-12-07T00:31:00Z", workload, list(reversed(p50)), p99, tput)
        assert history.regressions(again, before) == []


def test_a_faster_run_is_no_regression():
    p50, p99, tput, slow_p50, slow_p99, slow_tput = RECORDED["ycsb-a"]
    before = entry("r1", "2026-12-07T00:30:00Z", "ycsb-a", slow_p50, slow_p99, slow_tput)
    after = entry("r2", "2026-12-07T00:31:00Z", "ycsb-a", p50, p99, tput)
    assert history.regressions(after, before) == []


def test_a_small_shift_is_within_noise_even_when_significant():
    before = Estimate(1.00, 0.99, 1.01, 5)
    after = Estimate(1.10, 1.09, 1.11, 5)  # 10% slower, intervals apart: below MIN_CHANGE
    assert not history.worse("p50_ms", after, before, [1.1] * 5, [1.0] * 5)
    assert history.worse("p50_ms", Estimate(1.5, 1.49, 1.51, 5), before)


def test_overlapping_repeats_are_not_shifted():
    assert not history.shifted([1.0, 3.0, 5.0], [2.0, 4.0, 6.0], larger=True)
    assert history.shifted([5.0, 6.0, 7.0, 8.0, 9.0], [1.0, 2.0, 3.0, 4.0, 4.5], larger=True)


def test_the_baseline_is_the_latest_earlier_run_of_the_same_series_on_the_same_machine():
    old = entry("r1", "2026-12-01T00:00:00Z", "ycsb-a", [1.0, 1.0], [2.0, 2.0], [10, 10])
    newer = entry("r2", "2026-12-02T00:00:00Z", "ycsb-a", [1.0, 1.0], [2.0, 2.0], [10, 10])
    elsewhere = entry("r3", "2026-12-03T00:00:00Z", "ycsb-a", [9.0, 9.0], [9.0, 9.0], [1, 1], machine={"id": "m2", "description": "x"})
    other_workload = entry("r4", "2026-12-03T00:00:00Z", "ycsb-b", [1.0, 1.0], [2.0, 2.0], [10, 10])
    now = entry("r5", "2026-12-04T00:00:00Z", "ycsb-a", [1.0, 1.0], [2.0, 2.0], [10, 10])
    assert history.baseline([old, newer, elsewhere, other_workload, now], now) is newer
    assert history.baseline([now], now) is None


def test_history_appends_one_json_line_per_entry(tmp_path):
    path = tmp_path / "perf" / "history.jsonl"
    e = entry("r1", "2026-12-01T00:00:00Z", "ycsb-a", [1.0, 1.0], [2.0, 2.0], [10, 10])
    history.append(path, [e])
    history.append(path, [e])
    assert history.read(path) == [json.loads(json.dumps(e))] * 2


def test_the_machine_id_is_stable_and_names_no_host():
    import socket

    m = history.machine()
    assert m == history.machine()
    assert socket.gethostname() not in json.dumps(m)
