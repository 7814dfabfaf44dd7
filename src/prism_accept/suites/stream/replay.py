"""stream_replay: SeekToOffset, SeekToTimestamp, ReplayRange (from inclusive, to exclusive).

Records are appended through stream_basic. Timestamps between records come from the records'
own timestamp_ms: the case waits, by polling the clock with a deadline, until the next
millisecond before it appends the next record."""

from __future__ import annotations

import time

import grpc
import pytest

from prism.stream.v1 import stream_pb2 as pb
from prism_accept.suites.base import InterfaceSuite, check, expect_status, poll_until
from prism_accept.suites.requirements import requires
from prism_accept.suites.stream.basic import CALL_TIMEOUT_S, StreamOps, audit_offsets


class ReplayOps(StreamOps):
    def seek(self, stream: str, offset: str, max_records: int = 0) -> list[pb.Record]:
        request = pb.SeekToOffsetRequest(namespace=self.ns, stream=stream, offset=offset, max_records=max_records)
        return self.records(
            f"SeekToOffset({offset!r}, max_records={max_records})", self.replay.SeekToOffset(request, timeout=CALL_TIMEOUT_S)
        )

    def seek_time(self, stream: str, timestamp_ms: int, max_records: int = 0) -> list[pb.Record]:
        request = pb.SeekToTimestampRequest(namespace=self.ns, stream=stream, timestamp_ms=timestamp_ms, max_records=max_records)
        return self.records(f"SeekToTimestamp({timestamp_ms})", self.replay.SeekToTimestamp(request, timeout=CALL_TIMEOUT_S))

    def range(self, stream: str, from_offset: str, to_offset: str) -> list[pb.Record]:
        request = pb.ReplayRangeRequest(namespace=self.ns, stream=stream, from_offset=from_offset, to_offset=to_offset)
        return self.records(f"ReplayRange({from_offset!r}, {to_offset!r})", self.replay.ReplayRange(request, timeout=CALL_TIMEOUT_S))


def wait_past(timestamp_ms: int) -> None:
    """Poll the clock until it is past timestamp_ms (a record's time), so the next record's
    time is later."""
    if not poll_until(lambda: time.time() * 1000 >= timestamp_ms + 2, 2.0, 0.001):
        raise AssertionError(f"the clock did not pass {timestamp_ms} + 2 ms within 2 s")


