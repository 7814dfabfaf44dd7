"""keyvalue_batch: BatchSet, BatchGet, BatchDelete."""

from __future__ import annotations

import grpc
import pytest

from prism.keyvalue.v1 import keyvalue_pb2 as pb
from prism.keyvalue.v1 import keyvalue_pb2_grpc as pb_grpc
from prism_accept.suites.base import InterfaceSuite, check, expect_status, in_flight
from prism_accept.suites.requirements import requires


class KeyValueBatchTests(InterfaceSuite):
    interface = "keyvalue_batch"

    @pytest.fixture
    def batch(self, plugin):
        return pb_grpc.KeyValueBatchStub(plugin.channel)

    @staticmethod
    def put(batch, ns: str, items: list[tuple[str, bytes]]) -> None:
        batch.BatchSet(pb.BatchSetRequest(namespace=ns, entries=[pb.Entry(key=k, value=v) for k, v in items]))

    @staticmethod
    def fetch(batch, ns: str, keys: list[str]) -> list[tuple[str, bool, bytes]]:
        return [(r.key, r.found, r.value) for r in batch.BatchGet(pb.BatchGetRequest(namespace=ns, keys=keys)).results]

    @requires.limit("max_batch_size")
    def test_round_trip_of_1000_entries(self, batch, namespace, capabilities):
        n = min(1000, capabilities.limit("max_batch_size"))
        items = [(f"key-{i:04d}", i.to_bytes(2, "big") * (i % 7)) for i in range(n)]
        self.put(batch, namespace, items)
        keys = [k for k, _ in reversed(items)]
        check(f"BatchGet of {n} keys in reverse order", self.fetch(batch, namespace, keys), [(k, True, v) for k, v in reversed(items)])

    def test_batches_in_flight_at_once_all_apply(self, batch, namespace):
        """A caller's BatchSets in flight together (a plugin serves them concurrently) each
        answer OK and each lands whole: a plugin that shares one backend connection or statement
        across them must not trip over itself (seen: SQLite's SQLITE_MISUSE, answered INTERNAL)."""
        items = [(f"f-{i:05d}", i.to_bytes(2, "big")) for i in range(2000)]
        chunks = [items[i : i + 250] for i in range(0, len(items), 250)]
        for _ in range(3):  # a race needs a few chances to show
            in_flight(
                batch.BatchSet, (pb.BatchSetRequest(namespace=namespace, entries=[pb.Entry(key=k, value=v) for k, v in c]) for c in chunks)
            )
        got = [r for c in chunks for r in self.fetch(batch, namespace, [k for k, _ in c])]
        check("BatchGet after 8 BatchSets of 250 entries in flight at once, 3 times", got, [(k, True, v) for k, v in items])

    def test_mixed_found_and_missing(self, batch, namespace):
        self.put(batch, namespace, [("a", b"1"), ("c", b"3"), ("empty", b"")])
        check(
            "BatchGet of found and missing keys",
            self.fetch(batch, namespace, ["x", "a", "b", "c", "empty", "y"]),
            [("x", False, b""), ("a", True, b"1"), ("b", False, b""), ("c", True, b"3"), ("empty", True, b""), ("y", False, b"")],
        )

    def test_duplicate_keys_in_one_request(self, batch, namespace):
        self.put(batch, namespace, [("k", b"first"), ("other", b"o"), ("k", b"last")])
        check(
            "BatchGet with a key twice",
            self.fetch(batch, namespace, ["k", "other", "k"]),
            [("k", True, b"last"), ("other", True, b"o"), ("k", True, b"last")],
        )
        check(
            "BatchDelete with a key twice .deleted",
            batch.BatchDelete(pb.BatchDeleteRequest(namespace=namespace, keys=["k", "k", "missing"])).deleted,
            1,
        )
        check("BatchGet after BatchDelete", self.fetch(batch, namespace, ["k", "other"]), [("k", False, b""), ("other", True, b"o")])

    def test_empty_batch(self, batch, namespace):
        self.put(batch, namespace, [])
        check("BatchGet of no keys", self.fetch(batch, namespace, []), [])
        check("BatchDelete of no keys .deleted", batch.BatchDelete(pb.BatchDeleteRequest(namespace=namespace, keys=[])).deleted, 0)

    def test_batch_delete_counts_existing_keys(self, batch, namespace):
        self.put(batch, namespace, [("a", b"1"), ("b", b"2"), ("c", b"3"), ("keep", b"4")])
        check(
            "BatchDelete(3 existing, 2 missing).deleted",
            batch.BatchDelete(pb.BatchDeleteRequest(namespace=namespace, keys=["a", "x", "b", "y", "c"])).deleted,
            3,
        )
        check(
            "BatchGet after BatchDelete",
            self.fetch(batch, namespace, ["a", "b", "c", "keep"]),
            [("a", False, b""), ("b", False, b""), ("c", False, b""), ("keep", True, b"4")],
        )

    def test_binary_values_and_literal_keys(self, batch, namespace):
        items = [("all", bytes(range(256))), ("a*", b"\x00"), ("a?", b"\xff"), ("[a]", b"")]
        self.put(batch, namespace, items)
        check(
            "BatchGet of binary values",
            self.fetch(batch, namespace, [k for k, _ in items] + ["a"]),
            [(k, True, v) for k, v in items] + [("a", False, b"")],
        )

    @requires.limit("max_batch_size")
    def test_limit_is_enforced(self, batch, namespace, capabilities):
        limit = capabilities.limit("max_batch_size")
        self.put(batch, namespace, [(f"k{i}", b"v") for i in range(limit)])
        over = [f"over{i}" for i in range(limit + 1)]
        expect_status(
            f"BatchSet of max_batch_size + 1 = {limit + 1}",
            grpc.StatusCode.INVALID_ARGUMENT,
            lambda: self.put(batch, namespace, [(k, b"v") for k in over]),
        )
        check("BatchGet after the rejected BatchSet", self.fetch(batch, namespace, over[:3]), [(k, False, b"") for k in over[:3]])
        expect_status(f"BatchGet of {limit + 1} keys", grpc.StatusCode.INVALID_ARGUMENT, lambda: self.fetch(batch, namespace, over))
        expect_status(
            f"BatchDelete of {limit + 1} keys",
            grpc.StatusCode.INVALID_ARGUMENT,
            lambda: batch.BatchDelete(pb.BatchDeleteRequest(namespace=namespace, keys=over)),
        )
        check(
            f"BatchGet of exactly max_batch_size = {limit} keys: all found",
            all(f for _, f, _ in self.fetch(batch, namespace, [f"k{i}" for i in range(limit)])),
            True,
        )

    def test_namespace_isolation(self, batch, namespace, related):
        other = related("-other")
        try:
            self.put(batch, namespace, [("k", b"mine")])
            self.put(batch, other, [("k", b"theirs")])
            check("BatchGet in own namespace", self.fetch(batch, namespace, ["k"]), [("k", True, b"mine")])
            batch.BatchDelete(pb.BatchDeleteRequest(namespace=other, keys=["k"]))
            check("BatchGet after BatchDelete in the other namespace", self.fetch(batch, namespace, ["k"]), [("k", True, b"mine")])
        finally:
            batch.BatchDelete(pb.BatchDeleteRequest(namespace=other, keys=["k"]))

    def test_empty_names_are_invalid(self, batch, namespace):
        expect_status("BatchSet with an empty namespace", grpc.StatusCode.INVALID_ARGUMENT, lambda: self.put(batch, "", [("k", b"v")]))
        expect_status(
            "BatchSet with an empty key", grpc.StatusCode.INVALID_ARGUMENT, lambda: self.put(batch, namespace, [("k", b"v"), ("", b"v")])
        )
        check("BatchGet after the rejected BatchSet", self.fetch(batch, namespace, ["k"]), [("k", False, b"")])
        expect_status("BatchGet with an empty key", grpc.StatusCode.INVALID_ARGUMENT, lambda: self.fetch(batch, namespace, [""]))
