"""Plugins that pass their interface suites but break under faults or replicas, each a bug a
plausible implementation has; $PRISM_MUTANT names one of FAULT_MUTANTS, whose backend's plugin
runs with the bug patched in (this process only).

- `write_behind` (sqlite): Set answers OK once the value is in a buffer flushed every second, so
  a plugin crash loses acknowledged writes (chaos-keyvalue, plugin_crash).
- `always_serving` (redis): health says SERVING whatever the backend does (chaos-keyvalue,
  partition).
- `visibility_in_process` (sqlite): a delivery in flight lives in the plugin's memory until it is
  acked or its visibility timeout passes, as a broker without per-message timeouts forces on a
  plugin; another process never sees it and a killed process loses it (replicas).
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import uuid
from typing import Callable

from prism_plugin.runtime import main


def write_behind() -> Callable:
    import prism_sqlite
    from prism_sqlite.keyvalue import SqliteKeyValue

    original_set, original_get = SqliteKeyValue.set, SqliteKeyValue.get
    buffered: dict[tuple[str, str], bytes] = {}

    async def flush_later(self) -> None:
        await asyncio.sleep(1.0)  # the bug: acknowledged before it is stored
        for (ns, key), value in list(buffered.items()):
            await original_set(self, ns, key, value)
            buffered.pop((ns, key), None)

    async def set_(self, ns, key, value):
        first = not buffered
        buffered[(ns, key)] = bytes(value)
        if first:
            asyncio.get_running_loop().create_task(flush_later(self))

    async def get_(self, ns, key):
        if (ns, key) in buffered:
            return buffered[(ns, key)]
        return await original_get(self, ns, key)

    setattr(SqliteKeyValue, "set", set_)
    setattr(SqliteKeyValue, "get", get_)
    return prism_sqlite.build_plugin


def always_serving() -> Callable:
    import prism_redis
    from prism_redis.connection import RedisConnection

    async def healthy(self) -> bool:
        return self._client is not None

    setattr(RedisConnection, "healthy", healthy)
    return prism_redis.build_plugin


def visibility_in_process() -> Callable:
    import prism_sqlite
    from prism_sqlite.queues import SqliteQueues

    original_dequeue, original_ack, original_enqueue = SqliteQueues.dequeue, SqliteQueues.ack, SqliteQueues.enqueue
    in_flight: dict[str, tuple[str, str, object, asyncio.TimerHandle]] = {}

    async def dequeue(self, ns, queue, visibility_ms):
        delivered = await original_dequeue(self, ns, queue, None)  # taken off the table for good
        if delivered is None or visibility_ms is None:
            return delivered
        receipt = uuid.uuid4().hex

        def expire() -> None:
            in_flight.pop(receipt, None)
            asyncio.ensure_future(original_enqueue(self, ns, queue, delivered.payload, delivered.priority, 0))

        timer = asyncio.get_running_loop().call_later(visibility_ms / 1000, expire)
        in_flight[receipt] = (ns, queue, delivered, timer)
        return dataclasses.replace(delivered, receipt=receipt)

    async def ack(self, ns, queue, receipt):
        entry = in_flight.pop(receipt, None)
        if entry is None:
            return await original_ack(self, ns, queue, receipt)
        entry[3].cancel()
        return True

    setattr(SqliteQueues, "dequeue", dequeue)
    setattr(SqliteQueues, "ack", ack)
    return prism_sqlite.build_plugin


# mutant -> (backend, cell, -k selection of the case it must fail, the patch)
FAULT_MUTANTS = {
    "write_behind": ("sqlite", "chaos-keyvalue", "plugin_crash", write_behind),
    "always_serving": ("redis", "chaos-keyvalue", "partition", always_serving),
    "visibility_in_process": ("sqlite", "replicas", "in_flight", visibility_in_process),
}

if __name__ == "__main__":
    main(FAULT_MUTANTS[os.environ["PRISM_MUTANT"]][3]())
