"""stream_basic: Append, Read, GetLatestOffset. Also what the other stream suites share:
`StreamOps` (one namespace's calls, every stream of events checked to start with `ready`) and
`audit_offsets`, the accounting of a read (lost, duplicated, unexpected, reordered offsets)."""

from __future__ import annotations

from typing import Iterator

import grpc
import pytest

from prism.stream.v1 import stream_pb2 as pb
from prism.stream.v1 import stream_pb2_grpc as pb_grpc
from prism_accept.suites.base import InterfaceSuite, check, expect_status
from prism_accept.suites.delivery import audit
from prism_accept.suites.rows import AllRows

ALL_BYTES = bytes(range(256))
METACHARACTER_STREAMS = ["s*", "s?", "s%", "s_", "s:", "s.x", "s s", "[s]", "'s'", "s-0", "0-1"]
CALL_TIMEOUT_S = 10.0


def position(offset: str | None = None, earliest: bool = False, latest: bool = False) -> pb.Position:
    if offset is not None:
        return pb.Position(offset=offset)
    return pb.Position(latest=True) if latest else pb.Position(earliest=True)


class StreamOps:
    """The stream RPCs of one namespace, each returning plain values."""

    def __init__(self, channel: grpc.Channel, ns: str):
        self.channel, self.ns = channel, ns
        self.basic = pb_grpc.StreamBasicStub(channel)
        self.replay = pb_grpc.StreamReplayStub(channel)
        self.retention = pb_grpc.StreamRetentionStub(channel)
        self.partitioning = pb_grpc.StreamPartitioningStub(channel)
        self.groups = pb_grpc.StreamConsumerGroupsStub(channel)

    def append(self, stream: str, payload: bytes, headers: dict[str, str] | None = None, key: str = "") -> pb.AppendResponse:
        request = pb.AppendRequest(namespace=self.ns, stream=stream, payload=payload, headers=headers or {}, key=key)
        return self.basic.Append(request, timeout=CALL_TIMEOUT_S)

    def append_all(self, stream: str, payloads: list[bytes]) -> list[str]:
        return [self.append(stream, p).offset for p in payloads]

    @staticmethod
    def records(operation: str, events: Iterator[pb.StreamEvent]) -> list[pb.Record]:
        """The records of a stream of events, which must start with exactly one `ready`."""
        got = [e for e in events]
        kinds = [e.WhichOneof("event") for e in got]
        check(f"{operation}: first event", kinds[:1], ["ready"])
        check(f"{operation}: events after the first that are not records", [k for k in kinds[1:] if k != "record"], [])
        return [e.record for e in got[1:]]

    def read_request(self, stream: str, offset=None, latest=False, max_records=0, idle_ms=0, partition=0) -> pb.ReadRequest:
        return pb.ReadRequest(
            namespace=self.ns,
            stream=stream,
            max_records=max_records,
            idle_timeout_ms=idle_ms,
            partition=partition,
            **{"from": position(offset, latest=latest)},
        )

    def read(self, stream: str, offset: str | None = None, max_records: int = 0, idle_ms: int = 0, partition: int = 0) -> list[pb.Record]:
        request = self.read_request(stream, offset, max_records=max_records, idle_ms=idle_ms, partition=partition)
        return self.records(f"Read({stream!r}, from={offset or 'earliest'})", self.basic.Read(request, timeout=CALL_TIMEOUT_S))

    def latest(self, stream: str, partition: int = 0) -> tuple[bool, str]:
        r = self.basic.GetLatestOffset(
            pb.GetLatestOffsetRequest(namespace=self.ns, stream=stream, partition=partition), timeout=CALL_TIMEOUT_S
        )
        return r.has_records, r.offset


def offsets(records: list[pb.Record]) -> list[str]:
    return [r.offset for r in records]


def audit_offsets(operation: str, sent: list[str], records: list[pb.Record]) -> None:
    """Fail naming every lost, duplicated, unexpected or reordered offset of one read."""
    audit(operation, sent, [offsets(records)])


