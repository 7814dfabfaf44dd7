"""replicas: two plugin processes on one backend instance, as a deployment runs them
(INTERFACES.md, "Conventions under faults, replicas and other servers").

What one process writes the other reads, for every declared data model (through its probe);
competing consumers in two processes share a queue with nothing lost or delivered twice; and a
message in flight when its consumer's process is killed is delivered again, with its delivery
count, by the other process once its visibility timeout passes; one consumer group's members in
two processes share its records exactly once, and a record pending with a member whose process
is killed is delivered again to a member in the other process. State a plugin keeps in its own
process fails these cases: the backend declares it as a deviation with its reason, or moves it
into the backend.
"""

from __future__ import annotations

from typing import Iterator

import pytest

from prism_accept.catalog import get_interface
from prism_accept.chaos.probes import probe_for
from prism_accept.chaos.rig import Rig
from prism_accept.harness.instances import InstanceUnavailable, cell_environ
from prism_accept.registry import BackendDeclaration
from prism_accept.suites.base import check, poll_until
from prism_accept.suites.delivery import audit
from prism_accept.suites.queue.basic import QueueOps
from prism_accept.suites.requirements import requires
from prism_accept.suites.stream.consumer_groups import GroupOps, wait_for_deliveries

CALL_S = 5.0
READ_S = 3.0
ITEMS = 5
VISIBILITY_MS = 300
COMPETING = 20


def declared_models(decl: BackendDeclaration) -> list[str]:
    """The data models the backend declares an interface of, that have a probe whose interface
    it declares (catalog order)."""
    models = dict.fromkeys(get_interface(i).model for i in decl.implements)
    found = []
    for model in models:
        try:
            probe = probe_for(model)
        except ImportError:
            continue
        if probe.interface in decl.implements:
            found.append(model)
    return found


