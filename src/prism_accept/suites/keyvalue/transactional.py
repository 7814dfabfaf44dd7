"""keyvalue_transactional: BeginTransaction, Set/Get/Delete inside it, Commit, Rollback.

Visibility outside a transaction is observed through keyvalue_basic."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest

from prism.keyvalue.v1 import keyvalue_pb2 as pb
from prism.keyvalue.v1 import keyvalue_pb2_grpc as pb_grpc
from prism_accept.suites.base import InterfaceSuite, check, expect_status
from prism_accept.suites.requirements import requires


class Tx:
    """One transaction, for readable cases."""

    def __init__(self, stub, ns: str):
        self.stub = stub
        self.ns = ns
        self.id = stub.BeginTransaction(pb.BeginTransactionRequest(namespace=ns)).transaction_id

    def set(self, key: str, value: bytes):
        return self.stub.Set(pb.TxSetRequest(namespace=self.ns, transaction_id=self.id, key=key, value=value))

    def get(self, key: str) -> bytes:
        return self.stub.Get(pb.TxGetRequest(namespace=self.ns, transaction_id=self.id, key=key)).value

    def delete(self, key: str) -> bool:
        return self.stub.Delete(pb.TxDeleteRequest(namespace=self.ns, transaction_id=self.id, key=key)).found

    def commit(self):
        return self.stub.Commit(pb.CommitRequest(namespace=self.ns, transaction_id=self.id))

    def rollback(self):
        return self.stub.Rollback(pb.RollbackRequest(namespace=self.ns, transaction_id=self.id))


@requires.interface("keyvalue_basic")  # what is visible outside a transaction is read with Get
class KeyValueTransactionalTests(InterfaceSuite):
    interface = "keyvalue_transactional"

    @pytest.fixture
    def tx(self, plugin, namespace):
        stub = pb_grpc.KeyValueTransactionalStub(plugin.channel)
        return lambda ns=namespace: Tx(stub, ns)

    @pytest.fixture
    def basic(self, plugin):
        return pb_grpc.KeyValueBasicStub(plugin.channel)

    @staticmethod
    def outside(basic, ns: str, key: str) -> bytes | None:
        try:
            return basic.Get(pb.GetRequest(namespace=ns, key=key)).value
        except grpc.RpcError as e:
            if e.code() == grpc.StatusCode.NOT_FOUND:
                return None
            raise

    def test_invisible_before_commit_visible_after(self, tx, basic, namespace):
        t = tx()
        t.set("k", b"v")
        check("Get outside before Commit", self.outside(basic, namespace, "k"), None)
        t.commit()
        check("Get outside after Commit", self.outside(basic, namespace, "k"), b"v")

    def test_rollback_discards(self, tx, basic, namespace):
        basic.Set(pb.SetRequest(namespace=namespace, key="kept", value=b"old"))
        t = tx()
        t.set("new", b"v")
        t.set("kept", b"changed")
        t.delete("kept")
        t.rollback()
        check("Get 'new' after Rollback", self.outside(basic, namespace, "new"), None)
        check("Get 'kept' after Rollback", self.outside(basic, namespace, "kept"), b"old")

    def test_atomic_multi_key_commit(self, tx, basic, namespace):
        basic.Set(pb.SetRequest(namespace=namespace, key="gone", value=b"x"))
        t = tx()
        for i in range(10):
            t.set(f"k{i}", bytes([i]))
        t.delete("gone")
        t.commit()
        check("Gets after a 10-key Commit", [self.outside(basic, namespace, f"k{i}") for i in range(10)], [bytes([i]) for i in range(10)])
        check("Get of the key deleted in the transaction", self.outside(basic, namespace, "gone"), None)

    @requires.behaviour("keyvalue_transactional", "conflict", "abort")
    def test_aborted_commit_applies_nothing(self, tx, basic, namespace):
        basic.Set(pb.SetRequest(namespace=namespace, key="guard", value=b"0"))
        t = tx()
        t.get("guard")
        for i in range(5):
            t.set(f"k{i}", b"v")
        basic.Set(pb.SetRequest(namespace=namespace, key="guard", value=b"1"))
        expect_status("Commit after a key it read changed", grpc.StatusCode.ABORTED, t.commit)
        check("keys written by the aborted transaction", [self.outside(basic, namespace, f"k{i}") for i in range(5)], [None] * 5)

    def test_read_your_writes(self, tx, basic, namespace):
        basic.Set(pb.SetRequest(namespace=namespace, key="outside", value=b"o"))
        t = tx()
        check("Get in a transaction of a key set outside", t.get("outside"), b"o")
        expect_status("Get in a transaction of a missing key", grpc.StatusCode.NOT_FOUND, lambda: t.get("k"))
        t.set("k", b"mine")
        check("Get of the transaction's own write", t.get("k"), b"mine")
        check("Delete of the transaction's own write .found", t.delete("k"), True)
        expect_status("Get after the transaction's Delete", grpc.StatusCode.NOT_FOUND, lambda: t.get("k"))
        check("Delete of a key deleted in the transaction .found", t.delete("k"), False)
        check("Delete in a transaction of a key set outside .found", t.delete("outside"), True)
        check("Get outside before Commit", self.outside(basic, namespace, "outside"), b"o")
        t.commit()
        check("Get outside after Commit", self.outside(basic, namespace, "outside"), None)

    @requires.behaviour("keyvalue_transactional", "conflict", "abort")
    def test_conflicting_transactions(self, tx, basic, namespace):
        basic.Set(pb.SetRequest(namespace=namespace, key="counter", value=b"0"))
        t1, t2 = tx(), tx()
        v1, v2 = int(t1.get("counter")), int(t2.get("counter"))
        t1.set("counter", str(v1 + 1).encode())
        t2.set("counter", str(v2 + 1).encode())
        t1.commit()
        expect_status("second Commit of a read-modify-write on the same key", grpc.StatusCode.ABORTED, t2.commit)
        check("counter after one Commit and one abort", self.outside(basic, namespace, "counter"), b"1")

    @requires.behaviour("keyvalue_transactional", "conflict", "abort")
    def test_blind_writes_to_one_key_conflict(self, tx, basic, namespace):
        t1, t2 = tx(), tx()
        t1.set("k", b"1")
        t2.set("k", b"2")
        t1.commit()
        expect_status("second Commit writing the same key", grpc.StatusCode.ABORTED, t2.commit)
        check("value after the conflict", self.outside(basic, namespace, "k"), b"1")

    def test_concurrent_increments_lose_no_update(self, tx, basic, namespace):
        basic.Set(pb.SetRequest(namespace=namespace, key="n", value=b"0"))
        workers, per_worker = 4, 5
        aborts = []

        def increment() -> None:
            for _ in range(per_worker):
                for _attempt in range(200):
                    t = tx()
                    t.set("n", str(int(t.get("n")) + 1).encode())
                    try:
                        t.commit()
                        break
                    except grpc.RpcError as e:
                        if e.code() != grpc.StatusCode.ABORTED:
                            raise
                        aborts.append(1)
                else:
                    raise AssertionError("Commit: ABORTED 200 times in a row, want progress")

        with ThreadPoolExecutor(workers) as pool:
            for f in [pool.submit(increment) for _ in range(workers)]:
                f.result()
        check(
            f"counter after {workers}x{per_worker} transactional increments",
            self.outside(basic, namespace, "n"),
            str(workers * per_worker).encode(),
        )

    def test_use_after_commit_or_rollback(self, tx, namespace):
        for finish in ("commit", "rollback"):
            t = tx()
            t.set("k", b"v")
            getattr(t, finish)()
            for op, call in (
                ("Set", lambda: t.set("k", b"w")),
                ("Get", lambda: t.get("k")),
                ("Delete", lambda: t.delete("k")),
                ("Commit", t.commit),
                ("Rollback", t.rollback),
            ):
                expect_status(f"{op} after {finish}", grpc.StatusCode.FAILED_PRECONDITION, call)

    @requires.behaviour("keyvalue_transactional", "conflict", "abort")
    def test_use_after_aborted_commit(self, tx, basic, namespace):
        t = tx()
        expect_status("Get in a transaction of a missing key", grpc.StatusCode.NOT_FOUND, lambda: t.get("k"))
        basic.Set(pb.SetRequest(namespace=namespace, key="k", value=b"x"))
        expect_status("Commit after a conflicting write", grpc.StatusCode.ABORTED, t.commit)
        expect_status("Commit again after ABORTED", grpc.StatusCode.FAILED_PRECONDITION, t.commit)

    def test_unknown_transaction(self, plugin, tx, namespace):
        stub = pb_grpc.KeyValueTransactionalStub(plugin.channel)
        expect_status(
            "Get with an unknown transaction id",
            grpc.StatusCode.NOT_FOUND,
            lambda: stub.Get(pb.TxGetRequest(namespace=namespace, transaction_id="no-such-transaction", key="k")),
        )
        expect_status(
            "Commit with an unknown transaction id",
            grpc.StatusCode.NOT_FOUND,
            lambda: stub.Commit(pb.CommitRequest(namespace=namespace, transaction_id="no-such-transaction")),
        )
        t = tx()
        expect_status(
            "Commit of a transaction from another namespace",
            grpc.StatusCode.NOT_FOUND,
            lambda: stub.Commit(pb.CommitRequest(namespace=namespace + "-other", transaction_id=t.id)),
        )
        t.rollback()

    def test_transactions_are_independent(self, tx, basic, namespace):
        t1, t2, t3 = tx(), tx(), tx()
        t1.set("a", b"1")
        expect_status("Get in another open transaction of an uncommitted write", grpc.StatusCode.NOT_FOUND, lambda: t2.get("a"))
        t2.rollback()
        t3.set("b", b"2")
        t1.commit()
        t3.commit()
        check(
            "both disjoint transactions committed", (self.outside(basic, namespace, "a"), self.outside(basic, namespace, "b")), (b"1", b"2")
        )

    def test_empty_names_are_invalid(self, plugin, tx, namespace):
        stub = pb_grpc.KeyValueTransactionalStub(plugin.channel)
        expect_status(
            "BeginTransaction with an empty namespace",
            grpc.StatusCode.INVALID_ARGUMENT,
            lambda: stub.BeginTransaction(pb.BeginTransactionRequest(namespace="")),
        )
        t = tx()
        expect_status("Set with an empty key", grpc.StatusCode.INVALID_ARGUMENT, lambda: t.set("", b"v"))
        t.rollback()
