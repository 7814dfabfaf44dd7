"""The chaos and replicas cells fail against plugins that break under faults or with several
processes (broken_faults.py): each mutant's case fails, and the same case passes against the
real plugin, so the failure is the mutant's."""

from __future__ import annotations

import re

import pytest

from mutants.broken_faults import FAULT_MUTANTS
from mutants.cell_run import run_cell, summary_of


@pytest.mark.parametrize("mutant", sorted(FAULT_MUTANTS))
def test_the_fault_cell_fails_against_the_mutant(mutant, tmp_path):
    backend, cell, case, _ = FAULT_MUTANTS[mutant]
    broken = run_cell(mutant, cell, tmp_path / "broken", "-k", case, backend=backend, module="mutants.broken_faults")
    summary = summary_of(broken)
    if re.search(r"\bskipped\b", summary) and not re.search(r"\b(passed|failed)\b", summary):
        pytest.skip(f"{cell} on {backend}: no instance here ({summary})")
    assert (
        re.search(r"\b1 failed\b", summary) and "error" not in summary
    ), f"{cell} -k {case} against the '{mutant}' plugin: got {summary!r}, want 1 failed\n{broken.stdout[-3000:]}"
    real = run_cell(mutant, cell, tmp_path / "real", "-k", case, backend=backend, module=f"prism_{backend}")
    assert re.search(
        r"\b1 passed\b", summary_of(real)
    ), f"{cell} -k {case} against the real {backend} plugin: got {summary_of(real)!r}, want 1 passed\n{real.stdout[-3000:]}"
