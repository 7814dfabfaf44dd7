"""The stream model cell: every declared stream interface (but consumer groups, whose
deliveries are timing; the suite covers them) against a Python model of partitions of records.
Retention is by count only, so the model needs no clock. Reads meet the state through Read,
GetLatestOffset, SeekToOffset and ReplayRange, across namespaces and stream names that collide
with likely encodings."""

from __future__ import annotations

from dataclasses import dataclass, field

from hypothesis import strategies as st
from hypothesis.stateful import precondition, rule

from prism_accept.models.machine import ModelMachine, namespace_index, rotated, run
from prism_accept.suites.base import check
from prism_accept.suites.requirements import requires
from prism_accept.suites.stream.partitioning import PartitionOps
from prism_accept.suites.stream.replay import ReplayOps
from prism_accept.suites.stream.retention import RetentionOps

STREAMS = ["s", "S", "s:0", "0:s", "policy:s", "é"]
streams = st.sampled_from(["s", "s", "s", *STREAMS])
payloads = st.sampled_from([b"", b"a", b"b", b"\x00", b"\xff" * 3])
header_sets = st.sampled_from([{}, {}, {"h": ""}, {"h": "v", "é": "✓"}])
keys = st.sampled_from(["", "", "k1", "k2", "k:3"])
PATHS = {"read": "stream_basic", "latest": "stream_basic", "seek": "stream_replay", "replay": "stream_replay"}


def declares(*interfaces: str):
    return precondition(lambda self: all(i in self.declared for i in interfaces))


class Ops(PartitionOps, ReplayOps, RetentionOps):
    """Every stream call the machine makes."""


@dataclass
class Stream:
    partitions: dict[int, list[tuple[str, bytes, dict[str, str]]]] = field(default_factory=dict)
    max_records: int = 0
    key_partition: dict[str, int] = field(default_factory=dict)


class StreamMachine(ModelMachine):
    def __init__(self, plugin, declared, base):
        super().__init__(plugin, declared, base)
        self.ops = {ns: Ops(plugin.channel, ns) for ns in self.namespaces}
        self.model: dict[tuple[str, str], Stream] = {}

    def stream(self, ns: str, name: str) -> Stream:
        return self.model.setdefault((ns, name), Stream())

    def _appended(self, s: Stream, r, payload: bytes, headers: dict[str, str]) -> None:
        s.partitions.setdefault(r.partition, []).append((r.offset, payload, headers))

    @declares("stream_basic")
    @rule(i=namespace_index, name=streams, payload=payloads, headers=header_sets)
    def append(self, i, name, payload, headers):
        ns = self.namespaces[i]
        r = self.call(self.ops[ns].append, name, payload, headers)
        check(f"Append to {name!r} without a key: partition", r.partition, 0)
        self._appended(self.stream(ns, name), r, payload, headers)

    @declares("stream_basic", "stream_partitioning")
    @rule(i=namespace_index, name=streams, payload=payloads, key=keys)
    def append_with_key(self, i, name, payload, key):
        ns, s = self.namespaces[i], self.stream(self.namespaces[i], name)
        r = self.call(self.ops[ns].append, name, payload, None, key)
        if key:
            check(f"Append to {name!r} with key {key!r}: partition", r.partition, s.key_partition.setdefault(key, r.partition))
        self._appended(s, r, payload, {})

    @declares("stream_partitioning")
    @rule(i=namespace_index, name=streams, payload=payloads, partition=st.integers(0, 3))
    def append_to_partition(self, i, name, payload, partition):
        ns = self.namespaces[i]
        if partition >= self.call(self.ops[ns].partitions, name):
            return
        r = self.call(self.ops[ns].append_to, name, partition, payload)
        check(f"AppendToPartition({name!r}, {partition}): partition", r.partition, partition)
        self._appended(self.stream(ns, name), r, payload, {})

    @declares("stream_retention")
    @rule(data=st.data(), max_records=st.integers(0, 4))
    def compact(self, data, max_records):
        ns, name = self.target(data, streams)
        s = self.stream(ns, name)
        self.call(self.ops[ns].set_retention, name, max_records)
        s.max_records = max_records
        check(f"GetRetention {name!r}", self.call(self.ops[ns].get_retention, name), (max_records, 0))
        removed = 0
        for records in s.partitions.values():
            if max_records and len(records) > max_records:
                removed += len(records) - max_records
                del records[: len(records) - max_records]
        check(f"Compact {name!r} with max_records={max_records}: removed", self.call(self.ops[ns].compact, name), removed)

    @declares("stream_basic")
    @rule(data=st.data())
    def read_from_an_offset(self, data):
        ns, name = self.target(data, streams)
        records = self.stream(ns, name).partitions.get(0, [])
        if records:
            start = data.draw(st.integers(0, len(records) - 1), label="from")
            got = self.call(self.ops[ns].read, name, records[start][0])
            check(f"Read {name!r} from its record {start}", self.seen(got), records[start:])

    @staticmethod
    def seen(records) -> list[tuple[str, bytes, dict[str, str]]]:
        return [(r.offset, r.payload, dict(r.headers)) for r in records]

    @rule(i=namespace_index, path=st.sampled_from(sorted(PATHS)))
    def observe(self, i, path):
        if PATHS[path] in self.declared:
            getattr(self, f"read_{path}")(self.namespaces[i])

    def read_read(self, ns):
        """Partition 0 of every stream, and each other partition the model holds records in."""
        for name in STREAMS:
            s = self.model.get((ns, name), Stream())
            for p in sorted({0, *s.partitions}):
                got = self.seen(self.call(self.ops[ns].read, name, partition=p))
                check(f"Read {name!r} partition {p} from earliest", got, s.partitions.get(p, []))

    def read_latest(self, ns):
        for name in STREAMS:
            records = self.model.get((ns, name), Stream()).partitions.get(0, [])
            want = (True, records[-1][0]) if records else (False, "")
            check(f"GetLatestOffset {name!r}", self.call(self.ops[ns].latest, name), want)

    def read_seek(self, ns):
        for name in STREAMS:
            records = self.model.get((ns, name), Stream()).partitions.get(0, [])
            if records:
                check(f"SeekToOffset {name!r} (its first record)", self.seen(self.call(self.ops[ns].seek, name, records[0][0])), records)

    def read_replay(self, ns):
        for name in STREAMS:
            records = self.model.get((ns, name), Stream()).partitions.get(0, [])
            if records:
                got = self.call(self.ops[ns].range, name, records[0][0], records[-1][0])
                check(f"ReplayRange {name!r} (first, last)", self.seen(got), records[:-1])

    def teardown(self):
        if not self.plugin.broken:
            paths = sorted(p for p, i in PATHS.items() if i in self.declared)
            for n, ns in enumerate(self.namespaces):
                for path in rotated(paths, n)[: None if n == 0 else 1]:
                    getattr(self, f"read_{path}")(ns)
        super().teardown()


@requires.interface("stream_basic")  # the machine appends and reads with stream_basic
class StreamModelTests:
    def test_state_machine(self, plugin, declaration):
        run(lambda: StreamMachine(plugin, frozenset(declaration.implements), "pa-model-stream"))
