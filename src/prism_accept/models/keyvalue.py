"""The keyvalue model cell: every declared keyvalue interface against a dict with expiry times.

A key with a short TTL whose expiry is within the timing tolerance of a read may be seen either
way; once some read path sees it gone, the model drops it. Conditional writes (Expire, Persist,
CAS, batch deletes, transactions) first wait, by polling, until such a key is settled.
"""

from __future__ import annotations

from dataclasses import dataclass

import grpc
from hypothesis import strategies as st
from hypothesis.stateful import precondition, rule

from prism.keyvalue.v1 import keyvalue_pb2 as pb
from prism.keyvalue.v1 import keyvalue_pb2_grpc as pb_grpc
from prism_accept.models.machine import ModelMachine, declares, namespace_index, now, run
from prism_accept.suites.base import check, poll_until
from prism_accept.suites.requirements import requires

KEYS = ["k", "K", "k:k", "kv:k", "k*", "*", "%", "_", "é", "k k", "list:k"]
SHORT_TTL_MS, LONG_TTL_MS = 100, 120_000
MAX_WAITS_PER_RUN = 2  # each waits SHORT_TTL_MS + tolerance
keys = st.sampled_from(["k", "k", "k", "k*", *KEYS])  # "k" most: state builds up on it
values = st.binary(max_size=16)
PATHS = {  # read path -> the interface it needs
    "get": "keyvalue_basic",
    "exists": "keyvalue_basic",
    "scan": "keyvalue_scan",
    "scan_keys": "keyvalue_scan",
    "scan_prefix": "keyvalue_scan",
    "count": "keyvalue_scan",
    "batch_get": "keyvalue_batch",
    "get_ttl": "keyvalue_ttl",
}


@dataclass
class Entry:
    value: bytes
    expires_at: float | None = None  # monotonic seconds
    ttl_ms: int | None = None


