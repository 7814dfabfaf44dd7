"""keyvalue_ttl: SetWithTTL, Expire, GetTTL, Persist.

Timing cases use 150-500 ms TTLs and poll with a deadline; the backend's declared timing
tolerance (registry `tolerances.timing_ms`) widens every bound. Expiry is observed through
keyvalue_basic, which the backend must also declare."""

from __future__ import annotations

import time

import grpc
import pytest

from prism.keyvalue.v1 import keyvalue_pb2 as pb
from prism.keyvalue.v1 import keyvalue_pb2_grpc as pb_grpc
from prism_accept.suites.base import InterfaceSuite, check, expect_status, poll_until
from prism_accept.suites.requirements import requires
from prism_accept.suites.rows import AllRows

SHORT_TTL_MS = 200
POLL_MARGIN_S = 2.0  # how long past TTL + tolerance we keep polling before calling it a failure


@requires.interface("keyvalue_basic")  # expiry is observed through Exists and Get
class KeyValueTTLTests(InterfaceSuite):
    interface = "keyvalue_ttl"

    @pytest.fixture
    def ttl(self, plugin):
        return pb_grpc.KeyValueTTLStub(plugin.channel)

    @pytest.fixture
    def basic(self, plugin):
        return pb_grpc.KeyValueBasicStub(plugin.channel)

    @staticmethod
    def exists(basic, ns: str, key: str) -> bool:
        return basic.Exists(pb.ExistsRequest(namespace=ns, key=key)).exists

    def set_ttl(self, ttl, ns: str, key: str, value: bytes, ms: int) -> float:
        """Set with a TTL; returns the monotonic time just before the call."""
        t0 = time.monotonic()
        ttl.SetWithTTL(pb.SetWithTTLRequest(namespace=ns, key=key, value=value, ttl_ms=ms))
        return t0

    def wait_expired(self, basic, ns: str, key: str, ttl_ms: int, tolerance_ms: int) -> float:
        """Poll until the key is gone; returns when it was first seen gone (monotonic)."""
        gone = poll_until(lambda: not self.exists(basic, ns, key), ttl_ms / 1000 + tolerance_ms / 1000 + POLL_MARGIN_S)
        assert (
            gone
        ), f"Exists {key!r}: still true {ttl_ms} ms + tolerance {tolerance_ms} ms + {POLL_MARGIN_S} s after SetWithTTL, want false"
        return time.monotonic()

    def test_expiry_happens(self, ttl, basic, namespace, capabilities):
        tol = capabilities.timing_tolerance_ms
        self.set_ttl(ttl, namespace, "k", b"v", SHORT_TTL_MS)
        self.wait_expired(basic, namespace, "k", SHORT_TTL_MS, tol)
        expect_status("Get of an expired key", grpc.StatusCode.NOT_FOUND, lambda: basic.Get(pb.GetRequest(namespace=namespace, key="k")))
        expect_status(
            "GetTTL of an expired key", grpc.StatusCode.NOT_FOUND, lambda: ttl.GetTTL(pb.GetTTLRequest(namespace=namespace, key="k"))
        )
        check("Delete of an expired key .found", basic.Delete(pb.DeleteRequest(namespace=namespace, key="k")).found, False)

    def test_no_expiry_before_the_ttl(self, ttl, basic, namespace, capabilities):
        tol = capabilities.timing_tolerance_ms
        ttl_ms = 500
        t0 = self.set_ttl(ttl, namespace, "k", b"v", ttl_ms)
        early = []

        def observe() -> bool:
            elapsed_ms = (time.monotonic() - t0) * 1000
            alive = self.exists(basic, namespace, "k")
            # A read that started before TTL - tolerance must still see the key.
            if not alive and elapsed_ms < ttl_ms - tol:
                early.append(round(elapsed_ms))
            return not alive

        poll_until(observe, ttl_ms / 1000 + tol / 1000 + POLL_MARGIN_S, interval_s=0.02)
        check(f"ms after SetWithTTL({ttl_ms}) at which the key was already gone", early, [])

    def test_an_expired_key_is_missing_for_its_first_read(self, ttl, basic, namespace, capabilities):
        """Keys whose TTL passed by the clock (TTL + tolerance after SetWithTTL returned), each
        touched first by one read: a store that expires lazily must not answer from the stale
        entry (Delete found=true, Exists true, a value from Get, a TTL, an Expire that revives it)."""
        tol = capabilities.timing_tolerance_ms
        first_reads = ("delete", "exists", "get", "getttl", "expire")
        for key in first_reads:
            self.set_ttl(ttl, namespace, key, b"v", SHORT_TTL_MS)
        t = time.monotonic()
        self.set_ttl(ttl, namespace, "kept", b"w", 60_000)
        poll_until(lambda: time.monotonic() >= t + (SHORT_TTL_MS + tol) / 1000, (SHORT_TTL_MS + tol) / 1000 + 1, interval_s=0.005)
        check("Delete of a key whose TTL passed .found", basic.Delete(pb.DeleteRequest(namespace=namespace, key="delete")).found, False)
        check("Exists of a key whose TTL passed", self.exists(basic, namespace, "exists"), False)
        expect_status(
            "Get of a key whose TTL passed", grpc.StatusCode.NOT_FOUND, lambda: basic.Get(pb.GetRequest(namespace=namespace, key="get"))
        )
        expect_status(
            "GetTTL of a key whose TTL passed",
            grpc.StatusCode.NOT_FOUND,
            lambda: ttl.GetTTL(pb.GetTTLRequest(namespace=namespace, key="getttl")),
        )
        check(
            "Expire of a key whose TTL passed .found",
            ttl.Expire(pb.ExpireRequest(namespace=namespace, key="expire", ttl_ms=60_000)).found,
            False,
        )
        check("Get of the key with a 60 s TTL", basic.Get(pb.GetRequest(namespace=namespace, key="kept")).value, b"w")
        with AllRows() as rows:
            for key in first_reads:
                rows.check(f"Exists {key!r} afterwards", self.exists(basic, namespace, key), False)

    def expire_twins(self, ttl, basic, namespace: str, capabilities, *names: str) -> None:
        """Keys `names` expire untouched: observed on a twin set just after them, so the interface
        under test is the first to touch the expired key (a lazily expiring store must filter
        everywhere, not only in Get). Key "kept" has a long TTL."""
        for name in names:
            self.set_ttl(ttl, namespace, name, b"v", SHORT_TTL_MS)
        self.set_ttl(ttl, namespace, "probe", b"v", SHORT_TTL_MS)
        self.set_ttl(ttl, namespace, "kept", b"w", 60_000)
        self.wait_expired(basic, namespace, "probe", SHORT_TTL_MS, capabilities.timing_tolerance_ms)

    @requires.interface("keyvalue_scan")
    def test_an_expired_key_is_missing_for_scan(self, plugin, ttl, basic, namespace, capabilities):
        self.expire_twins(ttl, basic, namespace, capabilities, "scan")
        scan = pb_grpc.KeyValueScanStub(plugin.channel)
        check("ScanKeys('scan') after expiry", [e.key for e in scan.ScanKeys(pb.ScanRequest(namespace=namespace, prefix="scan"))], [])
        check("Count('scan') after expiry", scan.Count(pb.CountRequest(namespace=namespace, prefix="scan")).count, 0)
        check("Scan('scan') after expiry", [e.key for e in scan.Scan(pb.ScanRequest(namespace=namespace, prefix="scan"))], [])
        check("Scan('kept')", [(e.key, e.value) for e in scan.Scan(pb.ScanRequest(namespace=namespace, prefix="kept"))], [("kept", b"w")])

    @requires.interface("keyvalue_batch")
    def test_an_expired_key_is_missing_for_batch(self, plugin, ttl, basic, namespace, capabilities):
        self.expire_twins(ttl, basic, namespace, capabilities, "batch")
        batch = pb_grpc.KeyValueBatchStub(plugin.channel)
        got = [(r.key, r.found) for r in batch.BatchGet(pb.BatchGetRequest(namespace=namespace, keys=["batch", "kept"])).results]
        check("BatchGet after expiry", got, [("batch", False), ("kept", True)])

    @requires.interface("keyvalue_cas")
    def test_an_expired_key_is_missing_for_cas(self, plugin, ttl, basic, namespace, capabilities):
        self.expire_twins(ttl, basic, namespace, capabilities, "cas", "swap", "delete")
        cas = pb_grpc.KeyValueCASStub(plugin.channel)
        r = cas.CompareAndSwap(pb.CompareAndSwapRequest(namespace=namespace, key="swap", expected=b"v", new_value=b"new"))
        check("CompareAndSwap(expected the old value) on an expired key: (swapped, exists)", (r.swapped, r.exists), (False, False))
        r = cas.CompareAndDelete(pb.CompareAndDeleteRequest(namespace=namespace, key="delete", expected=b"v"))
        check("CompareAndDelete(the old value) of an expired key: (deleted, exists)", (r.deleted, r.exists), (False, False))
        r = cas.CompareAndSwap(pb.CompareAndSwapRequest(namespace=namespace, key="cas", new_value=b"new"))
        check("CompareAndSwap(absent) on an expired key .swapped", r.swapped, True)

    def test_an_expired_key_is_missing_for_persist(self, ttl, basic, namespace, capabilities):
        self.expire_twins(ttl, basic, namespace, capabilities, "persist")
        check("Persist of an expired key .had_expiry", ttl.Persist(pb.PersistRequest(namespace=namespace, key="persist")).had_expiry, False)

    def test_plain_set_clears_the_ttl(self, ttl, basic, namespace, capabilities):
        tol = capabilities.timing_tolerance_ms
        t0 = self.set_ttl(ttl, namespace, "k", b"v1", SHORT_TTL_MS)
        basic.Set(pb.SetRequest(namespace=namespace, key="k", value=b"v2"))
        check("GetTTL after a plain Set .has_expiry", ttl.GetTTL(pb.GetTTLRequest(namespace=namespace, key="k")).has_expiry, False)
        # The old expiry time passes; the key must outlive it.
        poll_until(lambda: time.monotonic() - t0 > (SHORT_TTL_MS + tol) / 1000 + 0.1 or not self.exists(basic, namespace, "k"), 5)
        check("Get after the old TTL passed", basic.Get(pb.GetRequest(namespace=namespace, key="k")).value, b"v2")

    def test_persist_keeps_the_key(self, ttl, basic, namespace, capabilities):
        tol = capabilities.timing_tolerance_ms
        t0 = self.set_ttl(ttl, namespace, "k", b"v", SHORT_TTL_MS)
        check("Persist.had_expiry", ttl.Persist(pb.PersistRequest(namespace=namespace, key="k")).had_expiry, True)
        check("GetTTL after Persist .has_expiry", ttl.GetTTL(pb.GetTTLRequest(namespace=namespace, key="k")).has_expiry, False)
        poll_until(lambda: time.monotonic() - t0 > (SHORT_TTL_MS + tol) / 1000 + 0.1 or not self.exists(basic, namespace, "k"), 5)
        check("Exists after the old TTL passed", self.exists(basic, namespace, "k"), True)
        check("Persist again .had_expiry", ttl.Persist(pb.PersistRequest(namespace=namespace, key="k")).had_expiry, False)
        check("Persist(missing).had_expiry", ttl.Persist(pb.PersistRequest(namespace=namespace, key="missing")).had_expiry, False)

    def test_get_ttl_decreases(self, ttl, namespace, capabilities):
        t0 = self.set_ttl(ttl, namespace, "k", b"v", 5000)
        first = ttl.GetTTL(pb.GetTTLRequest(namespace=namespace, key="k"))
        elapsed_ms = (time.monotonic() - t0) * 1000
        check("GetTTL.has_expiry", first.has_expiry, True)
        low = 5000 - elapsed_ms - capabilities.timing_tolerance_ms
        assert (
            low <= first.remaining_ms <= 5000
        ), f"GetTTL.remaining_ms {elapsed_ms:.0f} ms after SetWithTTL(5000): got {first.remaining_ms}, want in [{low:.0f}, 5000]"
        later = []
        decreased = poll_until(
            lambda: later.append(ttl.GetTTL(pb.GetTTLRequest(namespace=namespace, key="k")).remaining_ms) or later[-1] < first.remaining_ms,
            2.0,
        )
        assert decreased, f"GetTTL.remaining_ms: got {first.remaining_ms} then {later[-1]} over 2 s, want it to decrease"

    def test_get_ttl_of_missing_and_persistent_keys(self, ttl, basic, namespace):
        expect_status(
            "GetTTL of a missing key", grpc.StatusCode.NOT_FOUND, lambda: ttl.GetTTL(pb.GetTTLRequest(namespace=namespace, key="missing"))
        )
        basic.Set(pb.SetRequest(namespace=namespace, key="forever", value=b"v"))
        got = ttl.GetTTL(pb.GetTTLRequest(namespace=namespace, key="forever"))
        check("GetTTL of a key without expiry .has_expiry", got.has_expiry, False)

    def test_expire_an_existing_key(self, ttl, basic, namespace, capabilities):
        basic.Set(pb.SetRequest(namespace=namespace, key="k", value=b"v"))
        check("Expire.found", ttl.Expire(pb.ExpireRequest(namespace=namespace, key="k", ttl_ms=SHORT_TTL_MS)).found, True)
        check("GetTTL after Expire .has_expiry", ttl.GetTTL(pb.GetTTLRequest(namespace=namespace, key="k")).has_expiry, True)
        self.wait_expired(basic, namespace, "k", SHORT_TTL_MS, capabilities.timing_tolerance_ms)

    def test_expire_a_missing_key_creates_nothing(self, ttl, basic, namespace):
        check("Expire(missing).found", ttl.Expire(pb.ExpireRequest(namespace=namespace, key="missing", ttl_ms=10_000)).found, False)
        check("Exists after Expire(missing)", self.exists(basic, namespace, "missing"), False)

    def test_set_with_ttl_again_resets_the_ttl(self, ttl, namespace):
        self.set_ttl(ttl, namespace, "k", b"v1", 1000)
        self.set_ttl(ttl, namespace, "k", b"v2", 60_000)
        got = ttl.GetTTL(pb.GetTTLRequest(namespace=namespace, key="k"))
        assert (
            got.has_expiry and got.remaining_ms > 1000
        ), f"GetTTL after SetWithTTL(60 s) over SetWithTTL(1 s): got {got}, want remaining > 1000 ms"

    def test_value_round_trips_until_expiry(self, ttl, basic, namespace):
        self.set_ttl(ttl, namespace, "k", bytes(range(256)), 60_000)
        check("Get of a key set with a TTL", basic.Get(pb.GetRequest(namespace=namespace, key="k")).value, bytes(range(256)))

    def test_zero_or_negative_ttl_is_invalid(self, ttl, basic, namespace):
        for ms in (0, -1, -1000):
            expect_status(
                f"SetWithTTL(ttl_ms={ms})",
                grpc.StatusCode.INVALID_ARGUMENT,
                lambda: ttl.SetWithTTL(pb.SetWithTTLRequest(namespace=namespace, key="k", value=b"v", ttl_ms=ms)),
            )
        check("Exists after rejected SetWithTTLs", self.exists(basic, namespace, "k"), False)
        basic.Set(pb.SetRequest(namespace=namespace, key="k", value=b"v"))
        for ms in (0, -1):
            expect_status(
                f"Expire(ttl_ms={ms})",
                grpc.StatusCode.INVALID_ARGUMENT,
                lambda: ttl.Expire(pb.ExpireRequest(namespace=namespace, key="k", ttl_ms=ms)),
            )
        check("Exists after rejected Expires", self.exists(basic, namespace, "k"), True)
        expect_status(
            "GetTTL with an empty key", grpc.StatusCode.INVALID_ARGUMENT, lambda: ttl.GetTTL(pb.GetTTLRequest(namespace=namespace, key=""))
        )
