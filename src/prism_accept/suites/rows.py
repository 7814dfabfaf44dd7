"""Tables checked in one case: every row's check runs, and the case fails once at its end,
listing every failing row, so the first bad row no longer hides the rest.

A row is named by its operation (the text its failure starts with, e.g. `GetRange(-100, 1)`),
and a backend may declare one row of a case as a known deviation (`deviations:` with `row:` in
its registry file): that row must fail, as a strict expected failure, and the case's other rows
must pass. The cell runtime says which rows are known before each case (`expect_rows`) and asks
afterwards whether each was checked (`unchecked_rows`)."""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

import pytest

from prism_accept.suites.base import describe

_known: ContextVar[dict[str, str]] = ContextVar("known_rows", default={})  # row -> reason
_checked: ContextVar[set[str]] = ContextVar("checked_rows", default=set())


def expect_rows(known: dict[str, str]) -> None:
    """Before a case: the rows its backend declares as known deviations."""
    _known.set(dict(known))
    _checked.set(set())


def unchecked_rows() -> list[str]:
    """After a case: the declared rows it never checked (a typo in the registry file)."""
    return sorted(set(_known.get()) - _checked.get())


class AllRows:
    """`with AllRows() as rows: for ...: rows.check(operation, got, want)`."""

    def __init__(self) -> None:
        self.failed: list[tuple[str, str]] = []  # (row, message), in the order checked
        self.passed: list[str] = []

    def check(self, operation: str, got: Any, want: Any) -> None:
        self.require(operation, got == want, f"got {describe(got)}, want {describe(want)}")

    def require(self, operation: str, ok: bool, problem: str) -> None:
        """A row whose check is not an equality (a status among several): `problem` is what its
        failure says after the operation."""
        _checked.get().add(operation)
        if ok:
            self.passed.append(operation)
        else:
            self.failed.append((operation, f"{operation}: {problem}"))

    def __enter__(self) -> AllRows:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            return  # a row raised (a status, a timeout): that is the case's failure
        known = _known.get()
        problems = [message for row, message in self.failed if row not in known]
        problems += [
            f"{row}: passed, but the registry file declares it a known deviation; fix: remove that deviation"
            for row in self.passed
            if row in known
        ]
        if problems:
            rows = len(self.failed) + len(self.passed)
            raise AssertionError(f"{len(problems)} of {rows} rows failed:\n" + "\n".join(problems))
        expected = list(dict.fromkeys(f"{row}: {known[row]}" for row, _ in self.failed))
        if expected:
            pytest.xfail("known deviation: " + "; ".join(expected))
