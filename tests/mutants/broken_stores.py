"""Plausible bugs, each a small change to MemStore or the plugin SDK: the suites must catch
each one (tests/mutants/test_suites_catch_broken_plugins.py). A suite that passes a mutant has a
case missing."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import fnmatch
import threading
from typing import Callable

import prism_memstore
from prism_memstore.keyvalue import MemKeyValue
from prism_memstore.lists import MemLists
from prism_plugin import runtime


class DeleteAlwaysFound(MemKeyValue):
    async def delete(self, ns, key):
        await super().delete(ns, key)
        return True


class EmptyValueIsMissing(MemKeyValue):
    async def get(self, ns, key):
        return await super().get(ns, key) or None


class ScanPrefixIsAGlob(MemKeyValue):
    async def scan(self, ns, prefix, limit, with_values):
        sent = 0
        for key in [k for k in self._space(ns) if fnmatch.fnmatchcase(k, prefix + "*")]:
            yield key, self._value(ns, key) if with_values else None
            sent += 1
            if limit and sent >= limit:
                return


class TTLIgnored(MemKeyValue):
    async def set_with_ttl(self, ns, key, value, ttl_ms):
        await super().set(ns, key, value)


class CommitWithoutValidation(MemKeyValue):
    async def commit_if_unchanged(self, ns, expected, writes):
        return await super().commit_if_unchanged(ns, {}, writes)


class BatchGetSorted(MemKeyValue):
    async def batch_get(self, ns, keys):
        return [self._value(ns, k) for k in sorted(keys)]


class CompareAndSwapNotAtomic(MemKeyValue):
    async def compare_and_swap(self, ns, key, expected, new):
        current = self._value(ns, key)
        await asyncio.sleep(0.001)
        if current != expected:
            return False, current
        self._put(ns, key, new)
        return True, bytes(new)


class ScanShowsExpiredKeys(MemKeyValue):
    async def scan(self, ns, prefix, limit, with_values):
        for key, (value, _expires) in list(self._space(ns).items()):
            if key.startswith(prefix):
                yield key, value if with_values else None


class DeleteFoundForAnUnevictedKey(MemKeyValue):
    """Lazy expiry: Delete reports whether the entry was still stored, expired or not."""

    async def delete(self, ns, key):
        found = key in self._space(ns)
        self._space(ns).pop(key, None)
        return found


class ExistsSeesUnevictedKeys(MemKeyValue):
    async def exists(self, ns, key):
        return key in self._space(ns)


class GetAnswersUnevictedKeys(MemKeyValue):
    async def get(self, ns, key):
        entry = self._space(ns).get(key)
        return None if entry is None else entry[0]


class ExpireRevivesUnevictedKeys(MemKeyValue):
    """Expire updates the stored entry's deadline whether or not it already passed."""

    async def expire(self, ns, key, ttl_ms):
        entry = self._space(ns).get(key)
        if entry is None:
            return False
        self._put(ns, key, entry[0], ttl_ms)
        return True


class CompareAndDeleteSeesUnevictedKeys(MemKeyValue):
    async def compare_and_delete(self, ns, key, expected):
        entry = self._space(ns).get(key)
        if entry is None or entry[0] != expected:
            return False, None if entry is None else entry[0]
        del self._space(ns)[key]
        return True, None


class NamespaceCutAtColon(MemKeyValue):
    def _space(self, ns):
        return super()._space(ns.split(":")[0])

    def _live(self, ns, key):
        return super()._live(ns.split(":")[0], key)


class TTLAsTimedelta(MemKeyValue):
    """Expiry kept as a datetime: a TTL near 2**63 ms overflows (OverflowError, so INTERNAL)."""

    async def set_with_ttl(self, ns, key, value, ttl_ms):
        datetime.datetime.now() + datetime.timedelta(milliseconds=ttl_ms)
        await super().set_with_ttl(ns, key, value, ttl_ms)


class GetBlocksTheEventLoop(MemKeyValue):
    async def get(self, ns, key):
        threading.Event().wait()  # a blocking call in an async plugin: everything hangs


class PushLeftKeepsOrder(MemLists):
    async def push(self, ns, key, values, left):
        return await super().push(ns, key, list(reversed(values)) if left else values, left)


class RemoveNegativeFromHead(MemLists):
    async def remove(self, ns, key, value, count):
        return await super().remove(ns, key, value, abs(count))


class RangeStopExclusive(MemLists):
    async def range(self, ns, key, start, stop):
        return (await super().range(ns, key, start, stop))[:-1]


class ListNamespaceCutAtColon(MemLists):
    def _list(self, ns, key):
        return super()._list(ns.split(":")[0], key)

    def _store(self, ns, key, values):
        super()._store(ns.split(":")[0], key, values)


class RangeStartBelowMinusSizeWraps(MemLists):
    """A start below -size counts from the end again (taken modulo the length), not clamped to 0."""

    async def range(self, ns, key, start, stop):
        n = len(self._list(ns, key))
        return await super().range(ns, key, start % n if n and start < -n else start, stop)