@requires.interface("stream_basic")  # records are appended with Append
class StreamReplayTests(InterfaceSuite):
    interface = "stream_replay"

    @pytest.fixture
    def s(self, plugin, namespace):
        return ReplayOps(plugin.channel, namespace)

    def test_seek_then_read(self, s):
        sent = s.append_all("s", [f"m{i}".encode() for i in range(10)])
        audit_offsets("SeekToOffset(record 4 of 10)", sent[4:], s.seek("s", sent[4]))
        audit_offsets("SeekToOffset(record 0 of 10)", sent, s.seek("s", sent[0]))
        audit_offsets("SeekToOffset(record 9 of 10)", sent[9:], s.seek("s", sent[9]))
        audit_offsets("SeekToOffset(record 4, max_records=3)", sent[4:7], s.seek("s", sent[4], max_records=3))
        check("payloads from record 4", [r.payload for r in s.seek("s", sent[4], 2)], [b"m4", b"m5"])

    def test_timestamp_between_records(self, s):
        a = s.append("s", b"a").offset
        ta = s.seek("s", a)[0].timestamp_ms
        wait_past(ta)
        b = s.append("s", b"b").offset
        tb = s.seek("s", b)[0].timestamp_ms
        wait_past(tb)
        c = s.append("s", b"c").offset
        tc = s.seek("s", c)[0].timestamp_ms
        assert ta < tb < tc, f"timestamps of records appended in different milliseconds: got {ta}, {tb}, {tc}, want increasing"
        audit_offsets("SeekToTimestamp(0)", [a, b, c], s.seek_time("s", 0))
        audit_offsets("SeekToTimestamp(a's time)", [a, b, c], s.seek_time("s", ta))
        audit_offsets("SeekToTimestamp(a's time + 1 ms, before b's)", [b, c], s.seek_time("s", ta + 1))
        audit_offsets("SeekToTimestamp(b's time)", [b, c], s.seek_time("s", tb))
        audit_offsets("SeekToTimestamp(b's time - 1 ms)", [b, c], s.seek_time("s", tb - 1))
        audit_offsets("SeekToTimestamp(b's time + 1 ms)", [c], s.seek_time("s", tb + 1))
        audit_offsets("SeekToTimestamp(after the last record)", [], s.seek_time("s", tc + 1))
        audit_offsets("SeekToTimestamp(a's time, max_records=1)", [a], s.seek_time("s", ta, max_records=1))

    def test_range_bounds_exact(self, s):
        sent = s.append_all("s", [f"m{i}".encode() for i in range(10)])
        audit_offsets("ReplayRange(record 2, record 5)", sent[2:5], s.range("s", sent[2], sent[5]))
        audit_offsets("ReplayRange(record 0, record 9)", sent[0:9], s.range("s", sent[0], sent[9]))
        audit_offsets("ReplayRange(record 3, record 4)", sent[3:4], s.range("s", sent[3], sent[4]))
        audit_offsets("ReplayRange(record 3, record 3)", [], s.range("s", sent[3], sent[3]))
        audit_offsets("ReplayRange(record 6, record 2)", [], s.range("s", sent[6], sent[2]))
        check("payloads of ReplayRange(record 2, record 5)", [r.payload for r in s.range("s", sent[2], sent[5])], [b"m2", b"m3", b"m4"])

    def test_replay_is_repeatable(self, s):
        sent = s.append_all("s", [f"m{i}".encode() for i in range(20)])
        first = s.range("s", sent[5], sent[15])
        audit_offsets("ReplayRange(record 5, record 15)", sent[5:15], first)
        s.append_all("s", [b"later0", b"later1"])
        again = s.range("s", sent[5], sent[15])
        check(
            "ReplayRange(record 5, record 15) again, after 2 more Appends",
            [(r.offset, r.payload) for r in again],
            [(r.offset, r.payload) for r in first],
        )
        check("SeekToOffset(record 5) twice", offsets_of(s.seek("s", sent[5])), offsets_of(s.seek("s", sent[5])))

    def test_empty_stream(self, s):
        check("SeekToTimestamp(0) of a stream never written", s.seek_time("s", 0), [])
        a = s.append("t", b"a").offset
        check("SeekToOffset of a stream never written, with another stream's offset", s.seek("s", a), [])
        check("ReplayRange of a stream never written", s.range("s", a, a), [])

    def test_invalid_arguments(self, s):
        a = s.append("s", b"a").offset
        expect_status("SeekToOffset('not an offset')", grpc.StatusCode.INVALID_ARGUMENT, lambda: s.seek("s", "not an offset"))
        expect_status("SeekToOffset with max_records=-1", grpc.StatusCode.INVALID_ARGUMENT, lambda: s.seek("s", a, max_records=-1))
        expect_status("SeekToTimestamp with max_records=-1", grpc.StatusCode.INVALID_ARGUMENT, lambda: s.seek_time("s", 0, max_records=-1))
        expect_status("ReplayRange from ''", grpc.StatusCode.INVALID_ARGUMENT, lambda: s.range("s", "", a))
        expect_status("ReplayRange to 'x'", grpc.StatusCode.INVALID_ARGUMENT, lambda: s.range("s", a, "x"))
        expect_status("SeekToOffset in stream ''", grpc.StatusCode.INVALID_ARGUMENT, lambda: s.seek("", a))


def offsets_of(records: list[pb.Record]) -> list[str]:
    return [r.offset for r in records]
