"""A MemStore plugin that is correct but adds 2 ms to every call (a blocking sleep in the SDK's
request check, the path every RPC takes): the perf run must flag it as a regression against a
previous run of the real MemStore (README, "Performance"). Not in broken_stores.MUTANTS: the
compliance suites rightly pass it."""

from __future__ import annotations

import time

from prism_plugin import runtime

ADDED_S = 0.002


class SlowStatusInterceptor(runtime.StatusInterceptor):
    def _check(self, request):  # type: ignore[no-untyped-def]
        time.sleep(ADDED_S)
        super()._check(request)


def patch() -> None:
    runtime.StatusInterceptor = SlowStatusInterceptor  # type: ignore[misc]