class TrimStartBelowMinusSizeWraps(MemLists):
    async def trim(self, ns, key, start, stop):
        n = len(self._list(ns, key))
        return await super().trim(ns, key, start % n if n and start < -n else start, stop)


class RangeCappedAtOneThousand(MemLists):
    async def range(self, ns, key, start, stop):
        return (await super().range(ns, key, start, stop))[:1000]


class InsertAlwaysBefore(MemLists):
    async def insert(self, ns, key, before, pivot, value):
        return await super().insert(ns, key, True, pivot, value)


class BlockingPopDoesNotWait(MemLists):
    async def blocking_pop(self, ns, keys, timeout_s, left):
        return await super().blocking_pop(ns, keys, 0.0, left)


class ScanAnswersOnePage(MemKeyValue):
    """One backend page (1,000 keys) answered as the whole scan."""

    async def scan(self, ns, prefix, limit, with_values):
        sent = 0
        async for entry in super().scan(ns, prefix, limit, with_values):
            yield entry
            sent += 1
            if sent >= 1000:
                return


class CommitStoresDeletesAsEmptyValues(MemKeyValue):
    async def commit_if_unchanged(self, ns, expected, writes):
        return await super().commit_if_unchanged(ns, expected, {k: b"" if v is None else v for k, v in writes.items()})


class BatchDeleteCountsEveryKey(MemKeyValue):
    async def batch_delete(self, ns, keys):
        await super().batch_delete(ns, keys)
        return len(keys)


class CompareAndSwapEmptyExpectedIsAbsent(MemKeyValue):
    async def compare_and_swap(self, ns, key, expected, new):
        return await super().compare_and_swap(ns, key, expected or None, new)


class BlockingPopLastKeyWins(MemLists):
    async def blocking_pop(self, ns, keys, timeout_s, left):
        return await super().blocking_pop(ns, list(reversed(keys)), timeout_s, left)


def keyvalue(store_class: type[MemKeyValue]) -> Callable[[], None]:
    def patch() -> None:
        prism_memstore.MemKeyValue = store_class  # type: ignore[misc]

    return patch


def lists(store_class: type[MemLists]) -> Callable[[], None]:
    def patch() -> None:
        prism_memstore.MemLists = store_class  # type: ignore[misc]

    return patch


def ttl_unbounded_as_timedelta() -> None:
    from prism_plugin.contracts.keyvalue import ttl

    ttl.MAX_TTL_MS = 2**63 - 1
    prism_memstore.MemKeyValue = TTLAsTimedelta  # type: ignore[misc]


def names_unbounded() -> None:
    """Names of any length accepted: a 100,000-character key is stored."""
    from prism_plugin import conventions

    check_string = conventions._check_string
    conventions._check_string = lambda path, value, is_name, limits: check_string(  # type: ignore[assignment]
        path, value, is_name, dataclasses.replace(limits, max_name_bytes=10**9, max_value_bytes=10**9)
    )


def conventions_unchecked() -> None:
    runtime.check_request = lambda request, limits, prefix="": None  # type: ignore[assignment]


