"""What every model machine shares: profiles, the namespaces it writes, gating by declaration,
and a plugin that stops answering failing fast (no replay or shrinking against a dead plugin)."""

from __future__ import annotations

import time
import uuid
from typing import Callable, ClassVar

import grpc
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, precondition, run_state_machine_as_test

from prism_accept.models.profiles import profile_name

PROFILES = {
    # Health checks time example generation, which here is the plugin's and the machine's load.
    # The budget is the least that still catches every model mutant of tests/mutants with a margin
    # (derandomized, so the first examples are the same at any max_examples): at 20 steps all 9
    # are caught from 5 examples on; 25 steps misses document-merge-null-stored at 5 and 6
    # examples, 15 steps misses three. 6 x 20 steps cost 40% of the former 10 x 30 (redis
    # model-keyvalue 3.3 -> 2.5 CPU-s, kafka model-stream 10.1 -> 4.0).
    "fast": settings(
        max_examples=6,
        stateful_step_count=20,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        report_multiple_bugs=False,
        phases=[Phase.explicit, Phase.generate],
    ),  # no shrinking: each replay costs plugin round trips
    "deep": settings(
        max_examples=200,
        stateful_step_count=60,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        report_multiple_bugs=False,
    ),
}
DEAD = (grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.UNAVAILABLE)


def profile() -> settings:
    return PROFILES[profile_name()]


def namespaces(base: str) -> list[str]:
    """Namespaces side by side, chosen to collide with likely key encodings ("ns:key",
    "ns:model:key", prefixes of one another)."""
    return [base, f"{base}:kv", f"{base}:", f"{base}:list:k"]


def declares(*interfaces: str):
    """A rule that runs only when the backend declares every one of these interfaces."""
    return precondition(lambda self: all(i in self.declared for i in interfaces))


class ModelMachine(RuleBasedStateMachine):
    """Base of the model machines: `declared` gates rules; `call` marks the plugin broken on a
    missed deadline so that every later step (and every replay while shrinking) fails at once."""

    PATHS: ClassVar[dict[str, str]] = {}  # read path -> the interface it needs (read_<path> methods)

    def __init__(self, plugin, declared: frozenset[str], base: str):
        super().__init__()
        self.plugin = plugin
        self.declared = declared
        self.namespaces = [plugin.track(ns) for ns in namespaces(f"{base}-{uuid.uuid4().hex[:6]}")]
        self.scratch: list[str] = []  # namespaces of the machine's own (probes), dropped at the end

    def scratch_namespace(self, suffix: str) -> str:
        ns = self.plugin.track(f"{self.namespaces[0]}-{suffix}")
        self.scratch.append(ns)
        return ns

    def call(self, fn: Callable, *args, **kwargs):
        if self.plugin.broken:
            raise AssertionError(f"plugin stopped answering earlier: {self.plugin.broken}")
        try:
            return fn(*args, **kwargs)
        except grpc.RpcError as e:
            if e.code() in DEAD:
                self.plugin.broken = f"{e.code().name} in a model step ({e.details()})"
            raise

    def target(self, data, keys) -> tuple[str, str]:
        """(namespace, name) for a rule that acts on existing state: mostly one the model holds,
        sometimes any (a missing one included)."""
        # The same draws whatever the state holds: what the model holds depends on timing (TTL
        # expiry), and draws that depend on it make Hypothesis' replay see another strategy
        # (FlakyStrategyDefinition in the deep profile).
        existing = data.draw(st.integers(0, 4), label="existing") < 4  # Hypothesis favours 0
        pick = data.draw(st.integers(0, 2**16 - 1), label="target")
        ns, name = self.namespaces[data.draw(namespace_index, label="namespace")], data.draw(keys, label="name")
        held = sorted(self.model)  # type: ignore[attr-defined]
        return held[pick % len(held)] if held and existing else (ns, name)

    def read(self, path: str, ns: str) -> None:
        """The whole state of one namespace through one read path (a `read_<path>` method),
        when the backend declares the interface the path needs (`PATHS`)."""
        if self.PATHS[path] in self.declared:
            getattr(self, f"read_{path}")(ns)

    def final_look(self, n: int, ns: str) -> None:
        """At the end: every read path over the first namespace (where most state is), one
        path over each other, starting at a different path each time."""
        paths = sorted(p for p, i in self.PATHS.items() if i in self.declared)
        for path in rotated(paths, n)[: None if n == 0 else 1]:
            self.read(path, ns)

    def teardown(self):
        if not self.plugin.broken:
            for n, ns in enumerate(self.namespaces):
                self.final_look(n, ns)
            for ns in [*self.namespaces, *self.scratch]:
                self.plugin.drop_namespace(ns)


def run(machine_factory: Callable[[], ModelMachine]) -> None:
    chosen = profile()
    run_state_machine_as_test(machine_factory, settings=chosen)


# Most steps land on the first namespace, so that state builds up where reads meet it; the
# others, whose names collide with likely encodings of the first, are still written and read.
namespace_index = st.sampled_from([0, 0, 0, 0, 1, 2, 3])


def rotated(paths: list[str], start: int) -> list[str]:
    """Every read path, starting at a different one per namespace, so each path is sometimes
    the first to meet the final state."""
    start %= len(paths) or 1
    return paths[start:] + paths[:start]


def now() -> float:
    return time.monotonic()
