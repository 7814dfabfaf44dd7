"""The cells of timeseries and graph fail against the broken plugins whose bug they must catch;
graph_query's cell also against a SQLite plugin whose sandbox is broken (broken_sqlite.py),
whose case passes against the real plugin."""

from __future__ import annotations

import re

import pytest

from mutants.broken_sqlite import SQLITE_MUTANTS
from mutants.cell_run import assert_caught, mutants_of, run_cell, summary_of


@pytest.mark.parametrize("mutant", mutants_of("timeseries_and_graph"))
def test_the_cell_fails_on_the_broken_plugin(mutant, tmp_path):
    assert_caught(mutant, tmp_path)


@pytest.mark.parametrize("mutant", sorted(SQLITE_MUTANTS))
def test_the_cell_fails_on_the_broken_sqlite_plugin(mutant, tmp_path):
    cell, case, _ = SQLITE_MUTANTS[mutant]
    broken = run_cell(mutant, cell, tmp_path / "broken", "-k", case, backend="sqlite", module="mutants.broken_sqlite")
    assert re.search(r"\b1 failed\b", summary_of(broken)) and "error" not in summary_of(
        broken
    ), f"{cell} -k {case} against the '{mutant}' plugin: got {summary_of(broken)!r}, want 1 failed\n{broken.stdout[-3000:]}"
    real = run_cell(mutant, cell, tmp_path / "real", "-k", case, backend="sqlite", module="prism_sqlite")
    assert re.search(
        r"\b1 passed\b", summary_of(real)
    ), f"{cell} -k {case} against the real sqlite plugin: got {summary_of(real)!r}, want 1 passed\n{real.stdout[-3000:]}"