# mutant name -> (the cell that must fail, the patch that breaks the plugin)
MUTANTS: dict[str, tuple[str, Callable[[], None]]] = {
    "delete-always-found": ("keyvalue_basic", keyvalue(DeleteAlwaysFound)),
    "empty-value-is-missing": ("keyvalue_basic", keyvalue(EmptyValueIsMissing)),
    "conventions-unchecked": ("keyvalue_basic", conventions_unchecked),
    "scan-prefix-is-a-glob": ("keyvalue_scan", keyvalue(ScanPrefixIsAGlob)),
    "ttl-ignored": ("keyvalue_ttl", keyvalue(TTLIgnored)),
    "commit-without-validation": ("keyvalue_transactional", keyvalue(CommitWithoutValidation)),
    "batch-get-sorted": ("keyvalue_batch", keyvalue(BatchGetSorted)),
    "cas-not-atomic": ("keyvalue_cas", keyvalue(CompareAndSwapNotAtomic)),
    "push-left-keeps-order": ("list_basic", lists(PushLeftKeepsOrder)),
    "remove-negative-from-head": ("list_indexing", lists(RemoveNegativeFromHead)),
    "range-stop-exclusive": ("list_range", lists(RangeStopExclusive)),
    "blocking-pop-does-not-wait": ("list_blocking", lists(BlockingPopDoesNotWait)),
    "scan-shows-expired-keys": ("model-keyvalue", keyvalue(ScanShowsExpiredKeys)),
    "empty-namespace-accepted": ("conventions", conventions_unchecked),
    "ttl-overflows-to-internal": ("conventions", ttl_unbounded_as_timedelta),
    "names-unbounded": ("conventions", names_unbounded),
    "namespace-cut-at-colon": ("model-keyvalue", keyvalue(NamespaceCutAtColon)),
    "namespace-cut-at-colon-basic": ("keyvalue_basic", keyvalue(NamespaceCutAtColon)),
    "scan-shows-expired-keys-ttl": ("keyvalue_ttl", keyvalue(ScanShowsExpiredKeys)),
    "delete-found-for-an-unevicted-key": ("keyvalue_ttl", keyvalue(DeleteFoundForAnUnevictedKey)),
    "exists-sees-unevicted-keys": ("keyvalue_ttl", keyvalue(ExistsSeesUnevictedKeys)),
    "get-answers-unevicted-keys": ("keyvalue_ttl", keyvalue(GetAnswersUnevictedKeys)),
    "expire-revives-unevicted-keys": ("keyvalue_ttl", keyvalue(ExpireRevivesUnevictedKeys)),
    "compare-and-delete-sees-unevicted-keys": ("keyvalue_ttl", keyvalue(CompareAndDeleteSeesUnevictedKeys)),
    "insert-always-before": ("model-list", lists(InsertAlwaysBefore)),
    "list-namespace-cut-at-colon": ("list_basic", lists(ListNamespaceCutAtColon)),
    "insert-always-before-indexing": ("list_indexing", lists(InsertAlwaysBefore)),
    "blocking-pop-last-key-wins": ("list_blocking", lists(BlockingPopLastKeyWins)),
    "scan-answers-one-page": ("keyvalue_scan", keyvalue(ScanAnswersOnePage)),
    "commit-stores-deletes-as-empty-values": ("keyvalue_transactional", keyvalue(CommitStoresDeletesAsEmptyValues)),
    "batch-delete-counts-every-key": ("keyvalue_batch", keyvalue(BatchDeleteCountsEveryKey)),
    "cas-empty-expected-is-absent": ("keyvalue_cas", keyvalue(CompareAndSwapEmptyExpectedIsAbsent)),
    "range-start-below-minus-size-wraps": ("list_range", lists(RangeStartBelowMinusSizeWraps)),
    "trim-start-below-minus-size-wraps": ("list_range", lists(TrimStartBelowMinusSizeWraps)),
    "range-capped-at-one-thousand": ("list_range", lists(RangeCappedAtOneThousand)),
}

# Plugins that stop answering: their cells must end in seconds, with every case failed.
HUNG: dict[str, tuple[str, Callable[[], None]]] = {
    "get-blocks-the-event-loop": ("keyvalue_basic", keyvalue(GetBlocksTheEventLoop)),
}


# --- sets and sorted sets -----------------------------------------------------------------------

from prism_memstore.sets import MemSets  # noqa: E402
from prism_memstore.sortedsets import MemSortedSets  # noqa: E402


class SetAddCountsEveryMember(MemSets):
    async def add(self, ns, name, members):
        await super().add(ns, name, members)
        return len(members)


class SetIntersectionSkipsMissingSets(MemSets):
    async def intersection(self, ns, names):
        held = [n for n in names if self._set(ns, n)]
        return await super().intersection(ns, held) if held else []


class SetIsMemberInSortedOrder(MemSets):
    async def are_members(self, ns, name, members):
        return await super().are_members(ns, name, sorted(members))


class SetPopKeepsMembers(MemSets):
    async def pop_random_members(self, ns, name, count):
        return await super().random_members(ns, name, count)


class SetRandomAlwaysTheFirst(MemSets):
    async def random_members(self, ns, name, count):
        return sorted(self._set(ns, name))[:count]


class SetNamespaceCutAtColon(MemSets):
    def _set(self, ns, name):
        return super()._set(ns.split(":")[0], name)

    def _store(self, ns, name, members):
        super()._store(ns.split(":")[0], name, members)


class SortedSetAddKeepsOldScores(MemSortedSets):
    async def add(self, ns, key, members):
        held = self._scores(ns, key)
        return await super().add(ns, key, [(m, s) for m, s in members if m not in held])


class SortedSetExclusiveBoundsIgnored(MemSortedSets):
    async def range_by_score(self, ns, key, low, high, offset, limit, reverse):
        return await super().range_by_score(ns, key, (low[0], False), (high[0], False), offset, limit, reverse)


class SortedSetMissingRankIsZero(MemSortedSets):
    async def rank(self, ns, key, member, reverse):
        rank = await super().rank(ns, key, member, reverse)
        return 0 if rank is None else rank


class SortedSetWeightsIgnored(MemSortedSets):
    async def combine(self, ns, keys, weights, aggregate, intersect):
        return await super().combine(ns, keys, [1.0] * len(keys), aggregate, intersect)


class SortedSetLexExclusiveAsInclusive(MemSortedSets):
    async def range_by_lex(self, ns, key, low, high, offset, limit, reverse):
        def inclusive(bound):
            return b"[" + bound[1:] if bound[:1] == b"(" else bound

        return await super().range_by_lex(ns, key, inclusive(low), inclusive(high), offset, limit, reverse)


