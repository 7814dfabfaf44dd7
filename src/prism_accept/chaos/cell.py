"""chaos-<model>: a data model's items written and read through faults (RFC-015 phase 3;
INTERFACES.md, "Conventions under faults").

Each case is one fault (chaos/faults.py) in a namespace of its own: items written before it,
during it (every call with a CALL_S deadline) and after it heals, then read back. A case fails
when, during the fault, a call answers anything but OK, UNAVAILABLE or DEADLINE_EXCEEDED, the
health service does not answer, or says SERVING throughout a fault that makes the backend
unreachable; when calls do not succeed again (and health say SERVING) within the declared
recovery time; when an acknowledged write is missing afterwards (unless the fault restarted where
the data lives and the backend does not declare `behaviours.faults.durable_writes`), a read
returns an item never written, or an item comes twice where delivery is not at-least-once; and
when the plugin died of a fault other than its own crash. What each fault answered is recorded
as the case's `fault` property (build-support/bin/chaos-summary prints them).
"""

from __future__ import annotations

import collections
import json
import time
from dataclasses import dataclass, field
from typing import Iterator

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from prism_accept.chaos.faults import FAULTS, Fault
from prism_accept.chaos.probes import Probe, probe_for
from prism_accept.chaos.rig import Rig
from prism_accept.harness.instances import InstanceUnavailable, cell_environ
from prism_accept.harness.process import PluginProcess
from prism_accept.registry import BackendDeclaration

CALL_S = 1.0  # the deadline of every call during a fault
FAULT_S = 0.5  # a fault lasts at least this long (and until its effect is seen)
DETECT_S = 4.0  # health must say NOT_SERVING within this of a fault that cuts the backend off
HEALTH_DEADLINE_S = 2.5  # the plugin's own probe of its backend is bounded (1 s in the SDK)
PACE_S = 0.02  # writes during a fault: at most 50 a second
READ_S = 3.0  # the final read: long enough for a consuming read to drain
BEFORE, AFTER = 3, 3  # items written before the fault and after recovery
ALLOWED = {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED}
DEFAULT_RECOVERY_S = 5.0
SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


def fault_behaviours(decl: BackendDeclaration) -> dict:
    return decl.behaviours.get("faults", {})


@dataclass
class Outcome:
    """What one fault case saw: the answers during the fault, health, recovery, accounting."""

    fault: str
    during: collections.Counter = field(default_factory=collections.Counter)
    violations: list[str] = field(default_factory=list)
    health: collections.Counter = field(default_factory=collections.Counter)
    detected_s: float | None = None
    recovery_s: float | None = None
    acked: set[int] = field(default_factory=set)
    attempted: set[int] = field(default_factory=set)
    recovered_at: int = 0  # the first item acknowledged after the fault healed
    read: list[int] = field(default_factory=list)
    last_attempt: float = 0.0  # when the last write during the fault started (pacing)

    def as_json(self) -> str:
        counts = collections.Counter(self.read)
        return json.dumps(
            {
                "fault": self.fault,
                "during": dict(self.during),
                "health": dict(self.health),
                "detected_s": self.detected_s,
                "recovery_s": self.recovery_s,
                "acked": len(self.acked),
                "lost": len(self.acked - set(self.read)),
                "duplicated": sum(1 for n in counts.values() if n > 1),
                "unexpected": len(set(self.read) - self.attempted),
            },
            sort_keys=True,
        )


