"""keyvalue_cas: CompareAndSwap, CompareAndDelete. The suite observes state only through the
CAS responses, so it needs no other interface."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest

from prism.keyvalue.v1 import keyvalue_pb2 as pb
from prism.keyvalue.v1 import keyvalue_pb2_grpc as pb_grpc
from prism_accept.suites.base import InterfaceSuite, check, expect_status


class KeyValueCASTests(InterfaceSuite):
    interface = "keyvalue_cas"

    @pytest.fixture
    def cas(self, plugin):
        return pb_grpc.KeyValueCASStub(plugin.channel)

    @staticmethod
    def swap(cas, ns: str, key: str, new: bytes, expected: bytes | None = None):
        req = pb.CompareAndSwapRequest(namespace=ns, key=key, new_value=new)
        if expected is not None:
            req.expected = expected
        r = cas.CompareAndSwap(req)
        return r.swapped, (r.current_value if r.exists else None)

    def current(self, cas, ns: str, key: str) -> bytes | None:
        """The value, read by a swap that cannot match (a fresh random expected value)."""
        swapped, value = self.swap(cas, ns, key, b"never-written", expected=os.urandom(16))
        assert not swapped, "CompareAndSwap with a random expected value swapped"
        return value

    def test_create_if_absent(self, cas, namespace):
        check("CompareAndSwap(absent) on a missing key", self.swap(cas, namespace, "k", b"v1"), (True, b"v1"))
        check("CompareAndSwap(absent) on an existing key", self.swap(cas, namespace, "k", b"v2"), (False, b"v1"))
        check("value after the failed create", self.current(cas, namespace, "k"), b"v1")

    def test_swap_on_match(self, cas, namespace):
        self.swap(cas, namespace, "k", b"v1")
        check("CompareAndSwap(v1 -> v2)", self.swap(cas, namespace, "k", b"v2", expected=b"v1"), (True, b"v2"))
        check("value after the swap", self.current(cas, namespace, "k"), b"v2")

    def test_no_swap_on_mismatch(self, cas, namespace):
        self.swap(cas, namespace, "k", b"v1")
        check("CompareAndSwap(expected 'other')", self.swap(cas, namespace, "k", b"v2", expected=b"other"), (False, b"v1"))
        check("CompareAndSwap(expected a prefix of the value)", self.swap(cas, namespace, "k", b"v2", expected=b"v"), (False, b"v1"))
        check("CompareAndSwap(expected on a missing key)", self.swap(cas, namespace, "missing", b"v", expected=b"v1"), (False, None))
        check("missing key after a failed swap", self.current(cas, namespace, "missing"), None)

    def test_empty_expected_is_not_absent(self, cas, namespace):
        check("CompareAndSwap(expected b'') on a missing key", self.swap(cas, namespace, "k", b"x", expected=b""), (False, None))
        self.swap(cas, namespace, "k", b"")
        check("CompareAndSwap(absent) on a key holding b''", self.swap(cas, namespace, "k", b"x"), (False, b""))
        check("CompareAndSwap(expected b'') on a key holding b''", self.swap(cas, namespace, "k", b"x", expected=b""), (True, b"x"))

    def test_binary_values(self, cas, namespace):
        a, b = bytes(range(256)), bytes(range(255, -1, -1))
        self.swap(cas, namespace, "k", a)
        check("CompareAndSwap(expected all 256 bytes)", self.swap(cas, namespace, "k", b, expected=a), (True, b))
        check("CompareAndSwap(expected the old binary value)", self.swap(cas, namespace, "k", a, expected=a), (False, b))

    def test_compare_and_delete(self, cas, namespace):
        self.swap(cas, namespace, "k", b"v")
        r = cas.CompareAndDelete(pb.CompareAndDeleteRequest(namespace=namespace, key="k", expected=b"other"))
        check("CompareAndDelete(mismatch)", (r.deleted, r.exists, r.current_value), (False, True, b"v"))
        r = cas.CompareAndDelete(pb.CompareAndDeleteRequest(namespace=namespace, key="k", expected=b"v"))
        check("CompareAndDelete(match)", (r.deleted, r.exists), (True, False))
        check("value after CompareAndDelete", self.current(cas, namespace, "k"), None)
        r = cas.CompareAndDelete(pb.CompareAndDeleteRequest(namespace=namespace, key="k", expected=b"v"))
        check("CompareAndDelete of a missing key", (r.deleted, r.exists), (False, False))
        r = cas.CompareAndDelete(pb.CompareAndDeleteRequest(namespace=namespace, key="k", expected=b""))
        check("CompareAndDelete(expected b'') of a missing key", (r.deleted, r.exists), (False, False))

    def test_concurrent_increments_end_at_exactly_n(self, cas, namespace):
        workers, per_worker = 8, 25
        self.swap(cas, namespace, "counter", b"0")

        def increment() -> int:
            swaps = 0
            current = self.current(cas, namespace, "counter")
            while swaps < per_worker:
                assert current is not None, "CompareAndSwap: the counter vanished"
                ok, value = self.swap(cas, namespace, "counter", str(int(current) + 1).encode(), expected=current)
                swaps += ok
                current = value
            return swaps

        with ThreadPoolExecutor(workers) as pool:
            done = sum(pool.map(lambda _: increment(), range(workers)))
        check("successful swaps", done, workers * per_worker)
        check(
            f"counter after {workers}x{per_worker} CAS increments",
            self.current(cas, namespace, "counter"),
            str(workers * per_worker).encode(),
        )

    def test_namespace_isolation(self, cas, namespace, related):
        other = related("-other")
        self.swap(cas, namespace, "k", b"mine")
        check("CompareAndSwap(absent) in another namespace", self.swap(cas, other, "k", b"theirs"), (True, b"theirs"))
        check("own value", self.current(cas, namespace, "k"), b"mine")
        cas.CompareAndDelete(pb.CompareAndDeleteRequest(namespace=other, key="k", expected=b"theirs"))

    def test_empty_names_are_invalid(self, cas, namespace):
        expect_status("CompareAndSwap with an empty key", grpc.StatusCode.INVALID_ARGUMENT, lambda: self.swap(cas, namespace, "", b"v"))
        expect_status("CompareAndSwap with an empty namespace", grpc.StatusCode.INVALID_ARGUMENT, lambda: self.swap(cas, "", "k", b"v"))
        expect_status(
            "CompareAndDelete with an empty key",
            grpc.StatusCode.INVALID_ARGUMENT,
            lambda: cas.CompareAndDelete(pb.CompareAndDeleteRequest(namespace=namespace, key="", expected=b"v")),
        )
