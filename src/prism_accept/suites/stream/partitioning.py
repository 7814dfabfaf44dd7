"""stream_partitioning: GetPartitions, AppendToPartition, and Append with a key: the same key
always lands in the same partition, each partition keeps its own order and is read alone
(ReadRequest.partition, through stream_basic)."""

from __future__ import annotations

from collections import defaultdict

import grpc
import pytest

from prism.stream.v1 import stream_pb2 as pb
from prism_accept.suites.base import InterfaceSuite, check, expect_status
from prism_accept.suites.requirements import requires
from prism_accept.suites.rows import AllRows
from prism_accept.suites.stream.basic import CALL_TIMEOUT_S, StreamOps, audit_offsets

KEYS = 50
RECORDS = 1000


class PartitionOps(StreamOps):
    def partitions(self, stream: str) -> int:
        return self.partitioning.GetPartitions(pb.GetPartitionsRequest(namespace=self.ns, stream=stream), timeout=CALL_TIMEOUT_S).count

    def append_to(self, stream: str, partition: int, payload: bytes, headers: dict[str, str] | None = None) -> pb.AppendResponse:
        request = pb.AppendToPartitionRequest(namespace=self.ns, stream=stream, partition=partition, payload=payload, headers=headers or {})
        return self.partitioning.AppendToPartition(request, timeout=CALL_TIMEOUT_S)


@requires.interface("stream_basic")  # partitions are read with Read
class StreamPartitioningTests(InterfaceSuite):
    interface = "stream_partitioning"

    @pytest.fixture
    def s(self, plugin, namespace):
        return PartitionOps(plugin.channel, namespace)

    def test_partition_count(self, s):
        count = s.partitions("s")
        assert count >= 1, f"GetPartitions of a new stream: got {count}, want >= 1"
        s.append("s", b"x", key="k")
        check("GetPartitions after an Append", s.partitions("s"), count)
        check("GetPartitions asked again", s.partitions("s"), count)

    def test_key_affinity_over_1000_records(self, s):
        """1,000 records over 50 keys, interleaved: every record of a key in one partition, and
        each partition read alone gives exactly its records in append order."""
        count = s.partitions("s")
        partition_of: dict[str, set[int]] = defaultdict(set)
        sent: dict[int, list[str]] = defaultdict(list)
        key_of: dict[str, str] = {}
        for i in range(RECORDS):
            key = f"key-{i % KEYS}"
            r = s.append("s", f"m{i}".encode(), key=key)
            partition_of[key].add(r.partition)
            sent[r.partition].append(r.offset)
            key_of[f"{r.partition}/{r.offset}"] = key
        split = {k: sorted(p) for k, p in partition_of.items() if len(p) > 1}
        check("keys whose records landed in more than one partition", split, {})
        outside = sorted({p for p in sent if not 0 <= p < count})
        check(f"partitions outside 0..{count - 1} in AppendResponse", outside, [])
        with AllRows() as rows:
            for p in range(count):
                got = s.read("s", partition=p)
                audit_offsets(f"Read partition {p} (its records in append order)", sent.get(p, []), got)
                rows.check(f"partition field of records read from partition {p}", sorted({r.partition for r in got} - {p}), [])
                wrong_key = [r.offset for r in got if r.key != key_of.get(f"{p}/{r.offset}")]
                rows.check(f"records of partition {p} whose key is not the one appended", wrong_key, [])

    def test_same_key_same_partition_when_appended_again(self, s):
        first = {k: s.append("s", b"a", key=k).partition for k in ("a", "b", "c", "é✓", "k:1")}
        again = {k: s.append("s", b"b", key=k).partition for k in first}
        check("partitions of the same keys appended again", again, first)

    def test_explicit_partition_append_and_read(self, s):
        count = s.partitions("s")
        sent: dict[int, list[str]] = {}
        with AllRows() as rows:
            for p in range(count):
                responses = [s.append_to("s", p, f"p{p}-{i}".encode(), {"p": str(p)}) for i in range(3)]
                rows.check(f"AppendToPartition({p}): partitions answered", [r.partition for r in responses], [p] * 3)
                sent[p] = [r.offset for r in responses]
        with AllRows() as rows:
            for p in range(count):
                got = s.read("s", partition=p)
                audit_offsets(f"Read partition {p} after 3 AppendToPartition", sent[p], got)
                rows.check(f"payloads of partition {p}", [r.payload for r in got], [f"p{p}-{i}".encode() for i in range(3)])
                rows.check(f"headers of partition {p}", [dict(r.headers) for r in got], [{"p": str(p)}] * 3)
                rows.check(f"GetLatestOffset of partition {p}", s.latest("s", partition=p), (True, sent[p][-1]))
                audit_offsets(f"Read partition {p} from its second record", sent[p][1:], s.read("s", sent[p][1], partition=p))

    def test_partition_out_of_range(self, s):
        count = s.partitions("s")
        expect_status(
            f"AppendToPartition({count}) of {count} partitions", grpc.StatusCode.OUT_OF_RANGE, lambda: s.append_to("s", count, b"x")
        )
        expect_status("AppendToPartition(-1)", grpc.StatusCode.OUT_OF_RANGE, lambda: s.append_to("s", -1, b"x"))
        expect_status(f"Read partition {count} of {count}", grpc.StatusCode.OUT_OF_RANGE, lambda: s.read("s", partition=count))
        check("Read partition 0 after the rejected appends", s.read("s"), [])
