"""Plausible bugs of a sorted set store (issue 13's classes), each a small change to MemStore: the
sorted set suites must catch each one. The older ones are in broken_stores.py."""

from __future__ import annotations

from typing import Callable

MUTANTS: dict[str, tuple[str, Callable[[], None]]] = {}