class SortedSetTiesInInsertionOrder(MemSortedSets):
    def _ordered(self, ns, key):
        return sorted(self._scores(ns, key).items(), key=lambda ms: ms[1])


class SetRemoveCountsRequested(MemSets):
    async def remove(self, ns, name, members):
        await super().remove(ns, name, members)
        return len(set(members))


class SetDifferenceIsSymmetric(MemSets):
    async def difference(self, ns, names):
        union = set(await self.union(ns, names))
        return [m for m in union if sum(m in self._set(ns, n) for n in names) == 1]


class SortedSetAddCountsEveryMember(MemSortedSets):
    async def add(self, ns, key, members):
        await super().add(ns, key, members)
        return len(members)


class SortedSetReverseRangeReversesTheSlice(MemSortedSets):
    async def range(self, ns, key, start, stop, reverse):
        return (
            list(reversed(await super().range(ns, key, start, stop, False)))
            if reverse
            else await super().range(ns, key, start, stop, False)
        )


class SortedSetLimitBeforeReverse(MemSortedSets):
    async def range_by_score(self, ns, key, low, high, offset, limit, reverse):
        got = await super().range_by_score(ns, key, low, high, offset, limit, False)
        return got[::-1] if reverse else got


class SortedSetRankIgnoresTies(MemSortedSets):
    async def rank(self, ns, key, member, reverse):
        scores = self._scores(ns, key)
        if member not in scores:
            return None
        mine = scores[member]
        return sum(1 for s in scores.values() if (s > mine if reverse else s < mine))


class SortedSetAggregateAlwaysSum(MemSortedSets):
    async def combine(self, ns, keys, weights, aggregate, intersect):
        return await super().combine(ns, keys, weights, "SUM", intersect)


class SortedSetLexMinusIsALiteral(MemSortedSets):
    async def range_by_lex(self, ns, key, low, high, offset, limit, reverse):
        return await super().range_by_lex(ns, key, b"[-" if low == b"-" else low, high, offset, limit, reverse)


def set_store(store_class: type[MemSets]) -> Callable[[], None]:
    def patch() -> None:
        prism_memstore.MemSets = store_class  # type: ignore[misc]

    return patch


def sorted_set_store(store_class: type[MemSortedSets]) -> Callable[[], None]:
    def patch() -> None:
        prism_memstore.MemSortedSets = store_class  # type: ignore[misc]

    return patch


# Queue mutants (queue_* suites and #model-queue).
import heapq  # noqa: E402
import time  # noqa: E402

from prism_memstore.queues import MemQueues, _InFlight  # noqa: E402
from prism_plugin.contracts.queue.basic import Delivered  # noqa: E402


class DequeueNotAtomic(MemQueues):
    """Reads the head, yields to the loop, then takes it: two consumers can get one message."""

    async def dequeue(self, ns, queue, visibility_ms):
        head = await self.peek(ns, queue)
        await asyncio.sleep(0.002)
        if head is None:
            return None
        q = self._queue(ns, queue)
        q.ready = [entry for entry in q.ready if entry[1].message_id != head.message_id]
        heapq.heapify(q.ready)
        return Delivered(head.message_id, head.payload, head.delivery_count + 1, head.priority)


class ExtendIgnored(MemQueues):
    async def extend(self, ns, queue, receipt, visibility_ms):
        return receipt in self._tick(ns, queue).in_flight


class ReleaseWaitsForTheTimeout(MemQueues):
    async def release(self, ns, queue, receipt):
        return receipt in self._tick(ns, queue).in_flight


class DeadLetterOneDeliveryLate(MemQueues):
    def _back(self, ns, q, message):
        if q.dead_letter is not None and message.deliveries > q.dead_letter[1]:
            super()._back(ns, q, message)
        else:
            self._ready(q, message)


class PriorityTiesLastInFirstOut(MemQueues):
    def _ready(self, q, message):
        heapq.heappush(q.ready, ((-message.priority, -message.seq, 0), message))


