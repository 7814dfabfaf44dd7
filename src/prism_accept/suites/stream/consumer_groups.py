"""stream_consumer_groups: CreateConsumerGroup, JoinConsumerGroup, Ack, GetConsumerGroupInfo.

Each consumer is a JoinConsumerGroup stream read by its own thread; a case appends only after
every consumer's `ready`, waits for deliveries by polling with a deadline, and accounts for
them (lost, duplicated, unexpected, reordered offsets). A consumer leaves by cancelling its
stream."""

from __future__ import annotations

import threading

import grpc
import pytest

from prism.stream.v1 import stream_pb2 as pb
from prism_accept.suites.base import InterfaceSuite, check, expect_status, poll_until
from prism_accept.suites.delivery import audit
from prism_accept.suites.requirements import requires
from prism_accept.suites.stream.basic import CALL_TIMEOUT_S, StreamOps, position

MEMBER_DEADLINE_S = 30.0
DELIVERY_WAIT_S = 10.0
READY_WAIT_S = 5.0
REDELIVER_MS = 200


class GroupOps(StreamOps):
    def create(self, stream: str, group: str, offset: str | None = None, latest: bool = False) -> None:
        request = pb.CreateConsumerGroupRequest(namespace=self.ns, stream=stream, group=group, start=position(offset, latest=latest))
        self.groups.CreateConsumerGroup(request, timeout=CALL_TIMEOUT_S)

    def ack(self, stream: str, group: str, offsets: list[str]) -> int:
        return self.groups.Ack(pb.AckRequest(namespace=self.ns, stream=stream, group=group, offsets=offsets), timeout=CALL_TIMEOUT_S).acked

    def info(self, stream: str, group: str) -> tuple[list[str], int]:
        r = self.groups.GetConsumerGroupInfo(
            pb.GetConsumerGroupInfoRequest(namespace=self.ns, stream=stream, group=group), timeout=CALL_TIMEOUT_S
        )
        return list(r.consumers), r.pending

    def join(self, stream: str, group: str, consumer: str, redeliver_ms: int = 0, auto_ack: bool = True) -> Member:
        return Member(self, stream, group, consumer, redeliver_ms, auto_ack)


class Member:
    """One live consumer: its stream, read by a thread that records (and, with auto_ack, acks)
    each delivery. Constructed once the stream has sent `ready`."""

    def __init__(self, ops: GroupOps, stream: str, group: str, consumer: str, redeliver_ms: int, auto_ack: bool):
        self.ops, self.stream, self.group, self.consumer, self.auto_ack = ops, stream, group, consumer, auto_ack
        request = pb.JoinConsumerGroupRequest(
            namespace=ops.ns, stream=stream, group=group, consumer=consumer, redeliver_after_ms=redeliver_ms
        )
        self.call = ops.groups.JoinConsumerGroup(request, timeout=MEMBER_DEADLINE_S)
        self.records: list[pb.Record] = []
        self.errors: list[str] = []
        self.ready = threading.Event()
        self.first_event = ""
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        if not self.ready.wait(READY_WAIT_S):
            self.leave()
            raise AssertionError(f"JoinConsumerGroup({group!r}, {consumer!r}): no event within {READY_WAIT_S} s, want `ready` first")
        check(f"JoinConsumerGroup({group!r}, {consumer!r}): errors before the first event", self.errors, [])
        check(f"JoinConsumerGroup({group!r}, {consumer!r}): first event", self.first_event, "ready")

    def _run(self) -> None:
        try:
            for event in self.call:
                if not self.ready.is_set():
                    self.first_event = event.WhichOneof("event")
                    self.ready.set()
                    continue
                self.records.append(event.record)
                if self.auto_ack:
                    self.ops.ack(self.stream, self.group, [event.record.offset])
        except grpc.RpcError as e:
            if e.code() != grpc.StatusCode.CANCELLED:
                self.errors.append(f"{e.code().name}: {e.details()}")
        finally:
            self.ready.set()

    @property
    def offsets(self) -> list[str]:
        return [r.offset for r in list(self.records)]

    def leave(self) -> None:
        self.call.cancel()
        self.thread.join(5)
        check(f"errors of consumer {self.consumer!r}", self.errors, [])


def wait_for_deliveries(members: list[Member], n: int, what: str) -> None:
    if not poll_until(lambda: sum(len(m.records) for m in members) >= n, DELIVERY_WAIT_S):
        got = {m.consumer: len(m.records) for m in members}
        raise AssertionError(f"{what}: got {got} deliveries after {DELIVERY_WAIT_S} s, want {n} in all")