class KeyValueMachine(ModelMachine):
    PATHS = PATHS

    def __init__(self, plugin, declared, base, tolerance_ms):
        super().__init__(plugin, declared, base)
        ch = plugin.channel
        self.basic, self.scan_stub = pb_grpc.KeyValueBasicStub(ch), pb_grpc.KeyValueScanStub(ch)
        self.ttl, self.batch = pb_grpc.KeyValueTTLStub(ch), pb_grpc.KeyValueBatchStub(ch)
        self.cas, self.tx = pb_grpc.KeyValueCASStub(ch), pb_grpc.KeyValueTransactionalStub(ch)
        self.tol = tolerance_ms / 1000
        self.model: dict[tuple[str, str], Entry] = {}
        self.probe_ns = self.scratch_namespace("probe")
        self.waits = 0

    # what the model says about a key read between t0 and t1
    def state(self, ns: str, key: str, t0: float, t1: float) -> str:
        entry = self.model.get((ns, key))
        if entry is None:
            return "absent"
        if entry.expires_at is None or t1 < entry.expires_at - self.tol:
            return "present"
        if t0 > entry.expires_at + self.tol:
            del self.model[(ns, key)]
            return "absent"
        return "either"

    def seen(self, ns: str, key: str, present: bool, got: bytes | None, t0: float, t1: float, path: str) -> None:
        state = self.state(ns, key, t0, t1)
        where = f"{path} {ns[-8:]!r}/{key!r}"
        if state == "present" or (state == "either" and present):
            check(f"{where}: present", present, True)
            if got is not None:
                check(f"{where}: value", got, self.model[(ns, key)].value)
        elif state == "absent":
            check(f"{where}: present", present, False)
        elif not present:
            del self.model[(ns, key)]  # expired, seen first by this path

    def settle(self, ns: str, key: str) -> None:
        """Wait until a key near its expiry is certainly present or gone."""
        entry = self.model.get((ns, key))
        if entry is None or entry.expires_at is None or now() < entry.expires_at - self.tol:
            return
        gone = poll_until(
            lambda: not self.call(self.basic.Exists, pb.ExistsRequest(namespace=ns, key=key)).exists,
            entry.expires_at - now() + self.tol + 2,
        )
        check(f"Exists {key!r} after its TTL of {entry.ttl_ms} ms + tolerance", gone, True)
        del self.model[(ns, key)]

    def live(self, ns: str, key: str) -> Entry | None:
        self.settle(ns, key)
        return self.model.get((ns, key))

    @declares("keyvalue_ttl")
    @precondition(lambda self: self.waits < MAX_WAITS_PER_RUN)
    @rule(i=namespace_index, key=keys, value=values, path=st.sampled_from(sorted(PATHS)))
    def expire_then_read(self, i, key, value, path):
        """A key expires untouched; one read path, chosen by Hypothesis, is the first to meet it.
        The wait polls a probe key in a namespace of its own whose TTL ends after the key's
        plus the tolerance: once the probe is gone, the key is certainly due."""
        self.namespaces[i]
        self.set_with_ttl(i, key, value, SHORT_TTL_MS)
        probe_ttl = SHORT_TTL_MS + int(self.tol * 1000) + 10
        self.call(self.ttl.SetWithTTL, pb.SetWithTTLRequest(namespace=self.probe_ns, key="probe", value=b"", ttl_ms=probe_ttl))
        gone = poll_until(
            lambda: not self.call(self.basic.Exists, pb.ExistsRequest(namespace=self.probe_ns, key="probe")).exists, probe_ttl / 1000 + 2
        )
        check(f"Exists of the probe key after its TTL of {probe_ttl} ms", gone, True)
        self.waits += 1
        self.observe(i, path)

    # writes
    @declares("keyvalue_basic")
    @rule(i=namespace_index, key=keys, value=values)
    def set(self, i, key, value):
        ns = self.namespaces[i]
        self.call(self.basic.Set, pb.SetRequest(namespace=ns, key=key, value=value))
        self.model[(ns, key)] = Entry(value)

    @declares("keyvalue_basic")
    @rule(data=st.data())
    def delete(self, data):
        ns, key = self.target(data, keys)
        t0 = now()
        found = self.call(self.basic.Delete, pb.DeleteRequest(namespace=ns, key=key)).found
        self.seen(ns, key, found, None, t0, now(), "Delete.found")
        self.model.pop((ns, key), None)

    @declares("keyvalue_ttl")
    @rule(i=namespace_index, key=keys, value=values, ttl=st.sampled_from([SHORT_TTL_MS, LONG_TTL_MS]))
    def set_with_ttl(self, i, key, value, ttl):
        ns = self.namespaces[i]
        t0 = now()
        self.call(self.ttl.SetWithTTL, pb.SetWithTTLRequest(namespace=ns, key=key, value=value, ttl_ms=ttl))
        self.model[(ns, key)] = Entry(value, t0 + ttl / 1000, ttl)

    @declares("keyvalue_ttl")
    @rule(data=st.data(), ttl=st.sampled_from([SHORT_TTL_MS, LONG_TTL_MS]))
    def expire(self, data, ttl):
        ns, key = self.target(data, keys)
        entry = self.live(ns, key)
        t0 = now()
        found = self.call(self.ttl.Expire, pb.ExpireRequest(namespace=ns, key=key, ttl_ms=ttl)).found
        check(f"Expire {key!r}.found", found, entry is not None)
        if entry is not None:
            entry.expires_at, entry.ttl_ms = t0 + ttl / 1000, ttl

    @declares("keyvalue_ttl")
    @rule(data=st.data())
    def persist(self, data):
        ns, key = self.target(data, keys)
        entry = self.live(ns, key)
        had = self.call(self.ttl.Persist, pb.PersistRequest(namespace=ns, key=key)).had_expiry
        check(f"Persist {key!r}.had_expiry", had, entry is not None and entry.expires_at is not None)
        if entry is not None:
            entry.expires_at = entry.ttl_ms = None

    @declares("keyvalue_batch")
    @rule(i=namespace_index, entries=st.dictionaries(keys, values, max_size=4))
    def batch_set(self, i, entries):
        ns = self.namespaces[i]
        self.call(self.batch.BatchSet, pb.BatchSetRequest(namespace=ns, entries=[pb.Entry(key=k, value=v) for k, v in entries.items()]))
        for k, v in entries.items():
            self.model[(ns, k)] = Entry(v)

    @declares("keyvalue_batch")
    @rule(i=namespace_index, chosen=st.lists(keys, max_size=4))
    def batch_delete(self, i, chosen):
        ns = self.namespaces[i]
        existing = {k for k in chosen if self.live(ns, k) is not None}
        deleted = self.call(self.batch.BatchDelete, pb.BatchDeleteRequest(namespace=ns, keys=chosen)).deleted
        check(f"BatchDelete {chosen}.deleted", deleted, len(existing))
        for k in chosen:
            self.model.pop((ns, k), None)

    @declares("keyvalue_cas")
    @rule(data=st.data(), expect=st.sampled_from(["current", "absent", "other"]), new=values)
    def compare_and_swap(self, data, expect, new):
        ns, key = self.target(data, keys)
        entry = self.live(ns, key)
        current = entry.value if entry else None
        expected = {"current": current, "absent": None, "other": b"\xff-other"}[expect]
        request = pb.CompareAndSwapRequest(namespace=ns, key=key, new_value=new)
        if expected is not None:
            request.expected = expected
        r = self.call(self.cas.CompareAndSwap, request)
        check(f"CompareAndSwap {key!r} expecting {expect}.swapped", r.swapped, expected == current)
        if r.swapped:
            self.model[(ns, key)] = Entry(new)
        check(
            f"CompareAndSwap {key!r}.current_value",
            r.current_value if r.exists else None,
            self.model[(ns, key)].value if (ns, key) in self.model else None,
        )

    @declares("keyvalue_cas")
    @rule(data=st.data(), matching=st.booleans())
    def compare_and_delete(self, data, matching):
        ns, key = self.target(data, keys)
        entry = self.live(ns, key)
        expected = entry.value if (entry and matching) else b"\xff-other"
        r = self.call(self.cas.CompareAndDelete, pb.CompareAndDeleteRequest(namespace=ns, key=key, expected=expected))
        check(f"CompareAndDelete {key!r} matching={matching}.deleted", r.deleted, entry is not None and matching)
        if r.deleted:
            del self.model[(ns, key)]

    @declares("keyvalue_transactional")
    @rule(
        i=namespace_index,
        ops=st.lists(st.tuples(st.sampled_from(["set", "delete", "get"]), keys, values), min_size=1, max_size=4),
        commit=st.booleans(),
    )
    def transaction(self, i, ops, commit):
        ns = self.namespaces[i]
        view = {k: e.value for (n, k), e in list(self.model.items()) if n == ns and self.live(ns, k) is not None}
        tx_id = self.call(self.tx.BeginTransaction, pb.BeginTransactionRequest(namespace=ns)).transaction_id
        for op, key, value in ops:
            if op == "set":
                self.call(self.tx.Set, pb.TxSetRequest(namespace=ns, transaction_id=tx_id, key=key, value=value))
                view[key] = value
            elif op == "delete":
                found = self.call(self.tx.Delete, pb.TxDeleteRequest(namespace=ns, transaction_id=tx_id, key=key)).found
                check(f"Delete {key!r} in a transaction .found", found, key in view)
                view.pop(key, None)
            else:
                try:
                    got = self.call(self.tx.Get, pb.TxGetRequest(namespace=ns, transaction_id=tx_id, key=key)).value
                except grpc.RpcError as e:
                    if e.code() != grpc.StatusCode.NOT_FOUND:
                        raise
                    got = None
                check(f"Get {key!r} in a transaction", got, view.get(key))
        if not commit:
            self.call(self.tx.Rollback, pb.RollbackRequest(namespace=ns, transaction_id=tx_id))
            return
        self.call(self.tx.Commit, pb.CommitRequest(namespace=ns, transaction_id=tx_id))
        for key in {key for op, key, _ in ops if op != "get"}:
            if key in view:
                self.model[(ns, key)] = Entry(view[key])  # a write clears any expiry, as Set does
            else:
                self.model.pop((ns, key), None)

    @declares("list_basic")
    @rule(i=namespace_index, key=keys, value=values)
    def a_list_under_the_same_name(self, i, key, value):
        """Another model's data under the same namespace and name must not show as a key."""
        from prism.list.v1 import list_pb2, list_pb2_grpc

        self.call(
            list_pb2_grpc.ListBasicStub(self.plugin.channel).PushRight,
            list_pb2.PushRequest(namespace=self.namespaces[i], key=key, values=[value]),
        )

    # reads: the whole state of one namespace through one path
    @rule(i=namespace_index, path=st.sampled_from(sorted(PATHS)))
    def observe(self, i, path):
        self.read(path, self.namespaces[i])

    def read_get(self, ns):
        for key in KEYS:
            t0 = now()
            try:
                got, present = self.call(self.basic.Get, pb.GetRequest(namespace=ns, key=key)).value, True
            except grpc.RpcError as e:
                if e.code() != grpc.StatusCode.NOT_FOUND:
                    raise
                got, present = None, False
            self.seen(ns, key, present, got, t0, now(), "Get")

    def read_exists(self, ns):
        for key in KEYS:
            t0 = now()
            present = self.call(self.basic.Exists, pb.ExistsRequest(namespace=ns, key=key)).exists
            self.seen(ns, key, present, None, t0, now(), "Exists")

    def _scanned(self, ns, got: dict[str, bytes | None], t0: float, path: str, prefix: str = "") -> None:
        t1 = now()
        for key in got:
            if key not in KEYS or not key.startswith(prefix):
                raise AssertionError(f"{path}: got key {key!r}, which was never set in this namespace under prefix {prefix!r}")
        for key in [k for k in KEYS if k.startswith(prefix)]:
            self.seen(ns, key, key in got, got.get(key), t0, t1, path)

    def read_scan(self, ns):
        t0 = now()
        entries = list(self.call(self.scan_stub.Scan, pb.ScanRequest(namespace=ns)))
        check("Scan: keys sent more than once", len(entries), len({e.key for e in entries}))
        self._scanned(ns, {e.key: e.value for e in entries}, t0, "Scan")

    def read_scan_keys(self, ns):
        t0 = now()
        got = [e.key for e in self.call(self.scan_stub.ScanKeys, pb.ScanRequest(namespace=ns))]
        check("ScanKeys: keys sent more than once", len(got), len(set(got)))
        self._scanned(ns, dict.fromkeys(got), t0, "ScanKeys")

    def read_scan_prefix(self, ns):
        t0 = now()
        got = {e.key: e.value for e in self.call(self.scan_stub.Scan, pb.ScanRequest(namespace=ns, prefix="k"))}
        self._scanned(ns, got, t0, "Scan(prefix='k')", "k")

    def read_count(self, ns):
        t0 = now()
        count = self.call(self.scan_stub.Count, pb.CountRequest(namespace=ns)).count
        states = [self.state(ns, k, t0, now()) for k in KEYS]
        low, high = states.count("present"), states.count("present") + states.count("either")
        if not low <= count <= high:
            raise AssertionError(f"Count: got {count}, want {low}..{high} (keys the model holds)")

    def read_batch_get(self, ns):
        t0 = now()
        results = self.call(self.batch.BatchGet, pb.BatchGetRequest(namespace=ns, keys=KEYS)).results
        check("BatchGet keys, in request order", [r.key for r in results], KEYS)
        t1 = now()
        for r in results:
            self.seen(ns, r.key, r.found, r.value if r.found else None, t0, t1, "BatchGet")

    def read_get_ttl(self, ns):
        for key in KEYS:
            t0 = now()
            try:
                r, present = self.call(self.ttl.GetTTL, pb.GetTTLRequest(namespace=ns, key=key)), True
            except grpc.RpcError as e:
                if e.code() != grpc.StatusCode.NOT_FOUND:
                    raise
                r, present = None, False
            self.seen(ns, key, present, None, t0, now(), "GetTTL")
            entry = self.model.get((ns, key))
            if present and entry is not None:
                check(f"GetTTL {key!r}.has_expiry", r.has_expiry, entry.expires_at is not None)
                if entry.ttl_ms is not None and not 0 <= r.remaining_ms <= entry.ttl_ms:
                    raise AssertionError(f"GetTTL {key!r}.remaining_ms: got {r.remaining_ms}, want 0..{entry.ttl_ms}")


@requires.interface("keyvalue_basic")  # the machine writes with Set and Delete
class KeyValueModelTests:
    def test_state_machine(self, plugin, declaration, capabilities):
        run(lambda: KeyValueMachine(plugin, frozenset(declaration.implements), "pa-model-kv", capabilities.timing_tolerance_ms))
