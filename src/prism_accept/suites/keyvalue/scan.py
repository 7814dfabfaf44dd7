"""keyvalue_scan: Scan, ScanKeys, Count (RFC-015's six cases, then INTERFACES.md's).

State is written through keyvalue_basic, which a scanning backend must also declare (and the
2,500 keys of the page case through keyvalue_batch where it is declared too)."""

from __future__ import annotations

from collections import Counter

import grpc
import pytest

from prism.keyvalue.v1 import keyvalue_pb2 as pb
from prism.keyvalue.v1 import keyvalue_pb2_grpc as pb_grpc
from prism_accept.suites.base import InterfaceSuite, check, expect_status, in_flight
from prism_accept.suites.requirements import requires
from prism_accept.suites.rows import AllRows

LITERAL_PREFIX_KEYS = ["a*b", "a*c", "axb", "ab", "a?", "aa", "[x]1", "x1", "[x", "%1", "a%", "11", "_1", "x_", "\\1", "1"]


@requires.interface("keyvalue_basic")  # every case seeds its keys with Set
class KeyValueScanTests(InterfaceSuite):
    interface = "keyvalue_scan"

    @pytest.fixture
    def scan(self, plugin):
        return pb_grpc.KeyValueScanStub(plugin.channel)

    @pytest.fixture
    def seed(self, plugin, namespace):
        basic = pb_grpc.KeyValueBasicStub(plugin.channel)

        def seed(items: dict[str, bytes], ns: str = namespace) -> None:
            in_flight(basic.Set, (pb.SetRequest(namespace=ns, key=k, value=v) for k, v in items.items()))

        seed.basic = basic
        return seed

    def scan_all(self, scan, ns: str, prefix: str = "", limit: int = 0) -> list[tuple[str, bytes]]:
        return [(e.key, e.value) for e in scan.Scan(pb.ScanRequest(namespace=ns, prefix=prefix, limit=limit))]

    def scan_keys(self, scan, ns: str, prefix: str = "", limit: int = 0) -> list[str]:
        return [e.key for e in scan.ScanKeys(pb.ScanRequest(namespace=ns, prefix=prefix, limit=limit))]

    def count(self, scan, ns: str, prefix: str = "") -> int:
        return scan.Count(pb.CountRequest(namespace=ns, prefix=prefix)).count

    # RFC-015's six cases (with exact answers: every case has a namespace of its own)
    def test_scan_all(self, scan, seed, namespace):
        items = {f"scan-key-{i}": f"scan-value-{i}".encode() for i in range(10)}
        seed(items)
        got = self.scan_all(scan, namespace)
        check("Scan('') keys, sorted", sorted(k for k, _ in got), sorted(items))
        check("Scan('') as a dict", dict(got), items)

    def test_scan_prefix(self, scan, seed, namespace):
        seed(
            {f"user:{i}": f"user-data-{i}".encode() for i in range(5)}
            | {f"post:{i}": b"p" for i in range(5)}
            | {"xuser:1": b"x", "user": b"u"}
        )
        got = self.scan_all(scan, namespace, "user:")
        check("Scan('user:') keys", sorted(k for k, _ in got), [f"user:{i}" for i in range(5)])
        check("Scan('user:') values", dict(got), {f"user:{i}": f"user-data-{i}".encode() for i in range(5)})

    def test_scan_limit(self, scan, seed, namespace):
        seed({f"limit-key-{i}": b"v" for i in range(20)} | {f"other-{i}": b"v" for i in range(5)})
        got = self.scan_all(scan, namespace, "limit-key-", 10)
        keys = [k for k, _ in got]
        check("Scan(limit=10) count", len(keys), 10)
        check("Scan(limit=10) distinct", len(set(keys)), 10)
        check("Scan(limit=10) keys outside the prefix", [k for k in keys if not k.startswith("limit-key-")], [])
        check("Scan(limit=100) count", len(self.scan_all(scan, namespace, "limit-key-", 100)), 20)

    def test_scan_keys(self, scan, seed, namespace):
        seed({f"keys-only-{i}": f"large-value-{i}".encode() * 100 for i in range(5)} | {"other": b"v"})
        check("ScanKeys('keys-only-')", sorted(self.scan_keys(scan, namespace, "keys-only-")), [f"keys-only-{i}" for i in range(5)])

    def test_count(self, scan, seed, namespace):
        seed({f"count-key-{i}": b"v" for i in range(15)})
        check("Count('')", self.count(scan, namespace), 15)

    def test_count_with_prefix(self, scan, seed, namespace):
        seed({f"prefix-count-key-{i}": b"v" for i in range(10)} | {f"other-{i}": b"v" for i in range(7)} | {"prefix-count": b"v"})
        check("Count('prefix-count-')", self.count(scan, namespace, "prefix-count-"), 10)

    # INTERFACES.md
    def test_prefix_metacharacters_are_literal(self, scan, seed, namespace):
        seed({k: k.encode() for k in LITERAL_PREFIX_KEYS})
        with AllRows() as rows:
            for prefix in ["a*", "a?", "[x]", "[x", "%", "a%", "_", "x_", "\\", "a"]:
                want = sorted(k for k in LITERAL_PREFIX_KEYS if k.startswith(prefix))
                rows.check(f"ScanKeys({prefix!r})", sorted(self.scan_keys(scan, namespace, prefix)), want)
                rows.check(f"Count({prefix!r})", self.count(scan, namespace, prefix), len(want))
                rows.check(f"Scan({prefix!r}) values", dict(self.scan_all(scan, namespace, prefix)), {k: k.encode() for k in want})

    def test_scan_of_an_empty_namespace(self, scan, namespace):
        check("Scan of an empty namespace", self.scan_all(scan, namespace), [])
        check("ScanKeys of an empty namespace", self.scan_keys(scan, namespace), [])
        check("Count of an empty namespace", self.count(scan, namespace), 0)

    def test_scan_larger_than_a_page(self, plugin, scan, seed, namespace, capabilities):
        items = {f"big-{i:05d}": i.to_bytes(2, "big") for i in range(2500)}
        batch = capabilities.for_setup("keyvalue_batch", "max_batch_size")
        if batch:  # 5 BatchSets instead of 2,500 Sets (the other cases seed with Set)
            chunks, size = list(items.items()), min(batch, 500)
            requests = (
                pb.BatchSetRequest(namespace=namespace, entries=[pb.Entry(key=k, value=v) for k, v in chunks[i : i + size]])
                for i in range(0, len(chunks), size)
            )
            in_flight(pb_grpc.KeyValueBatchStub(plugin.channel).BatchSet, requests)
        else:
            seed(items)
        got = self.scan_all(scan, namespace)
        dupes = [k for k, n in Counter(k for k, _ in got).items() if n > 1]
        check("Scan of 2,500 keys: duplicates", dupes[:10], [])
        check("Scan of 2,500 keys: missing", sorted(set(items) - {k for k, _ in got})[:10], [])
        check("Scan of 2,500 keys: values", dict(got) == items, True)
        keys = self.scan_keys(scan, namespace)
        check("ScanKeys of 2,500 keys: count and distinct", (len(keys), len(set(keys))), (2500, 2500))
        check("Count of 2,500 keys", self.count(scan, namespace), 2500)
        check("Scan(limit=1500) of 2,500 keys", len({k for k, _ in self.scan_all(scan, namespace, "", 1500)}), 1500)

    def test_scan_sees_only_its_namespace(self, scan, seed, namespace, related):
        other = related("-other")
        try:
            seed({"p-1": b"mine"})
            seed({"p-2": b"theirs", "p-1": b"theirs"}, ns=other)
            check("Scan('p-') in own namespace", self.scan_all(scan, namespace, "p-"), [("p-1", b"mine")])
            check("Count('p-') in own namespace", self.count(scan, namespace, "p-"), 1)
        finally:
            for k in ("p-1", "p-2"):
                seed.basic.Delete(pb.DeleteRequest(namespace=other, key=k))

    def test_scan_omits_deleted_keys(self, scan, seed, namespace):
        seed({f"d-{i}": b"v" for i in range(6)})
        for i in (1, 3):
            seed.basic.Delete(pb.DeleteRequest(namespace=namespace, key=f"d-{i}"))
        check("ScanKeys after two Deletes", sorted(self.scan_keys(scan, namespace, "d-")), ["d-0", "d-2", "d-4", "d-5"])
        check("Count after two Deletes", self.count(scan, namespace, "d-"), 4)

    def test_binary_values_round_trip(self, scan, seed, namespace):
        items = {"all": bytes(range(256)), "empty": b"", "nul": b"\x00"}
        seed(items)
        check("Scan of binary and empty values", dict(self.scan_all(scan, namespace)), items)

    def test_negative_limit_is_invalid(self, scan, namespace):
        expect_status("Scan(limit=-1)", grpc.StatusCode.INVALID_ARGUMENT, lambda: self.scan_all(scan, namespace, "", -1))
        expect_status("ScanKeys(limit=-1)", grpc.StatusCode.INVALID_ARGUMENT, lambda: self.scan_keys(scan, namespace, "", -1))
        expect_status("Scan with an empty namespace", grpc.StatusCode.INVALID_ARGUMENT, lambda: self.scan_all(scan, ""))
        expect_status("Count with an empty namespace", grpc.StatusCode.INVALID_ARGUMENT, lambda: self.count(scan, ""))