class StreamBasicTests(InterfaceSuite):
    interface = "stream_basic"

    @pytest.fixture
    def s(self, plugin, namespace):
        return StreamOps(plugin.channel, namespace)

    def test_append_read_order(self, s):
        payloads = [f"m{i}".encode() for i in range(20)]
        sent = s.append_all("s", payloads)
        check("distinct offsets from 20 Appends", len(set(sent)), 20)
        check("'' among the offsets Append returned", "" in sent, False)
        got = s.read("s")
        audit_offsets("Read from earliest after 20 Appends", sent, got)
        check("payloads in read order", [r.payload for r in got], payloads)
        check("partition of each record", sorted({r.partition for r in got}), [0])

    def test_read_from_an_offset_is_inclusive(self, s):
        sent = s.append_all("s", [f"m{i}".encode() for i in range(10)])
        for i in (0, 1, 5, 9):
            audit_offsets(f"Read from the offset of record {i} of 10", sent[i:], s.read("s", sent[i]))
        audit_offsets("Read from record 3, max_records=4", sent[3:7], s.read("s", sent[3], max_records=4))
        audit_offsets("Read from earliest, max_records=1", sent[:1], s.read("s", max_records=1))

    def test_headers_and_payloads_round_trip(self, s):
        headers = [{}, {"a": "1"}, {"content-type": "application/json", "empty": "", "é✓": "ü", "x:y z": "*?%_"}]
        payloads = [ALL_BYTES, b"", b"\x00"]
        sent = [s.append("s", p, h).offset for p, h in zip(payloads, headers)]
        got = s.read("s")
        audit_offsets("Read of 3 records with headers", sent, got)
        check("headers in read order", [dict(r.headers) for r in got], headers)
        check("payloads (all 256 byte values, the empty payload, a NUL)", [r.payload for r in got], payloads)

    def test_empty_stream(self, s):
        empty = s.latest("s")
        check("GetLatestOffset of a stream never written: has_records", empty[0], False)
        check("Read of a stream never written", s.read("s"), [])
        first = s.append("s", b"a").offset
        check("GetLatestOffset after one Append", s.latest("s"), (True, first))
        check("the empty stream's offset equals the first record's", empty[1] == first, False)
        check("Read of another stream", s.read("t"), [])

    def test_latest_offset_follows_appends(self, s):
        seen = []
        with AllRows() as rows:
            for i in range(5):
                seen.append(s.append("s", b"x").offset)
                rows.check(f"GetLatestOffset after Append {i + 1}", s.latest("s"), (True, seen[-1]))
        audit_offsets("Read after 5 Appends", seen, s.read("s"))

    def test_read_from_latest_sees_only_new_records(self, s):
        s.append_all("s", [b"old0", b"old1", b"old2"])
        call = s.basic.Read(s.read_request("s", latest=True, max_records=2, idle_ms=5000), timeout=CALL_TIMEOUT_S)
        first = next(call)
        check("Read(from=latest): first event", first.WhichOneof("event"), "ready")
        sent = s.append_all("s", [b"new0", b"new1"])
        got = [e.record for e in call]
        audit_offsets("Read(from=latest, max_records=2) after 2 more Appends", sent, got)
        check("payloads read from latest", [r.payload for r in got], [b"new0", b"new1"])

    def test_read_waits_for_the_next_record(self, s):
        old = s.append("s", b"old").offset
        call = s.basic.Read(s.read_request("s", offset=old, max_records=2, idle_ms=5000), timeout=CALL_TIMEOUT_S)
        check("Read(from=offset, max_records=2): first event", next(call).WhichOneof("event"), "ready")
        check("Read: first record", next(call).record.offset, old)
        new = s.append("s", b"new").offset
        audit_offsets("Read waiting for a record appended after it started", [new], [e.record for e in call])

    def test_idle_timeout_ends_the_read(self, s):
        sent = s.append_all("s", [b"a", b"b"])
        audit_offsets("Read(idle_timeout_ms=200) of 2 records", sent, s.read("s", idle_ms=200))

    def test_thousand_records(self, s):
        payloads = [f"m{i}".encode() for i in range(1000)]
        sent = s.append_all("s", payloads)
        got = s.read("s")
        audit_offsets("Read from earliest of 1,000 records", sent, got)
        check("payloads of 1,000 records in order", [r.payload for r in got] == payloads, True)
        audit_offsets("Read from record 500 of 1,000", sent[500:], s.read("s", sent[500]))

    def test_stream_isolation(self, plugin, s, related):
        other = StreamOps(plugin.channel, related(":s"))
        names = ["s", "S", "s2", *METACHARACTER_STREAMS]
        sent = {name: s.append(name, name.encode()).offset for name in names}
        elsewhere = other.append("s", b"other namespace").offset
        with AllRows() as rows:
            for name in names:
                got = s.read(name)
                audit_offsets(f"Read {name!r} (one record per stream)", [sent[name]], got)
                rows.check(f"payload from {name!r}", [r.payload for r in got], [name.encode()])
        audit_offsets("Read 's' of the other namespace", [elsewhere], other.read("s"))

    def test_invalid_arguments(self, s):
        s.append("s", b"x")
        expect_status("Append to an empty stream name", grpc.StatusCode.INVALID_ARGUMENT, lambda: s.append("", b"x"))
        expect_status("Read with max_records=-1", grpc.StatusCode.INVALID_ARGUMENT, lambda: s.read("s", max_records=-1))
        expect_status("Read with idle_timeout_ms=-1", grpc.StatusCode.INVALID_ARGUMENT, lambda: s.read("s", idle_ms=-1))
        expect_status("Read from offset 'not an offset'", grpc.StatusCode.INVALID_ARGUMENT, lambda: s.read("s", "not an offset"))
        expect_status("Read from offset ''", grpc.StatusCode.INVALID_ARGUMENT, lambda: s.read("s", ""))
        expect_status(
            "GetLatestOffset with an empty namespace", grpc.StatusCode.INVALID_ARGUMENT, lambda: StreamOps(s.channel, "").latest("s")
        )