class ChaosTests:
    """Base of the chaos cells; chaos_for(model) makes one with the model's probe."""

    probe_class: type[Probe]

    @pytest.fixture(scope="class")
    def rig(self, declaration, cell_record) -> Iterator[Rig]:
        try:
            rig = Rig.start(declaration, cell_environ())
        except InstanceUnavailable as e:
            pytest.skip(str(e))
        with rig.running(1, cell_record):
            yield rig

    @pytest.fixture
    def namespace(self, rig) -> Iterator[str]:
        with rig.namespace("pa-chaos") as ns:
            yield ns

    @pytest.mark.parametrize("fault", FAULTS, ids=lambda f: f.name)
    def test_fault(self, rig, namespace, declaration, record_property, fault: Fault):
        if self.probe_class.interface not in declaration.implements:
            pytest.skip(f"needs {self.probe_class.interface}, which {declaration.path} does not declare (field 'implements')")
        why = fault.missing(rig)
        if why:
            pytest.skip(f"{fault.name}: {why}")
        outcome = Outcome(fault.name)
        try:
            self.run(rig, namespace, declaration, fault, outcome)
        finally:
            record_property("fault", outcome.as_json())
        problems = self.judge(rig, declaration, fault, outcome)
        assert not problems, f"{fault.name} ({fault.summary}): " + "; ".join(problems)

    # -- the case, step by step ------------------------------------------------------------

    def run(self, rig: Rig, namespace: str, decl: BackendDeclaration, fault: Fault, outcome: Outcome) -> None:
        plugin = rig.plugins[0]
        probe = self.probe_class(plugin.channel, namespace)
        probe.open(CALL_S * 5)
        try:
            for i in range(BEFORE):
                probe.write(i, CALL_S * 5)
                outcome.acked.add(i)
                outcome.attempted.add(i)
            i = BEFORE
            if fault.needs == "plugin":
                rig.kill_plugin(plugin)
                i = self.write_during(probe, i, outcome, until=time.monotonic() + FAULT_S / 2)
                probe.close()
                plugin = rig.replace_plugin(plugin)
                probe = self.probe_class(plugin.channel, namespace)
                probe.open(CALL_S * 5)
            else:
                fault.inject(rig)
                try:
                    i = self.during(plugin, probe, i, fault, outcome)
                finally:
                    fault.heal(rig)
            i = self.recover(plugin, probe, i, fault, outcome, decl)
            delivered: list[int] = []
            if self.probe_class.at_most_once:
                # what the subscription delivered so far; a subscription the fault ended is opened
                # again here, and from now on nothing published may be lost
                delivered = list(probe.read(CALL_S))
                outcome.recovered_at = i
            for _ in range(AFTER):
                probe.write(i, CALL_S * 5)
                outcome.acked.add(i)
                outcome.attempted.add(i)
                i += 1
            outcome.read = delivered + self.read_all(probe, outcome)
        finally:
            probe.close()
        if fault.needs != "plugin" and plugin.proc is not None and plugin.proc.poll() is not None:
            outcome.violations.append(f"the plugin exited with status {plugin.proc.returncode} during the fault")

    def write_during(self, probe: Probe, i: int, outcome: Outcome, until: float) -> int:
        """Write items until `until`, each call with the CALL_S deadline; OK is an acknowledgement."""
        while True:
            i = self.attempt(probe, i, outcome)
            if time.monotonic() >= until:
                return i

    def attempt(self, probe: Probe, i: int, outcome: Outcome) -> int:
        """One write of item i during the fault, paced to one per PACE_S (a fault answered at
        once would otherwise be hammered thousands of times a second)."""
        outcome.attempted.add(i)
        started = time.monotonic()
        if outcome.last_attempt and started < outcome.last_attempt + PACE_S:
            time.sleep(outcome.last_attempt + PACE_S - started)  # pacing the writes, not waiting for an effect
            started = time.monotonic()
        outcome.last_attempt = started
        try:
            probe.write(i, CALL_S)
            outcome.acked.add(i)
            outcome.during["OK"] += 1
        except grpc.RpcError as e:
            outcome.during[e.code().name] += 1
            if e.code() not in ALLOWED:
                outcome.violations.append(
                    f"write of item {i} during the fault: got {e.code().name} ({e.details()}), want OK, UNAVAILABLE or DEADLINE_EXCEEDED"
                )
        took = time.monotonic() - started
        if took > CALL_S + 1.0:
            outcome.violations.append(f"write of item {i}: answered after {took:.1f} s, deadline {CALL_S} s")
        return i + 1

    def during(self, plugin: PluginProcess, probe: Probe, i: int, fault: Fault, outcome: Outcome) -> int:
        """Write through the fault; for a fault that cuts the backend off, until health says
        NOT_SERVING (within DETECT_S) as well as FAULT_S."""
        start = time.monotonic()
        min_end = start + FAULT_S
        detect_by = start + DETECT_S
        while True:
            i = self.attempt(probe, i, outcome)
            if fault.unreachable and outcome.detected_s is None:
                if self.health(plugin, outcome) == NOT_SERVING:
                    outcome.detected_s = round(time.monotonic() - start, 3)
            now = time.monotonic()
            if now >= min_end and (not fault.unreachable or outcome.detected_s is not None or now >= detect_by):
                return i

    def health(self, plugin: PluginProcess, outcome: Outcome) -> int | None:
        try:
            status = health_pb2_grpc.HealthStub(plugin.channel).Check(health_pb2.HealthCheckRequest(), timeout=HEALTH_DEADLINE_S).status
        except grpc.RpcError as e:
            outcome.health[e.code().name] += 1
            outcome.violations.append(f"health Check: got {e.code().name} ({e.details()}), want an answer within {HEALTH_DEADLINE_S} s")
            return None
        outcome.health[health_pb2.HealthCheckResponse.ServingStatus.Name(status)] += 1
        return status

    def recover(self, plugin: PluginProcess, probe: Probe, i: int, fault: Fault, outcome: Outcome, decl: BackendDeclaration) -> int:
        """Write until one is acknowledged and health says SERVING, within the recovery time."""
        allowed = float(fault_behaviours(decl).get("recovery_s", DEFAULT_RECOVERY_S))
        healed = time.monotonic()
        deadline = healed + allowed
        written = serving = False
        while True:
            if not written:
                outcome.attempted.add(i)
                try:
                    probe.write(i, CALL_S)
                    outcome.acked.add(i)
                    outcome.recovered_at = i
                    written = True
                except grpc.RpcError as e:
                    if e.code() not in ALLOWED:
                        outcome.violations.append(f"write of item {i} after the fault: got {e.code().name} ({e.details()})")
                i += 1
            if written and not serving:
                try:
                    serving = (
                        health_pb2_grpc.HealthStub(plugin.channel).Check(health_pb2.HealthCheckRequest(), timeout=HEALTH_DEADLINE_S).status
                        == SERVING
                    )
                except grpc.RpcError:
                    serving = False
            if written and serving:
                outcome.recovery_s = round(time.monotonic() - healed, 3)
                return i
            if time.monotonic() >= deadline:
                what = "no write was acknowledged" if not written else "health did not say SERVING"
                raise AssertionError(
                    f"{fault.name}: {what} within {allowed:g} s of the fault healing "
                    f"(behaviours.faults.recovery_s in {decl.path}; default {DEFAULT_RECOVERY_S:g}); during it: {dict(outcome.during)}"
                )
            time.sleep(0.05)  # polling a recovering plugin, within the recovery deadline

    def read_all(self, probe: Probe, outcome: Outcome) -> list[int]:
        """What the backend holds (or delivers) now: consuming probes are read until every
        acknowledged item came or READ_S passed; a store that reads by name looks up every item
        attempted (the probe of a restarted plugin did not write them all itself)."""
        if not probe.consuming:
            return list(probe.read(READ_S, frozenset(outcome.attempted)))
        owed = {i for i in outcome.acked if i >= outcome.recovered_at} if probe.at_most_once else outcome.acked
        return list(probe.read(READ_S, frozenset(owed)))

    # -- the verdict -------------------------------------------------------------------------

    def judge(self, rig: Rig, decl: BackendDeclaration, fault: Fault, outcome: Outcome) -> list[str]:
        problems = list(dict.fromkeys(outcome.violations))
        if fault.unreachable and outcome.detected_s is None:
            problems.append(
                f"health: got {dict(outcome.health)} during the fault, "
                f"want NOT_SERVING within {DETECT_S:g} s while the backend is unreachable"
            )
        got = collections.Counter(outcome.read)
        unexpected = sorted(set(got) - outcome.attempted)
        if unexpected:
            problems.append(f"read: got items {unexpected[:10]} that were never written")
        behaviours = fault_behaviours(decl)
        durable = bool(behaviours.get("durable_writes", False))
        lost = outcome.acked - set(got)
        if self.probe_class.at_most_once:
            # at-most-once (pubsub): what was published while the subscription was cut off may be
            # lost; what was acknowledged once the plugin recovered must arrive
            lost = {i for i in lost if i >= outcome.recovered_at}
        elif fault.loses_data(rig) and not durable:
            lost = {i for i in lost if i >= outcome.recovered_at}  # the crash took what it held
        if lost:
            why = "" if durable or not fault.loses_data(rig) else " (written after the restart)"
            problems.append(
                f"read: acknowledged items {sorted(lost)[:10]} missing{why}; read {len(got)} items, {len(outcome.acked)} acknowledged"
            )
        dupes = sorted(i for i, n in got.items() if n > 1)
        at_least_once = behaviours.get("delivery", "at_least_once") == "at_least_once"
        if dupes and not (self.probe_class.messages and at_least_once):
            problems.append(
                f"read: items {dupes[:10]} came more than once (behaviours.faults.delivery: {behaviours.get('delivery', 'at_least_once')})"
            )
        if self.probe_class.ordered:
            firsts = list(dict.fromkeys(outcome.read))
            if firsts != sorted(firsts):
                problems.append(f"read: items out of the order they were acknowledged in: {firsts[:20]}")
        return problems


def chaos_for(model: str) -> type:
    probe = probe_for(model)
    return type(f"Chaos_{model}", (ChaosTests,), {"probe_class": probe, "__doc__": f"{model} under faults ({probe.interface})"})