class DelayHalved(MemQueues):
    async def enqueue(self, ns, queue, payload, priority, delay_ms):
        return await super().enqueue(ns, queue, payload, priority, delay_ms // 2)


class ReleaseLosesItsPlace(MemQueues):
    def _back(self, ns, q, message):
        message.available_at, message.seq = time.monotonic(), next(self._seq)
        super()._back(ns, q, message)


class DeliveryCountFromZero(MemQueues):
    async def dequeue(self, ns, queue, visibility_ms):
        got = await super().dequeue(ns, queue, visibility_ms)
        return got and dataclasses.replace(got, delivery_count=got.delivery_count - 1)


class AckedLastDeliveryDeadLettered(MemQueues):
    async def ack(self, ns, queue, receipt):
        q = self._tick(ns, queue)
        held = q.in_flight.pop(receipt, None)
        if held is not None and q.dead_letter is not None and held.message.deliveries >= q.dead_letter[1]:
            self._back(ns, q, held.message)
        return held is not None


class ScheduledCountNeverFalls(MemQueues):
    def __init__(self):
        super().__init__()
        self.delayed: dict[tuple[str, str], int] = {}

    async def enqueue(self, ns, queue, payload, priority, delay_ms):
        if delay_ms > 0:
            self.delayed[(ns, queue)] = self.delayed.get((ns, queue), 0) + 1
        return await super().enqueue(ns, queue, payload, priority, delay_ms)

    async def scheduled_count(self, ns, queue):
        return self.delayed.get((ns, queue), 0)


class QueueNamespaceCutAtColon(MemQueues):
    def _queue(self, ns, queue):
        return super()._queue(ns.split(":")[0], queue)


class EnqueueNotAtomic(MemQueues):
    """Reads the queue's messages, yields to the loop (a store round trip), then writes them
    back with its own: concurrent Enqueues overwrite each other's messages."""

    async def enqueue(self, ns, queue, payload, priority, delay_ms):
        q = self._queue(ns, queue)
        ready = list(q.ready)
        await asyncio.sleep(0.001)
        message_id = await super().enqueue(ns, queue, payload, priority, delay_ms)
        q.ready = ready + [entry for entry in q.ready if entry[1].message_id == message_id]
        heapq.heapify(q.ready)
        return message_id


class TakeNotAtomic(MemQueues):
    """DequeueWithTimeout reads the head, yields to the loop, then hides it: two consumers can
    both be handed one message."""

    async def dequeue(self, ns, queue, visibility_ms):
        if visibility_ms is None:
            return await super().dequeue(ns, queue, visibility_ms)
        head = await self.peek(ns, queue)
        await asyncio.sleep(0.002)
        q = self._queue(ns, queue)
        taken = [entry for entry in q.ready if head is not None and entry[1].message_id == head.message_id]
        held = [h.message for h in q.in_flight.values() if head is not None and h.message.message_id == head.message_id]
        if not taken and not held:
            return None
        if taken:
            q.ready.remove(taken[0])
            heapq.heapify(q.ready)
        message = taken[0][1] if taken else held[0]
        message.deliveries += 1
        receipt = f"r{next(self._seq)}"
        q.in_flight[receipt] = _InFlight(message, time.monotonic() + visibility_ms / 1000)
        return Delivered(message.message_id, message.payload, message.deliveries, message.priority, receipt)


class ReceiptOutlivesItsTimeout(MemQueues):
    """The receipt is looked up before the timed-out deliveries are taken back (lazy expiry):
    a receipt whose timeout passed still acks (or extends) the message until the next read."""

    def _unticked(self, ns, queue):
        return self._queue(ns, queue)


class AckOfATimedOutReceipt(ReceiptOutlivesItsTimeout):
    async def ack(self, ns, queue, receipt):
        return self._unticked(ns, queue).in_flight.pop(receipt, None) is not None


class ExtendRevivesATimedOutReceipt(ReceiptOutlivesItsTimeout):
    async def extend(self, ns, queue, receipt, visibility_ms):
        held = self._unticked(ns, queue).in_flight.get(receipt)
        if held is None:
            return False
        held.visible_at = time.monotonic() + visibility_ms / 1000
        return True


class ReleaseOfATimedOutReceipt(ReceiptOutlivesItsTimeout):
    async def release(self, ns, queue, receipt):
        q = self._unticked(ns, queue)
        held = q.in_flight.pop(receipt, None)
        if held is not None:
            self._back(ns, q, held.message)
        return held is not None


class ReceiptNamesTheMessage(MemQueues):
    """Every receipt ever issued for a message acts on its current delivery (the receipt is
    resolved to the message id, not to one delivery)."""

    def __init__(self):
        super().__init__()
        self.issued: dict[str, str] = {}  # receipt -> message id, never forgotten

    async def dequeue(self, ns, queue, visibility_ms):
        got = await super().dequeue(ns, queue, visibility_ms)
        if got is not None and got.receipt:
            self.issued[got.receipt] = got.message_id
        return got

    def current(self, ns, queue, receipt):
        mine = self.issued.get(receipt)
        held = self._tick(ns, queue).in_flight
        return next((r for r, h in held.items() if h.message.message_id == mine), receipt)


class StaleAckAcksTheRedelivery(ReceiptNamesTheMessage):
    async def ack(self, ns, queue, receipt):
        return await super().ack(ns, queue, self.current(ns, queue, receipt))


class StaleExtendExtendsTheRedelivery(ReceiptNamesTheMessage):
    async def extend(self, ns, queue, receipt, visibility_ms):
        return await super().extend(ns, queue, self.current(ns, queue, receipt), visibility_ms)


class StaleReleaseReleasesTheRedelivery(ReceiptNamesTheMessage):
    async def release(self, ns, queue, receipt):
        return await super().release(ns, queue, self.current(ns, queue, receipt))


class NegativePriorityAsZero(MemQueues):
    """Priorities stored unsigned-clamped: every negative priority queues as 0."""

    async def enqueue(self, ns, queue, payload, priority, delay_ms):
        return await super().enqueue(ns, queue, payload, max(0, priority), delay_ms)


def queues(store_class: type[MemQueues]) -> Callable[[], None]:
    def patch() -> None:
        prism_memstore.MemQueues = store_class  # type: ignore[misc]

    return patch


MUTANTS.update(
    {
        "set-add-counts-every-member": ("set_basic", set_store(SetAddCountsEveryMember)),
        "set-intersection-skips-missing-sets": ("set_operations", set_store(SetIntersectionSkipsMissingSets)),
        "set-is-member-in-sorted-order": ("set_cardinality", set_store(SetIsMemberInSortedOrder)),
        "set-pop-keeps-members": ("set_random", set_store(SetPopKeepsMembers)),
        "set-random-always-the-first": ("set_random", set_store(SetRandomAlwaysTheFirst)),
        "set-namespace-cut-at-colon": ("model-set", set_store(SetNamespaceCutAtColon)),
        "sortedset-add-keeps-old-scores": ("sortedset_basic", sorted_set_store(SortedSetAddKeepsOldScores)),
        "sortedset-exclusive-bounds-ignored": ("sortedset_range", sorted_set_store(SortedSetExclusiveBoundsIgnored)),
        "sortedset-missing-rank-is-zero": ("sortedset_rank", sorted_set_store(SortedSetMissingRankIsZero)),
        "sortedset-weights-ignored": ("sortedset_operations", sorted_set_store(SortedSetWeightsIgnored)),
        "sortedset-lex-exclusive-as-inclusive": ("sortedset_lex", sorted_set_store(SortedSetLexExclusiveAsInclusive)),
        "sortedset-ties-in-insertion-order": ("model-sortedset", sorted_set_store(SortedSetTiesInInsertionOrder)),
        "set-remove-counts-requested": ("set_basic", set_store(SetRemoveCountsRequested)),
        "set-difference-is-symmetric": ("set_operations", set_store(SetDifferenceIsSymmetric)),
        "sortedset-add-counts-every-member": ("sortedset_basic", sorted_set_store(SortedSetAddCountsEveryMember)),
        "sortedset-reverse-range-reverses-the-slice": ("sortedset_range", sorted_set_store(SortedSetReverseRangeReversesTheSlice)),
        "sortedset-limit-before-reverse": ("sortedset_range", sorted_set_store(SortedSetLimitBeforeReverse)),
        "sortedset-rank-ignores-ties": ("sortedset_rank", sorted_set_store(SortedSetRankIgnoresTies)),
        "sortedset-aggregate-always-sum": ("sortedset_operations", sorted_set_store(SortedSetAggregateAlwaysSum)),
        "sortedset-lex-minus-is-a-literal": ("sortedset_lex", sorted_set_store(SortedSetLexMinusIsALiteral)),
        "dequeue-not-atomic": ("queue_basic", queues(DequeueNotAtomic)),
        "extend-ignored": ("queue_visibility", queues(ExtendIgnored)),
        "release-waits-for-the-timeout": ("queue_visibility", queues(ReleaseWaitsForTheTimeout)),
        "dead-letter-one-delivery-late": ("queue_dead_letter", queues(DeadLetterOneDeliveryLate)),
        "priority-ties-last-in-first-out": ("queue_priority", queues(PriorityTiesLastInFirstOut)),
        "delay-halved": ("queue_delayed", queues(DelayHalved)),
        "release-loses-its-place": ("queue_visibility", queues(ReleaseLosesItsPlace)),
        "delivery-count-from-zero": ("queue_basic", queues(DeliveryCountFromZero)),
        "acked-last-delivery-dead-lettered": ("queue_dead_letter", queues(AckedLastDeliveryDeadLettered)),
        "scheduled-count-never-falls": ("queue_delayed", queues(ScheduledCountNeverFalls)),
        "queue-namespace-cut-at-colon": ("model-queue", queues(QueueNamespaceCutAtColon)),
        "queue-namespace-cut-at-colon-basic": ("queue_basic", queues(QueueNamespaceCutAtColon)),
        "negative-priority-as-zero": ("queue_priority", queues(NegativePriorityAsZero)),
        "enqueue-not-atomic": ("queue_basic", queues(EnqueueNotAtomic)),
        "take-not-atomic": ("queue_visibility", queues(TakeNotAtomic)),
        "ack-of-a-timed-out-receipt": ("queue_visibility", queues(AckOfATimedOutReceipt)),
        "extend-revives-a-timed-out-receipt": ("queue_visibility", queues(ExtendRevivesATimedOutReceipt)),
        "release-of-a-timed-out-receipt": ("queue_visibility", queues(ReleaseOfATimedOutReceipt)),
        "stale-ack-acks-the-redelivery": ("queue_visibility", queues(StaleAckAcksTheRedelivery)),
        "stale-extend-extends-the-redelivery": ("queue_visibility", queues(StaleExtendExtendsTheRedelivery)),
        "stale-release-releases-the-redelivery": ("queue_visibility", queues(StaleReleaseReleasesTheRedelivery)),
    }
)


# pub/sub: each a plausible bug of an in-process fan-out

from prism_memstore.pubsub import MemPubSub  # noqa: E402
from prism_plugin.contracts.pubsub.filtering import accepts  # noqa: E402


class SubscribeTopicIsAPrefix(MemPubSub):
    def subscribe(self, ns, topic):
        return self._subscription(ns, lambda m, _: m.topic.startswith(topic))


class UnsubscribeOnlyForgetsTheId(MemPubSub):
    async def unsubscribe(self, ns, subscription_id):
        return self._subscriptions.get(ns, {}).get(subscription_id) is not None


class PatternStarIsAGlob(MemPubSub):
    def subscribe_pattern(self, ns, segments):
        glob = ".".join("*" if s == ">" else s for s in segments)
        return self._subscription(ns, lambda m, _: fnmatch.fnmatchcase(m.topic, glob))


class DurableResumesAtTheEnd(MemPubSub):
    def subscribe_durable(self, ns, topic, durable_name):
        state = self._topic(ns, topic)
        state.acked[durable_name] = len(state.log)
        return super().subscribe_durable(ns, topic, durable_name)


class FilterSkipsMissingAttributes(MemPubSub):
    def subscribe_filtered(self, ns, topic, filter_):
        def wants(m, _):
            present = [c for c in filter_ if c.attribute in m.attributes or c.values is None]
            return m.topic == topic and accepts(tuple(present), m.attributes)

        return self._subscription(ns, wants)


class OrderedPublishHeldBackEveryTenth(MemPubSub):
    """Every tenth message of a key waits for the key's next one (a per-key retry queue)."""

    def __init__(self):
        super().__init__()
        self.held: dict[tuple[str, str, str], object] = {}
        self.counts: dict[tuple[str, str, str], int] = {}

    async def publish_ordered(self, ns, topic, payload, ordering_key):
        key = (ns, topic, ordering_key)
        self.counts[key] = self.counts.get(key, 0) + 1
        message = self._message(topic, payload, ordering_key=ordering_key)
        if self.counts[key] % 10 == 1:
            self.held[key] = message
            return message.message_id
        self._fan_out(ns, message, False)
        if key in self.held:
            self._fan_out(ns, self.held.pop(key), False)
        return message.message_id


class PatternRestMatchesZeroSegments(MemPubSub):
    def subscribe_pattern(self, ns, segments):
        if segments[-1] != ">":
            return super().subscribe_pattern(ns, segments)
        head = segments[:-1]
        return self._subscription(ns, lambda m, _: m.topic.split(".")[: len(head)] == list(head))


def pubsub(store_class: type[MemPubSub]) -> Callable[[], None]:
    def patch() -> None:
        prism_memstore.MemPubSub = store_class  # type: ignore[misc]

    return patch


# Streams.
from prism_memstore.streams import MemStreams  # noqa: E402
from prism_plugin.contracts.stream.basic import Start  # noqa: E402


class ReadFromAnOffsetIsExclusive(MemStreams):
    async def start(self, ns, stream, partition, position, latest):
        start = await super().start(ns, stream, partition, position, latest)
        return Start(start.offset, inclusive=False) if start.offset is not None and position is not None else start


class ReadFromLatestIsEarliest(MemStreams):
    async def start(self, ns, stream, partition, position, latest):
        return await super().start(ns, stream, partition, position, False)


class HeadersDropped(MemStreams):
    async def append(self, ns, stream, partition, key, payload, headers):
        return await super().append(ns, stream, partition, key, payload, {})


class ReplayRangeIncludesTheEnd(MemStreams):
    async def replay(self, ns, stream, from_offset, to_offset):
        return await super().replay(ns, stream, from_offset, str(int(to_offset) + 1))


class SeekToTimestampStrictlyAfter(MemStreams):
    async def start_at_time(self, ns, stream, timestamp_ms):
        return await super().start_at_time(ns, stream, timestamp_ms + 1)


class CompactKeepsTheOldest(MemStreams):
    async def compact(self, ns, stream):
        s = self._stream(ns, stream)
        removed = 0
        for p in s.partitions:
            if s.max_records and len(p.records) > s.max_records:
                removed += len(p.records) - s.max_records
                del p.records[s.max_records :]
        return removed


class TrimmedOffsetReadsFromTheStart(MemStreams):
    async def compact(self, ns, stream):
        removed = await super().compact(ns, stream)
        for p in self._stream(ns, stream).partitions:
            p.first_seq = 1
        return removed


class KeysRoundRobin(MemStreams):
    def __init__(self):
        super().__init__()
        self.turn = 0

    async def append(self, ns, stream, partition, key, payload, headers):
        if partition is None and key:
            self.turn, partition = self.turn + 1, self.turn % 4
        return await super().append(ns, stream, partition, key, payload, headers)


class GroupDeliversToEveryConsumer(MemStreams):
    """Each consumer keeps its own position from the group's start, as if it were a group."""

    def __init__(self):
        super().__init__()
        self.starts: dict[int, int] = {}
        self.positions: dict[tuple[int, str], int] = {}

    def _take(self, s, g, consumer, redeliver_ms):
        start = self.starts.setdefault(id(g), g.next_seq)
        g.next_seq = self.positions.get((id(g), consumer), start)
        record = super()._take(s, g, consumer, redeliver_ms)
        self.positions[(id(g), consumer)] = g.next_seq
        return record


class LeavingDropsPending(MemStreams):
    """XGROUP DELCONSUMER on leave: the consumer's unacked records are gone."""

    async def leave(self, ns, stream, group, consumer):
        await super().leave(ns, stream, group, consumer)
        g = self._stream(ns, stream).groups.get(group)
        if g is not None:
            g.pending = {seq: held for seq, held in g.pending.items() if held[0] != consumer}


class CreateGroupResets(MemStreams):
    async def create_group(self, ns, stream, group, position, latest):
        self._stream(ns, stream).groups.pop(group, None)
        await super().create_group(ns, stream, group, position, latest)


class StreamNamespaceCutAtColon(MemStreams):
    def _stream(self, ns, stream):
        return super()._stream(ns.split(":")[0], stream)


class GroupHasOneActiveConsumer(MemStreams):
    """Exclusive consumer: only the first live consumer (by name) is handed records."""

    def _take(self, s, g, consumer, redeliver_ms):
        return super()._take(s, g, consumer, redeliver_ms) if consumer == min(g.live) else None


def streams(store_class: type[MemStreams]) -> Callable[[], None]:
    def patch() -> None:
        prism_memstore.MemStreams = store_class  # type: ignore[misc]

    return patch


MUTANTS.update(
    {
        "subscribe-topic-is-a-prefix": ("pubsub_basic", pubsub(SubscribeTopicIsAPrefix)),
        "unsubscribe-only-forgets-the-id": ("pubsub_basic", pubsub(UnsubscribeOnlyForgetsTheId)),
        "pattern-star-is-a-glob": ("pubsub_wildcards", pubsub(PatternStarIsAGlob)),
        "pattern-rest-matches-zero-segments": ("pubsub_wildcards", pubsub(PatternRestMatchesZeroSegments)),
        "durable-resumes-at-the-end": ("pubsub_persistent", pubsub(DurableResumesAtTheEnd)),
        "filter-skips-missing-attributes": ("pubsub_filtering", pubsub(FilterSkipsMissingAttributes)),
        "ordered-publish-held-back-every-tenth": ("pubsub_ordering", pubsub(OrderedPublishHeldBackEveryTenth)),
        "stream-read-from-offset-exclusive": ("stream_basic", streams(ReadFromAnOffsetIsExclusive)),
        "stream-read-from-latest-is-earliest": ("stream_basic", streams(ReadFromLatestIsEarliest)),
        "stream-headers-dropped": ("stream_basic", streams(HeadersDropped)),
        "stream-replay-range-includes-the-end": ("stream_replay", streams(ReplayRangeIncludesTheEnd)),
        "stream-seek-to-timestamp-strictly-after": ("stream_replay", streams(SeekToTimestampStrictlyAfter)),
        "stream-compact-keeps-the-oldest": ("stream_retention", streams(CompactKeepsTheOldest)),
        "stream-group-delivers-to-every-consumer": ("stream_consumer_groups", streams(GroupDeliversToEveryConsumer)),
        "stream-group-leaving-drops-pending": ("stream_consumer_groups", streams(LeavingDropsPending)),
        "stream-create-group-resets": ("stream_consumer_groups", streams(CreateGroupResets)),
        "stream-namespace-cut-at-colon": ("model-stream", streams(StreamNamespaceCutAtColon)),
        "stream-group-has-one-active-consumer": ("stream_consumer_groups", streams(GroupHasOneActiveConsumer)),
        "stream-keys-round-robin": ("stream_partitioning", streams(KeysRoundRobin)),
        "stream-trimmed-offset-reads-from-the-start": ("stream_retention", streams(TrimmedOffsetReadsFromTheStart)),
    }
)
from mutants import broken_timeseries  # noqa: E402

MUTANTS.update(broken_timeseries.MUTANTS)
from mutants import broken_document  # noqa: E402

MUTANTS.update(broken_document.MUTANTS)
from mutants import broken_graph  # noqa: E402

MUTANTS.update(broken_graph.MUTANTS)
from mutants import broken_sets  # noqa: E402

MUTANTS.update(broken_sets.MUTANTS)
from mutants import broken_sorted_sets  # noqa: E402

MUTANTS.update(broken_sorted_sets.MUTANTS)
from mutants import broken_runtime  # noqa: E402

MUTANTS.update(broken_runtime.MUTANTS)
from mutants import broken_names  # noqa: E402

MUTANTS.update(broken_names.MUTANTS)
