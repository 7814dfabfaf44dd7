"""The history of perf runs (dist/perf/history.jsonl, one JSON object per backend x workload x
path per run) and regressions: a result worse than the previous baseline of the same backend,
workload and path on the same machine, beyond both intervals' noise.

A machine is named by a digest of what makes its numbers comparable (CPU model, cores, memory,
kernel, machine id), never by its host name."""

from __future__ import annotations

import hashlib
import json
import os
import platform
from pathlib import Path
from typing import Iterable, Iterator, Sequence

from prism_accept.perf.stats import Estimate

# A change smaller than this (relative) is never called a regression, even when the intervals
# do not overlap: three short repeats on a shared machine give narrow but wandering intervals.
MIN_CHANGE = 0.25
LATENCY_FIGURES = ("p50_ms", "p99_ms")
THROUGHPUT_FIGURE = "throughput"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_gib() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return 0.0


def machine() -> dict[str, str]:
    """{"id", "description"}: the id is stable across runs on one machine and differs between machines."""
    cores = os.cpu_count() or 0
    description = (
        f"{_cpu_model()}, {cores} cores, {_memory_gib()} GiB, {platform.system()} {platform.release()}, Python {platform.python_version()}"
    )
    try:
        machine_id = Path("/etc/machine-id").read_text().strip()
    except OSError:
        machine_id = ""
    digest = hashlib.sha256(f"{description}|{machine_id}".encode()).hexdigest()[:16]
    return {"id": digest, "description": description}


def read(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def append(path: Path, entries: Iterable[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as f:
        for entry in entries:
            f.write(json.dumps(entry, sort_keys=True) + "\n")


def series_key(entry: dict) -> tuple[str, str, str, str]:
    return (entry["machine"]["id"], entry["backend"], entry["workload"], entry["path"])


def baseline(history: list[dict], entry: dict) -> dict | None:
    """The latest earlier entry of the same machine, backend, workload and path (another run)."""
    key = series_key(entry)
    earlier = [e for e in history if series_key(e) == key and e["run_id"] != entry["run_id"] and e["time"] <= entry["time"]]
    return max(earlier, key=lambda e: e["time"]) if earlier else None


ALPHA = 0.05  # of the one-sided Mann-Whitney U test over the repeats


def shifted(now: list[float], before: list[float], larger: bool) -> bool:
    """Whether the repeats of `now` are stochastically larger (or smaller) than those of
    `before` (one-sided Mann-Whitney U, exact): robust to the one-sided noise of a shared
    machine, where another process only ever makes a repeat slower. 5 vs 5 repeats all on one
    side give p = 0.004; 3 vs 3, p = 0.05."""
    if len(now) < 2 or len(before) < 2:
        return False
    from scipy.stats import mannwhitneyu

    return float(mannwhitneyu(now, before, alternative="greater" if larger else "less", method="exact").pvalue) <= ALPHA


def worse(
    figure: str,
    now: Estimate,
    before: Estimate,
    now_runs: Sequence[float] = (),
    before_runs: Sequence[float] = (),
    min_change: float = MIN_CHANGE,
) -> bool:
    """Worse beyond noise, in the bad direction, by at least min_change (relative): the
    confidence intervals do not overlap, or the repeats are shifted (Mann-Whitney)."""
    if figure == THROUGHPUT_FIGURE:
        big = now.mean < before.mean / (1 + min_change)
        return big and (now.high < before.low or shifted(list(now_runs), list(before_runs), larger=False))
    big = now.mean > before.mean * (1 + min_change)
    return big and (now.low > before.high or shifted(list(now_runs), list(before_runs), larger=True))


def regressions(entry: dict, before: dict | None) -> list[dict]:
    """The figures of `entry` that regressed against `before`: [{"figure", "now", "before", "change"}]."""
    if before is None:
        return []
    found = []
    for figure in (*LATENCY_FIGURES, THROUGHPUT_FIGURE):
        if figure not in entry["figures"] or figure not in before["figures"]:
            continue
        now, was = Estimate.from_dict(entry["figures"][figure]), Estimate.from_dict(before["figures"][figure])
        now_runs = [r[figure] for r in entry.get("runs", []) if r.get(figure) is not None]
        was_runs = [r[figure] for r in before.get("runs", []) if r.get(figure) is not None]
        if worse(figure, now, was, now_runs, was_runs):
            change = now.mean / was.mean - 1 if was.mean else float("inf")
            found.append({"figure": figure, "now": now.mean, "before": was.mean, "change": change, "baseline_run": before["run_id"]})
    return found


def trend(history: list[dict], entry: dict, figure: str = "p99_ms") -> Iterator[tuple[str, float]]:
    """(time, mean) of one figure over every run of the entry's series, oldest first."""
    key = series_key(entry)
    for e in sorted((e for e in history if series_key(e) == key), key=lambda e: e["time"]):
        if figure in e["figures"]:
            yield e["time"], e["figures"][figure]["mean"]
