"""SQL functions the plugin registers on its connections: sums and means of doubles that are
exact where SQLite's sum() is not (its running double sum overflows to Inf where the sum does
not: 1.5e308 + 1.5e308 - 1.5e308). NULLs are skipped, as sum() and avg() skip them."""

from __future__ import annotations

import math
import sqlite3
from fractions import Fraction


class ExactSum:
    """The values' sum rounded once (fsum), exact where a partial sum overflows; Inf beyond a
    double (the contracts answer OUT_OF_RANGE). NULL when every value is NULL."""

    def __init__(self) -> None:
        self.values: list[float] = []

    def step(self, value: float | None) -> None:
        if value is not None:
            self.values.append(float(value))

    def total(self) -> Fraction | float:
        try:
            return math.fsum(self.values)
        except OverflowError:
            return sum(map(Fraction, self.values))

    def finalize(self) -> float | None:
        return rounded(self.total()) if self.values else None


class ExactAvg(ExactSum):
    def finalize(self) -> float | None:
        return rounded(self.total() / len(self.values)) if self.values else None


def rounded(value: Fraction | float) -> float:
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf


def register(conn: sqlite3.Connection) -> None:
    conn.create_aggregate("prism_exact_sum", 1, ExactSum)  # type: ignore[arg-type]
    conn.create_aggregate("prism_exact_avg", 1, ExactAvg)  # type: ignore[arg-type]
