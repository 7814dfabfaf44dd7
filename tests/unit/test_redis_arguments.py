"""The redis plugin sends a server only values inside the range that server documents, not
what the local Redis 7.0 happens to accept."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(
    "count, want",
    [(-(2**63), -(2**63 - 1)), (-(2**63 - 1), -(2**63 - 1)), (-1, -1), (0, 0), (1, 1), (2**63 - 1, 2**63 - 1)],
)
def test_redis_lrem_counts_stay_inside_the_documented_range(count, want):
    """The extremes the conventions cell sends: a server newer than the local Redis 7.0 refuses
    INT64_MIN as LREM's count."""
    from prism_redis.lists import lrem_count

    assert lrem_count(count) == want
