"""How many interfaces at least two independent real engines pass: a suite only one engine
passes may encode that engine's quirks rather than the contract. Each cell records the engine it
exercised (the registry's `engine:`, the backend's name by default); backends of the same engine
count once (a server's versions and forks are its variants), the in-memory reference
(`reference`) and a server that only emulates another engine's protocol do not count."""

from __future__ import annotations

from dataclasses import dataclass

REFERENCE = "reference"
PASSING = ("pass", "deviation")
GOAL = 2


def counts(engine: str) -> bool:
    return bool(engine) and engine != REFERENCE and not engine.endswith(" emulation")


@dataclass(frozen=True)
class EngineCoverage:
    engines: dict[str, list[str]]  # interface (catalog order) -> the real engines passing it

    @property
    def covered(self) -> list[str]:
        return [i for i, e in self.engines.items() if len(e) >= GOAL]

    @property
    def short(self) -> dict[str, list[str]]:
        return {i: e for i, e in self.engines.items() if len(e) < GOAL}

    def line(self) -> str:
        short = self.short
        text = f"{len(self.covered)}/{len(self.engines)} interfaces passed by >= {GOAL} independent real engines"
        if short:
            text += " (short: " + ", ".join(f"{i} {'+'.join(e) or 'none'}" for i, e in short.items()) + ")"
        return text


def engine_coverage(matrix) -> EngineCoverage:
    """From every column's interface cells that PASS (or PASS* with declared reasons)."""
    engines: dict[str, set[str]] = {i: set() for i in matrix.models}
    for column in matrix.cells:
        for interface, r in matrix.interfaces(column).items():
            if r.status in PASSING and counts(r.engine):
                engines.setdefault(interface, set()).add(r.engine)
    return EngineCoverage({i: sorted(e) for i, e in engines.items()})
