"""Plausible bugs, each a small change to MemStore or a servicer: the suites must catch each
one (tests/mutants/test_suites_catch_broken_plugins.py). A suite that passes a mutant has a
case missing."""

from __future__ import annotations

import asyncio
import fnmatch
import threading

from prism_accept.plugins.memstore.store import MemStore
from prism_accept.plugins.servicers import keyvalue as kv_servicers


class DeleteAlwaysFound(MemStore):
    async def kv_delete(self, ns, key):
        await super().kv_delete(ns, key)
        return True


class EmptyValueIsMissing(MemStore):
    async def kv_get(self, ns, key):
        return await super().kv_get(ns, key) or None


class ScanPrefixIsAGlob(MemStore):
    async def kv_scan(self, ns, prefix, limit, with_values):
        sent = 0
        for key in [k for k in self._ns(ns).kv if fnmatch.fnmatchcase(k, prefix + "*")]:
            yield key, self._value(ns, key) if with_values else None
            sent += 1
            if limit and sent >= limit:
                return


class TTLIgnored(MemStore):
    async def kv_set(self, ns, key, value, ttl_ms=None):
        await super().kv_set(ns, key, value, None)


class CommitWithoutValidation(MemStore):
    async def kv_commit(self, ns, expected, writes):
        return await super().kv_commit(ns, {}, writes)


class BatchGetSorted(MemStore):
    async def kv_batch_get(self, ns, keys):
        return [self._value(ns, k) for k in sorted(keys)]


class CompareAndSwapNotAtomic(MemStore):
    async def kv_compare_and_swap(self, ns, key, expected, new):
        current = self._value(ns, key)
        await asyncio.sleep(0.001)
        if current != expected:
            return False, current
        self._ns(ns).kv[key] = (bytes(new), None)
        return True, bytes(new)


class PushLeftKeepsOrder(MemStore):
    async def list_push(self, ns, key, values, left):
        return await super().list_push(ns, key, list(reversed(values)) if left else values, left)


class RemoveNegativeFromHead(MemStore):
    async def list_remove(self, ns, key, value, count):
        return await super().list_remove(ns, key, value, abs(count))


class RangeStopExclusive(MemStore):
    async def list_range(self, ns, key, start, stop):
        return (await super().list_range(ns, key, start, stop))[:-1]


class BlockingPopDoesNotWait(MemStore):
    async def list_blocking_pop(self, ns, keys, timeout_s, left):
        return await super().list_blocking_pop(ns, keys, 0.0, left)


class GetBlocksTheEventLoop(MemStore):
    async def kv_get(self, ns, key):
        threading.Event().wait()  # a blocking call in an async plugin: everything hangs


def value_limit_unchecked() -> None:
    kv_servicers._KeyValueServicer.check_value = lambda self, value: None


# mutant name -> (interface whose suite must fail, store class, servicer patch)
MUTANTS = {
    "delete-always-found": ("keyvalue_basic", DeleteAlwaysFound, None),
    "empty-value-is-missing": ("keyvalue_basic", EmptyValueIsMissing, None),
    "value-limit-unchecked": ("keyvalue_basic", MemStore, value_limit_unchecked),
    "scan-prefix-is-a-glob": ("keyvalue_scan", ScanPrefixIsAGlob, None),
    "ttl-ignored": ("keyvalue_ttl", TTLIgnored, None),
    "commit-without-validation": ("keyvalue_transactional", CommitWithoutValidation, None),
    "batch-get-sorted": ("keyvalue_batch", BatchGetSorted, None),
    "cas-not-atomic": ("keyvalue_cas", CompareAndSwapNotAtomic, None),
    "push-left-keeps-order": ("list_basic", PushLeftKeepsOrder, None),
    "remove-negative-from-head": ("list_indexing", RemoveNegativeFromHead, None),
    "range-stop-exclusive": ("list_range", RangeStopExclusive, None),
    "blocking-pop-does-not-wait": ("list_blocking", BlockingPopDoesNotWait, None),
}

# Plugins that stop answering: their cells must end in seconds, with every case failed.
HUNG = {"get-blocks-the-event-loop": ("keyvalue_basic", GetBlocksTheEventLoop, None)}
