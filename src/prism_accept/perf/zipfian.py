"""YCSB's key chooser: the Zipfian generator of Gray et al. ("Quickly generating billion-record
synthetic databases", SIGMOD 1994), as YCSB's ZipfianGenerator, scrambled by an FNV-1a hash
(ScrambledZipfianGenerator) so the popular keys are spread over the key space, not clustered
at its start. Constant 0.99, YCSB's default."""

from __future__ import annotations

import random

ZIPFIAN_CONSTANT = 0.99
FNV_OFFSET_64 = 0xCBF29CE484222325
FNV_PRIME_64 = 0x100000001B3


def zeta(n: int, theta: float) -> float:
    return sum(1.0 / (i**theta) for i in range(1, n + 1))


def fnv1a_64(value: int) -> int:
    """YCSB's Utils.fnvhash64 of a long: FNV-1a over its 8 bytes, little end first."""
    h = FNV_OFFSET_64
    for _ in range(8):
        h ^= value & 0xFF
        h = (h * FNV_PRIME_64) & 0xFFFFFFFFFFFFFFFF
        value >>= 8
    return h


class Zipfian:
    """Item numbers in [0, items): item 0 the most popular, P(i) proportional to 1/(i+1)^theta."""

    def __init__(self, items: int, theta: float = ZIPFIAN_CONSTANT, rng: random.Random | None = None):
        if items < 2:
            raise ValueError("a Zipfian distribution needs at least 2 items")
        self.items, self.theta = items, theta
        self.rng = rng or random.Random(0)
        self.zetan = zeta(items, theta)
        zeta2 = zeta(2, theta)
        self.alpha = 1.0 / (1.0 - theta)
        self.eta = (1 - (2.0 / items) ** (1 - theta)) / (1 - zeta2 / self.zetan)

    def next(self) -> int:
        u = self.rng.random()
        uz = u * self.zetan
        if uz < 1.0:
            return 0
        if uz < 1.0 + 0.5**self.theta:
            return 1
        return min(self.items - 1, int(self.items * (self.eta * u - self.eta + 1) ** self.alpha))


class ScrambledZipfian(Zipfian):
    """The Zipfian popularity, but the popular items are scattered over [0, items)."""

    def next(self) -> int:
        return fnv1a_64(super().next()) % self.items
