"""Servicers of the six keyvalue interfaces over a KeyValueStore."""

from __future__ import annotations

import uuid
from collections import OrderedDict
from dataclasses import dataclass, field

from prism.keyvalue.v1 import keyvalue_pb2 as pb
from prism.keyvalue.v1 import keyvalue_pb2_grpc as pb_grpc
from prism_accept.plugins.status import (
    aborted,
    failed_precondition,
    invalid,
    not_found,
    require_keys,
    require_names,
)
from prism_accept.plugins.servicers.base import StoreServicer
from prism_accept.plugins.stores import KeyValueStore, Limits


class _KeyValueServicer(StoreServicer):
    store: KeyValueStore


class KeyValueBasic(_KeyValueServicer, pb_grpc.KeyValueBasicServicer):
    interface = "keyvalue_basic"
    _add = staticmethod(pb_grpc.add_KeyValueBasicServicer_to_server)

    async def Set(self, request, context):
        require_names(namespace=request.namespace, key=request.key)
        self.check_value(request.value)
        await self.store.kv_set(request.namespace, request.key, request.value)
        return pb.SetResponse()

    async def Get(self, request, context):
        require_names(namespace=request.namespace, key=request.key)
        value = await self.store.kv_get(request.namespace, request.key)
        if value is None:
            raise not_found(f"key {request.key!r} not found")
        return pb.GetResponse(value=value)

    async def Delete(self, request, context):
        require_names(namespace=request.namespace, key=request.key)
        return pb.DeleteResponse(found=await self.store.kv_delete(request.namespace, request.key))

    async def Exists(self, request, context):
        require_names(namespace=request.namespace, key=request.key)
        return pb.ExistsResponse(exists=await self.store.kv_exists(request.namespace, request.key))


class KeyValueScan(_KeyValueServicer, pb_grpc.KeyValueScanServicer):
    interface = "keyvalue_scan"
    _add = staticmethod(pb_grpc.add_KeyValueScanServicer_to_server)

    def _check(self, request) -> None:
        require_names(namespace=request.namespace)
        if request.limit < 0:
            raise invalid("limit must be >= 0 (0 is unlimited)")

    async def Scan(self, request, context):
        self._check(request)
        async for key, value in self.store.kv_scan(request.namespace, request.prefix, request.limit, True):
            yield pb.ScanEntry(key=key, value=value)

    async def ScanKeys(self, request, context):
        self._check(request)
        async for key, _ in self.store.kv_scan(request.namespace, request.prefix, request.limit, False):
            yield pb.ScanKey(key=key)

    async def Count(self, request, context):
        require_names(namespace=request.namespace)
        return pb.CountResponse(count=await self.store.kv_count(request.namespace, request.prefix))


class KeyValueTTL(_KeyValueServicer, pb_grpc.KeyValueTTLServicer):
    interface = "keyvalue_ttl"
    _add = staticmethod(pb_grpc.add_KeyValueTTLServicer_to_server)

    @staticmethod
    def _check_ttl(ttl_ms: int) -> None:
        if ttl_ms <= 0:
            raise invalid(f"ttl_ms must be > 0, got {ttl_ms}")

    async def SetWithTTL(self, request, context):
        require_names(namespace=request.namespace, key=request.key)
        self._check_ttl(request.ttl_ms)
        self.check_value(request.value)
        await self.store.kv_set(request.namespace, request.key, request.value, request.ttl_ms)
        return pb.SetResponse()

    async def Expire(self, request, context):
        require_names(namespace=request.namespace, key=request.key)
        self._check_ttl(request.ttl_ms)
        return pb.ExpireResponse(found=await self.store.kv_expire(request.namespace, request.key, request.ttl_ms))

    async def GetTTL(self, request, context):
        require_names(namespace=request.namespace, key=request.key)
        ttl = await self.store.kv_ttl(request.namespace, request.key)
        if ttl is None:
            raise not_found(f"key {request.key!r} not found")
        if ttl < 0:
            return pb.GetTTLResponse(has_expiry=False)
        return pb.GetTTLResponse(has_expiry=True, remaining_ms=ttl)

    async def Persist(self, request, context):
        require_names(namespace=request.namespace, key=request.key)
        return pb.PersistResponse(had_expiry=await self.store.kv_persist(request.namespace, request.key))


_MISSING = object()


@dataclass
class _Transaction:
    namespace: str
    state: str = "open"  # open | committed | rolled back | aborted
    expected: dict[str, bytes | None] = field(default_factory=dict)  # first-seen values
    writes: dict[str, bytes | None] = field(default_factory=dict)  # None: delete


