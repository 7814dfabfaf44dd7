"""The Hypothesis profiles' names and per-case timeouts, without importing Hypothesis (every cell
reads them; only model and conventions cells need Hypothesis itself)."""

from __future__ import annotations

import os

PROFILE_ENV = "PRISM_HYPOTHESIS_PROFILE"
# A deep run takes minutes (200 examples of 60 steps); the fast profile keeps pants.toml's 120 s
# per case. The cell's own timeout (build-support/pants-plugins/prism_cells/target_types.py) is
# above both.
CASE_TIMEOUT_S = {"fast": 120, "deep": 1500}


def profile_name() -> str:
    name = os.environ.get(PROFILE_ENV, "fast")
    if name not in CASE_TIMEOUT_S:
        raise ValueError(f"${PROFILE_ENV}={name!r}: use one of {', '.join(CASE_TIMEOUT_S)}")
    return name


def case_timeout_s() -> int:
    """The per-case timeout of a Hypothesis case under the chosen profile."""
    return CASE_TIMEOUT_S[profile_name()]
