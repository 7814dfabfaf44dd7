"""stream_retention: SetRetention, GetRetention, Compact. Only Compact removes records, the
oldest first. Reading a trimmed offset is OUT_OF_RANGE or starts at the earliest retained
record, as the backend declares (behaviours.stream_retention.trimmed_read); one case per choice.

Age retention waits, by polling the clock with a deadline, until the old records are older than
max_age_ms; the records appended after that are younger."""

from __future__ import annotations

import time

import grpc
import pytest

from prism.stream.v1 import stream_pb2 as pb
from prism_accept.suites.base import InterfaceSuite, check, expect_status, poll_until
from prism_accept.suites.requirements import requires
from prism_accept.suites.stream.basic import CALL_TIMEOUT_S, StreamOps, audit_offsets

MAX_AGE_MS = 300


class RetentionOps(StreamOps):
    def set_retention(self, stream: str, max_records: int = 0, max_age_ms: int = 0) -> None:
        policy = pb.RetentionPolicy(max_records=max_records, max_age_ms=max_age_ms)
        self.retention.SetRetention(pb.SetRetentionRequest(namespace=self.ns, stream=stream, policy=policy), timeout=CALL_TIMEOUT_S)

    def get_retention(self, stream: str) -> tuple[int, int]:
        r = self.retention.GetRetention(pb.GetRetentionRequest(namespace=self.ns, stream=stream), timeout=CALL_TIMEOUT_S)
        return r.max_records, r.max_age_ms

    def compact(self, stream: str) -> int:
        return self.retention.Compact(pb.CompactRequest(namespace=self.ns, stream=stream), timeout=CALL_TIMEOUT_S).removed


@requires.interface("stream_basic")  # records are appended and read back with Append and Read
class StreamRetentionTests(InterfaceSuite):
    interface = "stream_retention"

    @pytest.fixture
    def s(self, plugin, namespace):
        return RetentionOps(plugin.channel, namespace)

    def test_retention_round_trips(self, s):
        check("GetRetention of a stream without a policy", s.get_retention("s"), (0, 0))
        s.set_retention("s", max_records=5)
        check("GetRetention after SetRetention(max_records=5)", s.get_retention("s"), (5, 0))
        s.set_retention("s", max_age_ms=60_000)
        check("GetRetention after SetRetention(max_age_ms=60000) replaced it", s.get_retention("s"), (0, 60_000))
        s.set_retention("s", max_records=7, max_age_ms=1000)
        check("GetRetention after SetRetention(7, 1000)", s.get_retention("s"), (7, 1000))
        check("GetRetention of another stream", s.get_retention("t"), (0, 0))
        expect_status("SetRetention(max_records=-1)", grpc.StatusCode.INVALID_ARGUMENT, lambda: s.set_retention("s", max_records=-1))
        expect_status("SetRetention(max_age_ms=-1)", grpc.StatusCode.INVALID_ARGUMENT, lambda: s.set_retention("s", max_age_ms=-1))
        check("GetRetention after rejected SetRetentions", s.get_retention("s"), (7, 1000))

    def test_count_retention_keeps_the_newest(self, s):
        sent = s.append_all("s", [f"m{i}".encode() for i in range(10)])
        s.set_retention("s", max_records=3)
        audit_offsets("Read after SetRetention(max_records=3), before Compact", sent, s.read("s"))
        check("Compact with max_records=3 over 10 records: removed", s.compact("s"), 7)
        got = s.read("s")
        audit_offsets("Read after Compact (the newest 3 kept)", sent[7:], got)
        check("payloads kept", [r.payload for r in got], [b"m7", b"m8", b"m9"])
        check("GetLatestOffset after Compact", s.latest("s"), (True, sent[9]))
        check("Compact again: removed", s.compact("s"), 0)
        more = s.append("s", b"m10").offset
        check("Compact after one more Append: removed", s.compact("s"), 1)
        audit_offsets("Read after the second Compact", [*sent[8:], more], s.read("s"))

    def test_age_retention(self, s, capabilities):
        old = s.append_all("s", [b"old0", b"old1", b"old2"])
        newest_old_ms = s.read("s", old[2])[0].timestamp_ms
        s.set_retention("s", max_age_ms=MAX_AGE_MS)
        check("Compact before the records are max_age_ms old: removed", s.compact("s"), 0)
        past = newest_old_ms + MAX_AGE_MS + capabilities.timing_tolerance_ms
        if not poll_until(lambda: time.time() * 1000 > past, (MAX_AGE_MS + capabilities.timing_tolerance_ms) / 1000 + 2, 0.005):
            raise AssertionError(f"the clock did not pass the old records' time + {MAX_AGE_MS} ms")
        new = s.append_all("s", [b"new0", b"new1"])
        check(f"Compact with max_age_ms={MAX_AGE_MS} after the old records aged: removed", s.compact("s"), 3)
        got = s.read("s")
        audit_offsets("Read after Compact by age (the young records kept)", new, got)
        check("payloads kept", [r.payload for r in got], [b"new0", b"new1"])

    def test_empty_and_unlimited(self, s):
        check("Compact of a stream never written", s.compact("s"), 0)
        sent = s.append_all("s", [b"a", b"b", b"c"])
        check("Compact without a policy: removed", s.compact("s"), 0)
        s.set_retention("s", max_records=5)
        check("Compact with max_records above the record count: removed", s.compact("s"), 0)
        audit_offsets("Read after Compacts that removed nothing", sent, s.read("s"))
        s.set_retention("s", max_records=1)
        check("Compact of another stream: removed", s.compact("t"), 0)
        audit_offsets("Read after Compact of another stream", sent, s.read("s"))

    @requires.behaviour("stream_retention", "trimmed_read", "out_of_range")
    def test_reading_a_trimmed_offset_is_out_of_range(self, s):
        sent = s.append_all("s", [f"m{i}".encode() for i in range(5)])
        s.set_retention("s", max_records=2)
        check("Compact: removed", s.compact("s"), 3)
        expect_status("Read from the first (trimmed) offset", grpc.StatusCode.OUT_OF_RANGE, lambda: s.read("s", sent[0]))
        expect_status("Read from the last trimmed offset", grpc.StatusCode.OUT_OF_RANGE, lambda: s.read("s", sent[2]))
        audit_offsets("Read from the earliest retained offset", sent[3:], s.read("s", sent[3]))
        audit_offsets("Read from earliest", sent[3:], s.read("s"))

    @requires.behaviour("stream_retention", "trimmed_read", "earliest")
    def test_reading_a_trimmed_offset_starts_at_the_earliest_retained(self, s):
        sent = s.append_all("s", [f"m{i}".encode() for i in range(5)])
        s.set_retention("s", max_records=2)
        check("Compact: removed", s.compact("s"), 3)
        audit_offsets("Read from the first (trimmed) offset", sent[3:], s.read("s", sent[0]))
        audit_offsets("Read from the last trimmed offset", sent[3:], s.read("s", sent[2]))
        audit_offsets("Read from the earliest retained offset", sent[3:], s.read("s", sent[3]))