class ReplicaTests:
    @staticmethod
    def params(decl: BackendDeclaration) -> dict[str, list[str]]:
        return {"model": declared_models(decl)}

    none_reasons = {"model": "the backend declares no data model with a probe (src/prism_accept/chaos/probes)"}

    @pytest.fixture(scope="class")
    def rig(self, declaration, cell_record) -> Iterator[Rig]:
        try:
            rig = Rig.start(declaration, cell_environ(), private=False, proxied=False)
        except InstanceUnavailable as e:
            pytest.skip(str(e))
        with rig.running(2, cell_record):
            yield rig

    @pytest.fixture
    def namespace(self, rig) -> Iterator[str]:
        with rig.namespace("pa-replicas") as ns:
            yield ns

    def test_state_written_through_one_is_read_through_the_other(self, rig, namespace, model):
        probe = probe_for(model)
        reader = probe(rig.plugins[1].channel, namespace)
        writer = probe(rig.plugins[0].channel, namespace)
        try:
            reader.open(CALL_S)  # a subscription is live before anything is published
            writer.open(CALL_S)
            for i in range(ITEMS):
                writer.write(i, CALL_S)
            got = reader.read(READ_S, frozenset(range(ITEMS)))
        finally:
            writer.close()
            reader.close()
        check(f"{probe.interface}: items written through process A, read through process B", sorted(set(got)), list(range(ITEMS)))

    @requires.interface("queue_basic")
    def test_competing_consumers_in_two_processes_share_a_queue(self, rig, namespace):
        a, b = (QueueOps(p.channel, namespace) for p in rig.plugins[:2])
        sent = {a.enqueue("jobs", f"job-{i}".encode()) for i in range(COMPETING)}
        got: dict[str, list[str]] = {"A": [], "B": []}
        empty = {"A": False, "B": False}
        while not all(empty.values()):
            for name, ops in (("A", a), ("B", b)):
                if not empty[name]:
                    m = ops.dequeue("jobs")
                    if m is None:
                        empty[name] = True
                    else:
                        got[name].append(m.message_id)
        every = got["A"] + got["B"]
        twice = sorted({m for m in every if every.count(m) > 1})
        assert not twice, f"Dequeue in two processes: messages {twice[:5]} delivered twice"
        check("Dequeue in two processes: the messages delivered", set(every), sent)
        assert (
            got["A"] and got["B"]
        ), f"Dequeue in two processes: got {len(got['A'])} in A and {len(got['B'])} in B, want both to share the load"

    @requires.interface("queue_visibility")
    def test_a_delivery_in_flight_outlives_its_process(self, rig, namespace):
        """Consumer A takes a message and its process is killed before the ack: once the
        visibility timeout passes, process B gets it with delivery_count 2 and acks it."""
        a = QueueOps(rig.plugins[0].channel, namespace)
        sent = a.enqueue("work", b"in-flight")
        first = a.take("work", VISIBILITY_MS)
        check("DequeueWithTimeout through A: (id, delivery_count)", (first.message_id, first.delivery_count) if first else None, (sent, 1))
        rig.replace_plugin(rig.plugins[0])  # A killed (SIGKILL) and started again
        b = QueueOps(rig.plugins[1].channel, namespace)
        again: list = []

        def redelivered() -> bool:
            m = b.take("work", VISIBILITY_MS * 10)
            if m is not None:
                again.append(m)
            return m is not None

        poll_until(redelivered, VISIBILITY_MS / 1000 + 5.0, interval_s=0.02)
        assert (
            again
        ), f"DequeueWithTimeout through B: message {sent} not delivered again within 5 s of its visibility timeout after A was killed"
        check("redelivery through B: (id, delivery_count)", (again[0].message_id, again[0].delivery_count), (sent, 2))
        b.ack("work", again[0].receipt)
        check("Dequeue through the restarted A after B's ack", QueueOps(rig.plugins[0].channel, namespace).dequeue("work"), None)

    @requires.interface("stream_consumer_groups")
    @requires.interface("stream_basic")
    def test_a_consumer_group_spans_two_processes(self, rig, namespace):
        a, b = (GroupOps(p.channel, namespace) for p in rig.plugins[:2])
        a.create("s", "g")
        members = [a.join("s", "g", "ca"), b.join("s", "g", "cb")]
        try:
            check("GetConsumerGroupInfo through B: the consumers", b.info("s", "g")[0], ["ca", "cb"])
            sent = a.append_all("s", [f"m{i}".encode() for i in range(COMPETING)])
            wait_for_deliveries(members, len(sent), f"one group's members in two processes, {COMPETING} records")
        finally:
            for m in members:
                m.leave()
        audit(f"one group's members in two processes over {COMPETING} records", sent, [m.offsets for m in members])
        check("GetConsumerGroupInfo through A: pending after every record was acked", a.info("s", "g")[1], 0)

    @requires.interface("stream_consumer_groups")
    @requires.interface("stream_basic")
    def test_a_groups_pending_record_outlives_its_process(self, rig, namespace):
        """Member A gets a record and its process is killed before the ack: the record stays
        pending and goes to member B, in the other process, after redeliver_after_ms."""
        a = GroupOps(rig.plugins[0].channel, namespace)
        a.create("s", "g")
        member_a = a.join("s", "g", "ca", redeliver_ms=VISIBILITY_MS, auto_ack=False)
        sent = a.append_all("s", [b"pending"])
        wait_for_deliveries([member_a], 1, "member A of the group, 1 record")
        rig.replace_plugin(rig.plugins[0])  # A killed (SIGKILL) and started again
        member_a.call.cancel()
        b = GroupOps(rig.plugins[1].channel, namespace)
        member_b = b.join("s", "g", "cb", redeliver_ms=VISIBILITY_MS)
        try:
            wait_for_deliveries([member_b], 1, "member B after A's process was killed with the record pending")
        finally:
            member_b.leave()
        check("the record redelivered to B", member_b.offsets[:1], sent)
        check("GetConsumerGroupInfo through B: pending after B acked", b.info("s", "g")[1], 0)
