"""A table case checks every row and fails once, listing each failing row; a row declared as a
known deviation must fail (strictly), and the others must still pass."""

import pytest

from prism_accept.suites.rows import AllRows, expect_rows, unchecked_rows


def run(table: dict[str, tuple[int, int]]) -> None:
    with AllRows() as rows:
        for operation, (got, want) in table.items():
            rows.check(operation, got, want)


def test_every_failing_row_is_listed_once():
    expect_rows({})
    with pytest.raises(AssertionError) as failure:
        run({"a": (1, 2), "b": (2, 2), "c": (3, 4)})
    text = str(failure.value)
    assert text.startswith("2 of 3 rows failed:") and "a: got 1, want 2" in text and "c: got 3, want 4" in text and "b:" not in text


def test_a_passing_table_passes():
    expect_rows({})
    run({"a": (1, 1), "b": (2, 2)})
    assert unchecked_rows() == []


def test_a_known_row_that_fails_is_an_expected_failure():
    expect_rows({"c": "declared in x.yaml: why"})
    with pytest.raises(pytest.xfail.Exception, match="known deviation: c: declared in x.yaml: why"):
        run({"a": (1, 1), "c": (3, 4)})


def test_a_known_row_that_passes_fails_and_other_failures_still_count():
    expect_rows({"b": "why"})
    with pytest.raises(AssertionError) as failure:
        run({"a": (1, 2), "b": (2, 2)})
    assert "a: got 1, want 2" in str(failure.value) and "b: passed, but the registry file declares it a known deviation" in str(
        failure.value
    )


def test_a_known_row_never_checked_is_reported():
    expect_rows({"z": "why"})
    run({"a": (1, 1)})
    assert unchecked_rows() == ["z"]


def test_a_row_that_is_not_an_equality_says_its_own_problem():
    expect_rows({"Get with an empty namespace": "why"})
    with pytest.raises(pytest.xfail.Exception, match="Get with an empty namespace: why"):
        with AllRows() as rows:
            rows.require("Set with an empty namespace", "INVALID_ARGUMENT" in {"INVALID_ARGUMENT", "OUT_OF_RANGE"}, "never said")
            rows.require("Get with an empty namespace", False, "got OK, want one of ['INVALID_ARGUMENT']")
    expect_rows({})
    with pytest.raises(AssertionError, match=r"1 of 1 rows failed:\nGet: got OK, want one of \['INVALID_ARGUMENT'\]"):
        with AllRows() as rows:
            rows.require("Get", False, "got OK, want one of ['INVALID_ARGUMENT']")