class KeyValueTransactional(_KeyValueServicer, pb_grpc.KeyValueTransactionalServicer):
    """Optimistic transactions: the first value seen of every key touched is validated at
    commit, atomically with the writes (KeyValueStore.kv_commit)."""

    interface = "keyvalue_transactional"
    _add = staticmethod(pb_grpc.add_KeyValueTransactionalServicer_to_server)
    _finished_kept = 10_000

    def __init__(self, store: KeyValueStore, limits: Limits):
        super().__init__(store, limits)
        self.transactions: OrderedDict[str, _Transaction] = OrderedDict()

    def _open(self, namespace: str, transaction_id: str) -> _Transaction:
        require_names(namespace=namespace, transaction_id=transaction_id)
        tx = self.transactions.get(transaction_id)
        if tx is None or tx.namespace != namespace:
            raise not_found(f"no transaction {transaction_id!r} in namespace {namespace!r}")
        if tx.state != "open":
            raise failed_precondition(f"transaction {transaction_id!r} is {tx.state}")
        return tx

    def _finish(self, transaction_id: str, tx: _Transaction, state: str) -> None:
        tx.state = state
        tx.expected.clear()
        tx.writes.clear()
        self.transactions.move_to_end(transaction_id)
        finished = [t for t, x in self.transactions.items() if x.state != "open"]
        for old in finished[: max(0, len(finished) - self._finished_kept)]:
            del self.transactions[old]

    async def _touch(self, tx: _Transaction, key: str) -> None:
        if key not in tx.expected:
            tx.expected[key] = await self.store.kv_get(tx.namespace, key)

    async def BeginTransaction(self, request, context):
        require_names(namespace=request.namespace)
        transaction_id = uuid.uuid4().hex
        self.transactions[transaction_id] = _Transaction(request.namespace)
        return pb.BeginTransactionResponse(transaction_id=transaction_id)

    async def Set(self, request, context):
        tx = self._open(request.namespace, request.transaction_id)
        require_names(key=request.key)
        self.check_value(request.value)
        await self._touch(tx, request.key)
        tx.writes[request.key] = request.value
        return pb.TxSetResponse()

    async def _current(self, tx: _Transaction, key: str) -> bytes | None:
        await self._touch(tx, key)
        value = tx.writes.get(key, _MISSING)
        return tx.expected[key] if value is _MISSING else value

    async def Get(self, request, context):
        tx = self._open(request.namespace, request.transaction_id)
        require_names(key=request.key)
        value = await self._current(tx, request.key)
        if value is None:
            raise not_found(f"key {request.key!r} not found in the transaction")
        return pb.GetResponse(value=value)

    async def Delete(self, request, context):
        tx = self._open(request.namespace, request.transaction_id)
        require_names(key=request.key)
        found = await self._current(tx, request.key) is not None
        tx.writes[request.key] = None
        return pb.DeleteResponse(found=found)

    async def Commit(self, request, context):
        tx = self._open(request.namespace, request.transaction_id)
        committed = await self.store.kv_commit(tx.namespace, dict(tx.expected), dict(tx.writes))
        self._finish(request.transaction_id, tx, "committed" if committed else "aborted")
        if not committed:
            raise aborted("a key this transaction touched was changed by someone else; retry the transaction")
        return pb.CommitResponse()

    async def Rollback(self, request, context):
        tx = self._open(request.namespace, request.transaction_id)
        self._finish(request.transaction_id, tx, "rolled back")
        return pb.RollbackResponse()


class KeyValueBatch(_KeyValueServicer, pb_grpc.KeyValueBatchServicer):
    interface = "keyvalue_batch"
    _add = staticmethod(pb_grpc.add_KeyValueBatchServicer_to_server)

    def _check_size(self, n: int) -> None:
        if n > self.limits.max_batch_size:
            raise invalid(f"batch of {n} exceeds max_batch_size={self.limits.max_batch_size}")

    async def BatchSet(self, request, context):
        require_names(namespace=request.namespace)
        self._check_size(len(request.entries))
        require_keys("entries.key", [e.key for e in request.entries])
        for e in request.entries:
            self.check_value(e.value)
        if request.entries:
            await self.store.kv_batch_set(request.namespace, {e.key: e.value for e in request.entries})
        return pb.BatchSetResponse()

    async def BatchGet(self, request, context):
        require_names(namespace=request.namespace)
        self._check_size(len(request.keys))
        require_keys("keys", request.keys)
        keys = list(request.keys)
        values = await self.store.kv_batch_get(request.namespace, keys) if keys else []
        return pb.BatchGetResponse(
            results=[
                pb.BatchGetResult(key=k, found=v is not None, value=v or b"") for k, v in zip(keys, values)
            ]
        )

    async def BatchDelete(self, request, context):
        require_names(namespace=request.namespace)
        self._check_size(len(request.keys))
        require_keys("keys", request.keys)
        keys = list(dict.fromkeys(request.keys))
        deleted = await self.store.kv_batch_delete(request.namespace, keys) if keys else 0
        return pb.BatchDeleteResponse(deleted=deleted)


class KeyValueCAS(_KeyValueServicer, pb_grpc.KeyValueCASServicer):
    interface = "keyvalue_cas"
    _add = staticmethod(pb_grpc.add_KeyValueCASServicer_to_server)

    async def CompareAndSwap(self, request, context):
        require_names(namespace=request.namespace, key=request.key)
        self.check_value(request.new_value)
        expected = request.expected if request.HasField("expected") else None
        swapped, current = await self.store.kv_compare_and_swap(request.namespace, request.key, expected, request.new_value)
        return pb.CompareAndSwapResponse(swapped=swapped, exists=current is not None, current_value=current or b"")

    async def CompareAndDelete(self, request, context):
        require_names(namespace=request.namespace, key=request.key)
        deleted, current = await self.store.kv_compare_and_delete(request.namespace, request.key, request.expected)
        return pb.CompareAndDeleteResponse(deleted=deleted, exists=current is not None, current_value=current or b"")


KEYVALUE_SERVICERS = (KeyValueBasic, KeyValueScan, KeyValueTTL, KeyValueTransactional, KeyValueBatch, KeyValueCAS)
