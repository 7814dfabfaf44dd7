"""The cells of keyvalue and list fail against the broken plugins whose bug they must catch."""

from __future__ import annotations

import pytest

from mutants.cell_run import assert_caught, mutants_of


@pytest.mark.parametrize("mutant", mutants_of("keyvalue_and_list"))
def test_the_cell_fails_on_the_broken_plugin(mutant, tmp_path):
    assert_caught(mutant, tmp_path)
