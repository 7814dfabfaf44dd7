"""Probes: numbered items written through one data model's interfaces and read back, so that a
fault cell can count what an acknowledged write kept, lost, duplicated or invented.

Item i is written in a form no other item has (name `item-<i>`, value `value-<i>`, or payload
`item-<i>`), so a read that returns a value never written is recognised and fails naming the
operation, what it got and what it wanted."""

from __future__ import annotations

import abc
import builtins
import importlib
import re
from typing import ClassVar

import grpc

# The submodules `list` and `set` become attributes of this package, shadowing the builtins
# here once imported: this module names the builtins through `builtins`.

PAYLOAD = re.compile(rb"item-(0|[1-9][0-9]*)")
NAME = "probe"  # the probe's key, set, topic, queue, stream, metric or collection in its namespace


def item_name(i: int) -> str:
    return f"item-{i}"


def item_payload(i: int) -> bytes:
    return item_name(i).encode()


def item_value(i: int) -> bytes:
    return f"value-{i}".encode()


def item_of(operation: str, payload: bytes) -> int:
    """The item a payload names; AssertionError when it is not one the probe writes."""
    m = PAYLOAD.fullmatch(payload)
    if m is None:
        raise AssertionError(f"{operation}: got {payload!r}, want b'item-<i>' (a value the probe wrote)")
    return int(m.group(1))


def check_value(operation: str, got: object, want: object) -> None:
    if got != want:
        raise AssertionError(f"{operation}: got {got!r}, want {want!r} (a value the probe wrote)")


class Probe(abc.ABC):
    """Numbered items written through a data model's interfaces, and read back, for fault cells."""

    interface: ClassVar[str]  # the interface it needs (e.g. "keyvalue_basic")
    consuming: ClassVar[bool] = False  # read() takes what it returns (queue, pubsub), so items
    # are counted over every read() of a case
    ordered: ClassVar[bool] = False  # read() order is promised (stream offsets, list order)
    messages: ClassVar[bool] = False  # items are messages (stream, queue, pubsub): where the backend
    # declares at-least-once delivery, one may come twice after a fault (a retried Append, say)
    at_most_once: ClassVar[bool] = False  # what is written while a fault cut the reader off is not
    # owed to it (pubsub: INTERFACES.md promises delivery to a live subscription only)

    def __init__(self, channel: grpc.Channel, namespace: str):
        self.channel, self.namespace = channel, namespace

    def open(self, timeout: float) -> None:
        """Whatever must exist before the first write (a subscription); nothing by default."""

    @abc.abstractmethod
    def write(self, i: int, timeout: float) -> None:
        """One write of item i; returning means acknowledged; raises grpc.RpcError otherwise."""

    @abc.abstractmethod
    def read(self, timeout: float, want: frozenset[int] = frozenset()) -> builtins.list[int]:
        """The items the backend holds (stores) or delivered since the last read (consuming);
        duplicates kept; a consuming read waits until every item of `want` arrived or `timeout`."""

    def close(self) -> None:
        """Release streams and subscriptions; never raises."""


class KnownItems(Probe):
    """A store whose basic interface reads only named things (Get of a key, a node, a
    document): read looks up every item ever written (attempted, acknowledged or not) and every
    item of `want`, so an item a fault kept or lost is seen, but a phantom under a name the
    probe never used is not."""

    def __init__(self, channel: grpc.Channel, namespace: str):
        super().__init__(channel, namespace)
        self.attempted: builtins.set[int] = builtins.set()

    def write(self, i: int, timeout: float) -> None:
        self.attempted.add(i)
        self.put(i, timeout)

    def read(self, timeout: float, want: frozenset[int] = frozenset()) -> builtins.list[int]:
        return [i for i in sorted(self.attempted | want) if self.held(i, timeout)]

    @abc.abstractmethod
    def put(self, i: int, timeout: float) -> None:
        """Write item i (idempotent)."""

    @abc.abstractmethod
    def held(self, i: int, timeout: float) -> bool:
        """Whether item i is held; AssertionError when what is held under its name is not it."""


def not_found(e: grpc.RpcError) -> bool:
    return e.code() == grpc.StatusCode.NOT_FOUND


def probe_for(model: str) -> type[Probe]:
    """The probe of a data model: class Probe of prism_accept.chaos.probes.<model>."""
    module = f"{__name__}.{model}"
    try:
        return importlib.import_module(module).Probe
    except ModuleNotFoundError as e:
        if e.name != module:
            raise
        raise ValueError(f"probe_for({model!r}): no module {module}; want a data model with a probe") from None
