"""keyvalue_transactional: BeginTransaction, Set/Get/Delete inside it, Commit, Rollback.

A backend with native transactions (PostgreSQL, Redis WATCH/MULTI) implements `Store` itself;
any backend with an atomic conditional write gets them from `OptimisticTransactions`, which
implements `Store` over a `CommitStore`.
"""

from __future__ import annotations

import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Protocol

from prism.keyvalue.v1 import keyvalue_pb2 as pb
from prism.keyvalue.v1 import keyvalue_pb2_grpc as pb_grpc
from prism_plugin.contract import InterfaceServicer
from prism_plugin.status import aborted, failed_precondition, not_found, resource_exhausted, shown


class Store(Protocol):
    """Transactions by id. Raise NOT_FOUND for an unknown id (or one of another namespace),
    FAILED_PRECONDITION for a finished one, ABORTED when Commit loses to a concurrent writer."""

    async def begin(self, ns: str) -> str:
        ...

    async def tx_get(self, ns: str, tx: str, key: str) -> bytes | None:
        """The value as the transaction sees it (its own writes included); None when missing."""

    async def tx_set(self, ns: str, tx: str, key: str, value: bytes) -> None:
        ...

    async def tx_delete(self, ns: str, tx: str, key: str) -> bool:
        """Whether the key existed, as the transaction sees it."""

    async def commit(self, ns: str, tx: str) -> None:
        ...

    async def rollback(self, ns: str, tx: str) -> None:
        ...


class CommitStore(Protocol):
    async def get(self, ns: str, key: str) -> bytes | None:
        ...

    async def commit_if_unchanged(self, ns: str, expected: dict[str, bytes | None], writes: dict[str, bytes | None]) -> bool:
        """Atomically: if every key of `expected` still has that value (None: absent), apply
        `writes` (None: delete) and return True; else change nothing and return False."""


_UNSEEN = object()


@dataclass
class _Transaction:
    namespace: str
    state: str = "open"  # open | committed | rolled back | aborted
    expected: dict[str, bytes | None] = field(default_factory=dict)  # first-seen values
    writes: dict[str, bytes | None] = field(default_factory=dict)  # None: delete


class OptimisticTransactions:
    """Transactions emulated optimistically: the first value seen of every key touched is
    validated at commit, atomically with the writes. Bounded: at most `max_open` open
    transactions (the oldest is aborted past that) and `max_finished` remembered finished ones."""

    def __init__(self, store: CommitStore, max_open: int = 10_000, max_finished: int = 10_000):
        self.store = store
        self.max_open = max_open
        self.max_finished = max_finished
        self._open: OrderedDict[str, _Transaction] = OrderedDict()
        self._finished: OrderedDict[str, _Transaction] = OrderedDict()

    def _get(self, ns: str, tx_id: str) -> _Transaction:
        tx = self._open.get(tx_id) or self._finished.get(tx_id)
        if tx is None or tx.namespace != ns:
            raise not_found(f"no transaction {shown(tx_id)} in this namespace")
        if tx.state != "open":
            raise failed_precondition(f"transaction {shown(tx_id)} is {tx.state}")
        return tx

    def _finish(self, tx_id: str, state: str) -> None:
        tx = self._open.pop(tx_id)
        tx.state = state
        tx.expected.clear()
        tx.writes.clear()
        self._finished[tx_id] = tx
        while len(self._finished) > self.max_finished:
            self._finished.popitem(last=False)

    async def _seen(self, tx: _Transaction, key: str) -> bytes | None:
        if key not in tx.expected:
            tx.expected[key] = await self.store.get(tx.namespace, key)
        value = tx.writes.get(key, _UNSEEN)
        return tx.expected[key] if value is _UNSEEN else value  # type: ignore[return-value]

    async def begin(self, ns: str) -> str:
        if len(self._open) >= self.max_open:
            oldest = next(iter(self._open))
            self._finish(oldest, "aborted")
        tx_id = uuid.uuid4().hex
        self._open[tx_id] = _Transaction(ns)
        return tx_id

    async def tx_get(self, ns: str, tx: str, key: str) -> bytes | None:
        return await self._seen(self._get(ns, tx), key)

    async def tx_set(self, ns: str, tx: str, key: str, value: bytes) -> None:
        t = self._get(ns, tx)
        if len(t.expected) >= self.max_open:
            raise resource_exhausted(f"a transaction may touch at most {self.max_open} keys")
        await self._seen(t, key)
        t.writes[key] = value

    async def tx_delete(self, ns: str, tx: str, key: str) -> bool:
        t = self._get(ns, tx)
        found = await self._seen(t, key) is not None
        t.writes[key] = None
        return found

    async def commit(self, ns: str, tx: str) -> None:
        t = self._get(ns, tx)
        committed = await self.store.commit_if_unchanged(ns, dict(t.expected), dict(t.writes))
        self._finish(tx, "committed" if committed else "aborted")
        if not committed:
            raise aborted("a key this transaction touched was changed by someone else; retry the transaction")

    async def rollback(self, ns: str, tx: str) -> None:
        self._get(ns, tx)
        self._finish(tx, "rolled back")


class Servicer(InterfaceServicer[Store], pb_grpc.KeyValueTransactionalServicer):
    async def BeginTransaction(self, request, context):
        return pb.BeginTransactionResponse(transaction_id=await self.store.begin(request.namespace))

    async def Set(self, request, context):
        await self.store.tx_set(request.namespace, request.transaction_id, request.key, request.value)
        return pb.TxSetResponse()

    async def Get(self, request, context):
        value = await self.store.tx_get(request.namespace, request.transaction_id, request.key)
        if value is None:
            raise not_found(f"key {shown(request.key)} not found in the transaction")
        return pb.GetResponse(value=value)

    async def Delete(self, request, context):
        return pb.DeleteResponse(found=await self.store.tx_delete(request.namespace, request.transaction_id, request.key))

    async def Commit(self, request, context):
        await self.store.commit(request.namespace, request.transaction_id)
        return pb.CommitResponse()

    async def Rollback(self, request, context):
        await self.store.rollback(request.namespace, request.transaction_id)
        return pb.RollbackResponse()