@requires.interface("stream_basic")  # records are appended with Append
class StreamConsumerGroupsTests(InterfaceSuite):
    interface = "stream_consumer_groups"

    @pytest.fixture
    def s(self, plugin, namespace):
        return GroupOps(plugin.channel, namespace)

    def test_load_sharing_without_duplicates(self, s):
        s.create("s", "g")
        members = [s.join("s", "g", "c1"), s.join("s", "g", "c2")]
        try:
            check("GetConsumerGroupInfo consumers after 2 joins", s.info("s", "g")[0], ["c1", "c2"])
            sent = s.append_all("s", [f"m{i}".encode() for i in range(200)])
            wait_for_deliveries(members, len(sent), "2 consumers of one group, 200 records")
        finally:
            for m in members:
                m.leave()
        audit("2 consumers of one group over 200 records", sent, [m.offsets for m in members])
        shares = {m.consumer: len(m.records) for m in members}
        check(f"consumers that got none of 200 records appended one by one (shares {shares})", [c for c, n in shares.items() if not n], [])
        check("GetConsumerGroupInfo pending after every record was acked", s.info("s", "g")[1], 0)

    def test_redelivery_of_unacked(self, s):
        s.create("s", "g")
        a = s.join("s", "g", "a", auto_ack=False)
        try:
            sent = s.append_all("s", [f"m{i}".encode() for i in range(5)])
            wait_for_deliveries([a], 5, "consumer 'a' (no redelivery), 5 records")
            check("Ack of a's first 2 records", s.ack("s", "g", a.offsets[:2]), 2)
        finally:
            a.leave()
        audit("deliveries to 'a'", sent, [a.offsets])
        if not poll_until(lambda: s.info("s", "g")[0] == [], READY_WAIT_S):
            raise AssertionError(f"GetConsumerGroupInfo consumers after 'a' left: got {s.info('s', 'g')[0]}, want []")
        check("GetConsumerGroupInfo pending after 'a' left with 3 unacked", s.info("s", "g")[1], 3)
        b = s.join("s", "g", "b", redeliver_ms=REDELIVER_MS, auto_ack=True)
        try:
            wait_for_deliveries([b], 3, f"consumer 'b' (redeliver_after_ms={REDELIVER_MS}), a's 3 unacked records")
        finally:
            b.leave()
        audit("redeliveries to 'b'", sent[2:], [b.offsets])
        check("payloads redelivered", [r.payload for r in b.records], [b"m2", b"m3", b"m4"])
        check("GetConsumerGroupInfo pending after 'b' acked them", s.info("s", "g")[1], 0)

    def test_two_groups_each_see_every_record(self, s):
        s.create("s", "g1")
        s.create("s", "g2")
        members = [s.join("s", "g1", "c"), s.join("s", "g2", "c")]
        try:
            sent = s.append_all("s", [f"m{i}".encode() for i in range(20)])
            for m in members:
                wait_for_deliveries([m], len(sent), f"group {m.group!r}, 20 records")
        finally:
            for m in members:
                m.leave()
        for m in members:
            audit(f"deliveries in group {m.group!r}", sent, [m.offsets])

    def test_start_earliest_latest_and_offset(self, s):
        old = s.append_all("s", [b"old0", b"old1", b"old2"])
        s.create("s", "from-earliest")
        s.create("s", "from-latest", latest=True)
        s.create("s", "from-offset", offset=old[1])
        new = s.append_all("s", [b"new0", b"new1"])
        want = {"from-earliest": old + new, "from-latest": new, "from-offset": old[1:] + new}
        for group, sent in want.items():
            m = s.join("s", group, "c")
            try:
                wait_for_deliveries([m], len(sent), f"group {group!r}")
            finally:
                m.leave()
            audit(f"deliveries in group {group!r}", sent, [m.offsets])

    def test_duplicate_group_already_exists(self, s):
        s.create("s", "g")
        expect_status("CreateConsumerGroup of an existing group", grpc.StatusCode.ALREADY_EXISTS, lambda: s.create("s", "g"))
        expect_status(
            "CreateConsumerGroup(latest) of an existing group", grpc.StatusCode.ALREADY_EXISTS, lambda: s.create("s", "g", latest=True)
        )
        s.create("t", "g")  # the same name on another stream is another group
        s.create("s", "G")

    def test_missing_group(self, s):
        s.append("s", b"x")
        expect_status("GetConsumerGroupInfo of a missing group", grpc.StatusCode.NOT_FOUND, lambda: s.info("s", "nope"))
        expect_status("Ack in a missing group", grpc.StatusCode.NOT_FOUND, lambda: s.ack("s", "nope", []))
        expect_status(
            "JoinConsumerGroup of a missing group",
            grpc.StatusCode.NOT_FOUND,
            lambda: list(
                s.groups.JoinConsumerGroup(
                    pb.JoinConsumerGroupRequest(namespace=s.ns, stream="s", group="nope", consumer="c"), timeout=CALL_TIMEOUT_S
                )
            ),
        )

    def test_info_and_ack(self, s):
        s.create("s", "g")
        check("GetConsumerGroupInfo of a new group", s.info("s", "g"), ([], 0))
        m = s.join("s", "g", "c", auto_ack=False)
        try:
            sent = s.append_all("s", [b"a", b"b", b"c"])
            wait_for_deliveries([m], 3, "consumer 'c', 3 records")
            check("GetConsumerGroupInfo with one live consumer, 3 unacked", s.info("s", "g"), (["c"], 3))
            check("Ack of the first record", s.ack("s", "g", [sent[0]]), 1)
            check("Ack of the first record again", s.ack("s", "g", [sent[0]]), 0)
            check("Ack of the other two, one of them twice", s.ack("s", "g", [sent[1], sent[2], sent[1]]), 2)
            check("GetConsumerGroupInfo after acking all", s.info("s", "g"), (["c"], 0))
        finally:
            m.leave()
        audit("deliveries to 'c'", sent, [m.offsets])
        expect_status("Ack of 'not an offset'", grpc.StatusCode.INVALID_ARGUMENT, lambda: s.ack("s", "g", ["not an offset"]))
        expect_status(
            "JoinConsumerGroup with redeliver_after_ms=-1",
            grpc.StatusCode.INVALID_ARGUMENT,
            lambda: list(
                s.groups.JoinConsumerGroup(
                    pb.JoinConsumerGroupRequest(namespace=s.ns, stream="s", group="g", consumer="c", redeliver_after_ms=-1),
                    timeout=CALL_TIMEOUT_S,
                )
            ),
        )
