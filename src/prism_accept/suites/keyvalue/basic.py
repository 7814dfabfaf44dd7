"""keyvalue_basic: Set, Get, Delete, Exists (INTERFACES.md; the 10 cases of RFC-015 first)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest

from prism.keyvalue.v1 import keyvalue_pb2 as pb
from prism.keyvalue.v1 import keyvalue_pb2_grpc as pb_grpc
from prism_accept.suites.base import InterfaceSuite, check, expect_status
from prism_accept.suites.requirements import requires
from prism_accept.suites.rows import AllRows

ALL_BYTES = bytes(range(256))
METACHARACTER_KEYS = ["a*", "a?", "[ab]", "a[", "%", "_", "a.b", "a:b", "a b", "\\", "'", '"', "a/b", "*", "?", "a%_"]


def get(kv, ns: str, key: str) -> bytes:
    return kv.Get(pb.GetRequest(namespace=ns, key=key)).value


class KeyValueBasicTests(InterfaceSuite):
    interface = "keyvalue_basic"

    @pytest.fixture
    def kv(self, plugin):
        return pb_grpc.KeyValueBasicStub(plugin.channel)

    def set(self, kv, ns: str, key: str, value: bytes) -> None:
        kv.Set(pb.SetRequest(namespace=ns, key=key, value=value))

    # RFC-015's ten cases
    def test_set(self, kv, namespace):
        self.set(kv, namespace, "test-key", b"test-value")
        check("Get after Set", get(kv, namespace, "test-key"), b"test-value")

    def test_get(self, kv, namespace):
        self.set(kv, namespace, "get-test-key", b"get-test-value")
        check("Get", get(kv, namespace, "get-test-key"), b"get-test-value")
        check("Get again (reads do not consume)", get(kv, namespace, "get-test-key"), b"get-test-value")

    def test_delete(self, kv, namespace):
        self.set(kv, namespace, "delete-test-key", b"v")
        check("Delete.found", kv.Delete(pb.DeleteRequest(namespace=namespace, key="delete-test-key")).found, True)
        expect_status("Get after Delete", grpc.StatusCode.NOT_FOUND, lambda: get(kv, namespace, "delete-test-key"))

    def test_exists(self, kv, namespace):
        self.set(kv, namespace, "exists-test-key", b"v")
        check("Exists", kv.Exists(pb.ExistsRequest(namespace=namespace, key="exists-test-key")).exists, True)

    def test_set_get_delete(self, kv, namespace):
        self.set(kv, namespace, "lifecycle-key", b"lifecycle-value")
        check("Get", get(kv, namespace, "lifecycle-key"), b"lifecycle-value")
        check("Delete.found", kv.Delete(pb.DeleteRequest(namespace=namespace, key="lifecycle-key")).found, True)
        check("Exists after Delete", kv.Exists(pb.ExistsRequest(namespace=namespace, key="lifecycle-key")).exists, False)
        check("Delete again .found", kv.Delete(pb.DeleteRequest(namespace=namespace, key="lifecycle-key")).found, False)

    def test_get_non_existent(self, kv, namespace):
        expect_status("Get of a missing key", grpc.StatusCode.NOT_FOUND, lambda: get(kv, namespace, "non-existent-key"))

    def test_delete_non_existent(self, kv, namespace):
        check("Delete(missing).found", kv.Delete(pb.DeleteRequest(namespace=namespace, key="non-existent-key")).found, False)
        check("Exists after Delete(missing)", kv.Exists(pb.ExistsRequest(namespace=namespace, key="non-existent-key")).exists, False)

    def test_exists_non_existent(self, kv, namespace):
        check("Exists(missing)", kv.Exists(pb.ExistsRequest(namespace=namespace, key="non-existent-key")).exists, False)

    def test_overwrite_value(self, kv, namespace):
        self.set(kv, namespace, "overwrite-key", b"initial-value")
        self.set(kv, namespace, "overwrite-key", b"new")
        check("Get after overwrite", get(kv, namespace, "overwrite-key"), b"new")

    def test_concurrent_sets(self, kv, namespace):
        with ThreadPoolExecutor(16) as pool:
            list(pool.map(lambda i: self.set(kv, namespace, f"concurrent-key-{i}", f"concurrent-value-{i}".encode()), range(100)))
        with AllRows() as rows:
            for i in range(100):
                rows.check(f"Get concurrent-key-{i}", get(kv, namespace, f"concurrent-key-{i}"), f"concurrent-value-{i}".encode())

    # INTERFACES.md
    def test_binary_safe_values(self, kv, namespace):
        values = {"all-bytes": ALL_BYTES, "nul-inside": b"a\x00b\x00", "not-utf8": b"\xff\xfe\xc3\x28", "trailing-nul": b"x\x00"}
        for key, value in values.items():
            self.set(kv, namespace, key, value)
        with AllRows() as rows:
            for key, value in values.items():
                rows.check(f"Get {key}", get(kv, namespace, key), value)

    def test_empty_value_is_not_missing(self, kv, namespace):
        self.set(kv, namespace, "empty", b"")
        check("Get of an empty value", get(kv, namespace, "empty"), b"")
        check("Exists of an empty value", kv.Exists(pb.ExistsRequest(namespace=namespace, key="empty")).exists, True)
        check("Delete of an empty value .found", kv.Delete(pb.DeleteRequest(namespace=namespace, key="empty")).found, True)
        expect_status("Get after Delete", grpc.StatusCode.NOT_FOUND, lambda: get(kv, namespace, "empty"))

    @requires.limit("max_value_bytes")
    def test_large_value_up_to_limit(self, kv, namespace, capabilities):
        limit = capabilities.limit("max_value_bytes")
        value = (ALL_BYTES * (limit // 256 + 1))[:limit]
        self.set(kv, namespace, "large", value)
        got = get(kv, namespace, "large")
        check("Get of a max_value_bytes value: length", len(got), limit)
        check("Get of a max_value_bytes value: content equal", got == value, True)

    @requires.limit("max_value_bytes")
    def test_value_over_limit_is_invalid(self, kv, namespace, capabilities):
        limit = capabilities.limit("max_value_bytes")
        expect_status(
            "Set of max_value_bytes + 1", grpc.StatusCode.INVALID_ARGUMENT, lambda: self.set(kv, namespace, "too-large", b"x" * (limit + 1))
        )
        check("Exists after a rejected Set", kv.Exists(pb.ExistsRequest(namespace=namespace, key="too-large")).exists, False)

    def test_keys_with_metacharacters_are_literal(self, kv, namespace):
        for i, key in enumerate(METACHARACTER_KEYS):
            self.set(kv, namespace, key, f"v{i}".encode())
        with AllRows() as rows:
            for i, key in enumerate(METACHARACTER_KEYS):
                rows.check(f"Get {key!r}", get(kv, namespace, key), f"v{i}".encode())
        with AllRows() as rows:
            for missing in ["ab", "a", "b", "ax", "a.c", "ac", "x"]:
                rows.check(
                    f"Exists {missing!r} (only look-alikes were set)",
                    kv.Exists(pb.ExistsRequest(namespace=namespace, key=missing)).exists,
                    False,
                )
        check("Delete 'a*'", kv.Delete(pb.DeleteRequest(namespace=namespace, key="a*")).found, True)
        check("Get 'a?' after deleting 'a*'", get(kv, namespace, "a?"), b"v1")

    def test_unicode_keys(self, kv, namespace):
        keys = ["ключ", "キー", "🔑", "e\u0301", "\u00e9"]
        for i, key in enumerate(keys):
            self.set(kv, namespace, key, bytes([i]))
        with AllRows() as rows:
            for i, key in enumerate(keys):
                rows.check(f"Get {key!r}", get(kv, namespace, key), bytes([i]))

    def test_namespace_isolation(self, kv, namespace, related):
        other = related("-other")
        try:
            self.set(kv, namespace, "shared", b"mine")
            self.set(kv, other, "shared", b"theirs")
            check("Get in own namespace", get(kv, namespace, "shared"), b"mine")
            check("Get in other namespace", get(kv, other, "shared"), b"theirs")
            kv.Delete(pb.DeleteRequest(namespace=other, key="shared"))
            check("Get after Delete in the other namespace", get(kv, namespace, "shared"), b"mine")
            expect_status("Get in a namespace never written", grpc.StatusCode.NOT_FOUND, lambda: get(kv, namespace + "-none", "shared"))
            # Namespace and key joined naively ("ns:key") would collide here.
            self.set(kv, related(":x"), "y", b"1")
            expect_status("Get ns + ':x' / 'y' as ns / 'x:y'", grpc.StatusCode.NOT_FOUND, lambda: get(kv, namespace, "x:y"))
            self.set(kv, namespace, "x:y", b"2")
            check("Get ns + ':x' / 'y' after setting ns / 'x:y'", get(kv, related(":x"), "y"), b"1")
        finally:
            kv.Delete(pb.DeleteRequest(namespace=other, key="shared"))
            kv.Delete(pb.DeleteRequest(namespace=related(":x"), key="y"))

    def test_namespaces_with_separators_are_distinct(self, kv, namespace, related):
        """The same key in namespaces that differ only after a separator (`:`, `/`, `.`): an
        encoding that cuts or joins namespaces at one would merge them."""
        spaces = [namespace, related(":kv"), related(":"), related("/kv"), related(".kv"), related(":kv:k")]
        for i, ns in enumerate(spaces):
            self.set(kv, ns, "shared", f"v{i}".encode())
        check("Get 'shared' in each namespace", [get(kv, ns, "shared") for ns in spaces], [f"v{i}".encode() for i in range(len(spaces))])
        check(f"Delete 'shared' in {spaces[1]!r} .found", kv.Delete(pb.DeleteRequest(namespace=spaces[1], key="shared")).found, True)
        check(
            "Exists 'shared' in each namespace after deleting it in the second",
            [kv.Exists(pb.ExistsRequest(namespace=ns, key="shared")).exists for ns in spaces],
            [i != 1 for i in range(len(spaces))],
        )

    def test_concurrent_set_get_on_one_key(self, kv, namespace):
        written = {bytes([i]) * 4096 for i in range(1, 21)}
        seen: list[bytes] = []
        stop = threading.Event()

        def read() -> None:
            while not stop.is_set():
                try:
                    seen.append(get(kv, namespace, "hot"))
                except grpc.RpcError as e:
                    if e.code() != grpc.StatusCode.NOT_FOUND:
                        raise

        with ThreadPoolExecutor(8) as pool:
            readers = [pool.submit(read) for _ in range(3)]
            list(pool.map(lambda v: self.set(kv, namespace, "hot", v), sorted(written) * 3))
            stop.set()
            for r in readers:
                r.result()
        torn = [v[:8] for v in seen if v not in written]
        check("values read during concurrent Sets that were never written", torn, [])
        check("final value is one that was written", get(kv, namespace, "hot") in written, True)

    def test_empty_names_are_invalid(self, kv, namespace):
        for what, ns, key in (("namespace", "", "k"), ("key", namespace, "")):
            expect_status(
                f"Set with empty {what}", grpc.StatusCode.INVALID_ARGUMENT, lambda: kv.Set(pb.SetRequest(namespace=ns, key=key, value=b"v"))
            )
            expect_status(f"Get with empty {what}", grpc.StatusCode.INVALID_ARGUMENT, lambda: kv.Get(pb.GetRequest(namespace=ns, key=key)))
            expect_status(
                f"Delete with empty {what}", grpc.StatusCode.INVALID_ARGUMENT, lambda: kv.Delete(pb.DeleteRequest(namespace=ns, key=key))
            )
            expect_status(
                f"Exists with empty {what}", grpc.StatusCode.INVALID_ARGUMENT, lambda: kv.Exists(pb.ExistsRequest(namespace=ns, key=key))
            )
