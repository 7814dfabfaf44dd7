"""SLO verdicts from a confidence interval: meets only when the whole interval is on the good
side of the target, misses only when it is all on the bad side, inconclusive otherwise."""

from __future__ import annotations

from dataclasses import dataclass

from prism_accept.perf.stats import Estimate

MEETS, MISSES, INCONCLUSIVE = "meets", "misses", "inconclusive"


@dataclass(frozen=True)
class Objective:
    """An interface's `slo:` in a registry file (either field may be absent)."""

    p99_ms: float | None = None
    throughput_ops: float | None = None

    @classmethod
    def from_declaration(cls, slo: dict) -> "Objective":
        return cls(p99_ms=slo.get("p99_ms"), throughput_ops=slo.get("throughput_ops"))


# RFC-015's example numbers, the documented default a backend may declare.
RFC_015 = Objective(p99_ms=5.0, throughput_ops=10_000.0)


def latency_verdict(p99: Estimate, target_ms: float) -> str:
    if p99.high < target_ms:
        return MEETS
    if p99.low > target_ms:
        return MISSES
    return INCONCLUSIVE


def throughput_verdict(throughput: Estimate, target_ops: float) -> str:
    if throughput.low > target_ops:
        return MEETS
    if throughput.high < target_ops:
        return MISSES
    return INCONCLUSIVE


def verdicts(figures: dict[str, Estimate], objective: Objective) -> dict[str, dict]:
    """{"p99_ms": {"target", "verdict"}, "throughput_ops": {...}} for the objective's fields."""
    out = {}
    if objective.p99_ms is not None and "p99_ms" in figures:
        out["p99_ms"] = {"target": objective.p99_ms, "verdict": latency_verdict(figures["p99_ms"], objective.p99_ms)}
    if objective.throughput_ops is not None and "throughput" in figures:
        out["throughput_ops"] = {
            "target": objective.throughput_ops,
            "verdict": throughput_verdict(figures["throughput"], objective.throughput_ops),
        }
    return out
