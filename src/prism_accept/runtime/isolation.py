"""Look-alike names never meet (the `#conventions` case `look_alike_names_stay_apart`).

A plugin builds backend names (keys, subjects, topics, queues, client ids, SQL identifiers)
from a namespace and names; INTERFACES.md asks that encoding to be injective, whatever the parts
hold. A join with a separator, a case-folding or normalizing store, or a hash or cut of a long
name is not: two different (namespace, name) pairs then share data. `look_alikes` builds the
pairs such encodings merge, from the separators and escapes plugin families use, case and
Unicode normalization variants, and long names differing only at their end; every one is a
distinct `Cell`. `RECIPES` (one small write-then-read table per data model) writes a value only
its cell may show to every cell, reads every cell back (through each declared read path), drops
some of the namespaces and reads again: a cell must show exactly its own value, or nothing once
its namespace is dropped.

`colliding_tuples` gives the same families as tuples of parts, for the unit tests of each
plugin's name building."""

from __future__ import annotations

import functools
import importlib
from dataclasses import dataclass
from typing import Any, Callable

import grpc
from google.protobuf import message_factory
from google.protobuf.descriptor import FieldDescriptor, MethodDescriptor
from google.protobuf.message import Message

from prism.options.v1 import options_pb2
from prism_accept.catalog import get_interface
from prism_accept.suites.base import check

SEPARATORS = ("\0", ":", ".", "/", "-", "_", "%2F")  # what plugin families join or escape with
NFC, NFD = "\u00e9", "e\u0301"  # "é" composed and decomposed: different strings, equal once normalized
LONG_BYTES = 300  # longer than a plugin might keep whole (cut, or hash, past 255)
AUX = "d"  # the second name of a cell (a durable name), unless the cell needs its own


@dataclass(frozen=True)
class Cell:
    """One (namespace, name) pair; `aux` is the second name where a recipe takes one."""

    ns: str
    name: str
    aux: str = AUX

    def __str__(self) -> str:
        return f"(namespace {_short(self.ns)}, name {_short(self.name)}" + (f", {_short(self.aux)})" if self.aux != AUX else ")")


def _short(part: str) -> str:
    """A part for a failure message (escaped: NFC and NFD differ), a long one by its ends."""
    return ascii(part) if len(part) <= 48 else f"{part[:24]!a}...{part[-8:]!a} ({len(part.encode())} bytes)"


def _long(prefix: str, total_bytes: int) -> tuple[str, str] | None:
    """Two names of `total_bytes` starting with `prefix`, differing only in their last byte."""
    pad = total_bytes - len(prefix.encode()) - 1
    return None if pad < 1 else (prefix + "x" * pad + "1", prefix + "x" * pad + "2")


def look_alikes(base: str, max_name_bytes: int | None) -> tuple[list[Cell], set[str]]:
    """The cells, and the namespaces to drop (one of each look-alike namespace pair, and `base`,
    which every other namespace extends: a prefix-matching DropNamespace takes them all)."""
    longest = min(LONG_BYTES, max_name_bytes or LONG_BYTES)
    names = ["c", "bc", *(f"b{s}c" for s in SEPARATORS), "A", "a", NFC, NFD, *(_long("", longest) or ())]
    cells = [Cell(base, n) for n in names]
    cells += [Cell(base, "t\0d", "e"), Cell(base, "t", "d\0e")]  # the name / second-name boundary
    spaces = [base + s + "b" for s in SEPARATORS] + [base + "A", base + "a", base + NFC, base + NFD]
    long_spaces = _long(base, longest)
    spaces += list(long_spaces or ())
    cells += [Cell(ns, "c") for ns in spaces]  # (base, "b<sep>c") and (base + "<sep>b", "c") meet in a join
    dropped = {base, base + "a", base + NFD, *(long_spaces[1:] if long_spaces else ())}
    return cells, dropped


def colliding_tuples(arity: int = 2, longest: int = LONG_BYTES) -> list[tuple[tuple[str, ...], tuple[str, ...]]]:
    """Pairs of distinct tuples of `arity` (2: namespace, name; 3: and a second name) that a
    separator join, a case fold, a Unicode normalization or a cut of a long part merges."""
    one, two = _long("", longest) or ("1", "2")
    pairs: list[tuple[tuple[str, ...], tuple[str, ...]]] = [(("ns", f"b{s}c"), (f"ns{s}b", "c")) for s in SEPARATORS]
    pairs += [(("ns", f"b{s}c"), ("ns", "bc")) for s in SEPARATORS]
    pairs += [
        (("ns", "b/c"), ("ns", "b%2Fc")),
        (("ns", "b.c"), ("ns", "b/c")),
        (("ns", "b-c"), ("ns", "b_c")),
        (("ns", "b.c"), ("ns", "b:c")),
    ]
    pairs += [(("ns", "A"), ("ns", "a")), (("nsA", "c"), ("nsa", "c")), (("ns", NFC), ("ns", NFD)), (("ns" + NFC, "c"), ("ns" + NFD, "c"))]
    pairs += [(("ns", one), ("ns", two)), ((one, "c"), (two, "c"))]
    if arity == 2:
        return pairs
    assert arity == 3, arity
    pairs = [(x + (AUX,), y + (AUX,)) for x, y in pairs]
    pairs += [(("ns", f"t{s}d", "e"), ("ns", "t", f"d{s}e")) for s in SEPARATORS]
    return pairs + [(("ns", "t", one), ("ns", "t", two)), (("ns", "t", "A"), ("ns", "t", "a"))]


def assert_injective(encode: Callable[..., Any], arity: int = 2, longest: int = LONG_BYTES) -> None:
    """`encode` (a plugin's name building, given the parts) never maps two of the colliding
    tuples to one name (for the unit tests of each plugin's names)."""
    made: dict[Any, tuple[str, ...]] = {}
    for pair in colliding_tuples(arity, longest):
        for parts in pair:
            name = encode(*parts)
            assert made.setdefault(name, parts) == parts, f"{parts!r} and {made[name]!r} both name {name!r}"


# --- the recipes: per data model, how to write a cell's value and read it back ---------------
# Requests are built from the descriptors: the RPC's first name field (prism.options.v1.name)
# gets the cell's name, its second the cell's second name; `fields` adds the rest.


def _no_fields(cell: Cell, i: int) -> dict:
    return {}


def _as_is(answer: Any) -> Any:
    return answer


def _nothing(i: int) -> Any:
    return None


@dataclass(frozen=True)
class Step:
    rpc: str  # "<interface>.<Method>"
    fields: Callable[[Cell, int], dict] = _no_fields  # the request's other fields, for cell i
    shows: Callable[[Any], Any] = _as_is  # what the answer (a list for a stream) shows
    want: Callable[[int], Any] = _nothing  # what cell i must show; None: nothing
    empty: Any = None  # what a cell shows once its namespace is dropped (NOT_FOUND shows it too)

    @property
    def interface(self) -> str:
        return self.rpc.partition(".")[0]


def value(i: int) -> bytes:
    return b"cell-%d" % i


def _payloads(events: list) -> list[bytes]:
    return [e.record.payload for e in events if e.WhichOneof("event") == "record"]


# write, then the reads (each where its interface is declared)
RECIPES: dict[str, tuple[Step, ...]] = {
    "keyvalue": (
        Step("keyvalue_basic.Set", lambda c, i: {"value": value(i)}),
        Step("keyvalue_basic.Get", shows=lambda r: r.value, want=value),
        Step("keyvalue_basic.Exists", shows=lambda r: r.exists, want=lambda i: True, empty=False),
        Step("keyvalue_batch.BatchGet", shows=lambda r: [v.value for v in r.results if v.found], want=lambda i: [value(i)], empty=[]),
    ),
    "list": (
        Step("list_basic.PushRight", lambda c, i: {"values": [value(i)]}),
        Step("list_basic.Length", shows=lambda r: r.length, want=lambda i: 1, empty=0),
        Step("list_range.GetRange", lambda c, i: {"stop": -1}, lambda r: list(r.values), lambda i: [value(i)], []),
    ),
    "set": (
        Step("set_basic.Add", lambda c, i: {"members": [value(i)]}),
        Step("set_basic.GetMembers", shows=lambda r: sorted(r.members), want=lambda i: [value(i)], empty=[]),
        Step("set_cardinality.GetSize", shows=lambda r: r.count, want=lambda i: 1, empty=0),
    ),
    "sortedset": (
        Step("sortedset_basic.Add", lambda c, i: {"members": [{"member": b"m", "score": i}]}),
        Step("sortedset_basic.GetScore", lambda c, i: {"member": b"m"}, lambda r: r.score, float),
        Step(
            "sortedset_range.GetRange",
            lambda c, i: {"stop": -1},
            lambda r: [(m.member, m.score) for m in r.members],
            lambda i: [(b"m", i)],
            [],
        ),
    ),
    "queue": (
        Step("queue_basic.Enqueue", lambda c, i: {"payload": value(i)}),
        Step("queue_basic.Peek", shows=lambda r: r.message.payload if r.found else None, want=value),
    ),
    "stream": (
        Step("stream_basic.Append", lambda c, i: {"payload": value(i)}),
        Step("stream_basic.Read", lambda c, i: {"from": {"earliest": True}, "idle_timeout_ms": 0}, _payloads, lambda i: [value(i)], []),
    ),
    "timeseries": (
        Step("timeseries_basic.Insert", lambda c, i: {"points": [{"timestamp_ms": 1000, "value": i}]}),
        Step(
            "timeseries_basic.Query",
            lambda c, i: {"start_ms": 0, "end_ms": 2000},
            lambda r: sorted(p.value for series in r.series for p in series.points),
            lambda i: [float(i)],
            [],
        ),
    ),
    "document": (
        Step("document_basic.Insert", lambda c, i: {"document": {"id": c.aux, "body": {"cell": i}}}),
        Step("document_basic.Get", shows=lambda r: r.body["cell"], want=float),
        Step("document_query.Find", shows=lambda r: [d.body["cell"] for d in r.documents], want=lambda i: [float(i)], empty=[]),
    ),
    "graph": (
        Step("graph_basic.AddNode", lambda c, i: {"node": {"id": c.name, "properties": {"cell": i}}}),
        Step("graph_basic.GetNode", shows=lambda r: r.properties["cell"], want=float),
    ),
}

# reads of a whole namespace, each where its interface is declared: what they show of the
# namespace's cells' names
LISTINGS: dict[str, tuple[tuple[Step, Callable[[list[str]], Any]], ...]] = {
    "keyvalue": (
        (Step("keyvalue_scan.ScanKeys", shows=lambda keys: sorted(k.key for k in keys)), sorted),
        (Step("keyvalue_scan.Count", shows=lambda r: r.count), len),
    ),
}


@functools.lru_cache(maxsize=None)
def _method(rpc: str) -> MethodDescriptor:
    interface, _, method = rpc.partition(".")
    found = get_interface(interface)
    return importlib.import_module(found.proto_module).DESCRIPTOR.services_by_name[found.service].methods_by_name[method]


def request_for(rpc: str, cell: Cell, fields: dict) -> Message:
    """The request of `rpc` for the cell: its namespace, its name in the first name field and
    its second name in the second (a repeated one holds just it), then `fields`."""
    method = _method(rpc)
    names = [f for f in method.input_type.fields if f.type == FieldDescriptor.TYPE_STRING and f.GetOptions().Extensions[options_pb2.name]]
    given: dict[str, Any] = {"namespace": cell.ns}
    for f, part in zip(names, (cell.name, cell.aux)):
        given[f.name] = [part] if f.label == FieldDescriptor.LABEL_REPEATED else part
    return message_factory.GetMessageClass(method.input_type)(**{**given, **fields})


def call(channel: grpc.Channel, rpc: str, request: Message, timeout_s: float = 10.0) -> Any:
    """The answer (every message, for a server stream)."""
    return _callable(channel, rpc)(request, timeout_s)


_CALLABLES: dict[tuple[grpc.Channel, str], Callable[[Message, float], Any]] = {}  # by channel (held: ids never reused)


def _callable(channel: grpc.Channel, rpc: str) -> Callable[[Message, float], Any]:
    key = (channel, rpc)
    if key not in _CALLABLES:
        method = _method(rpc)
        path = f"/{method.containing_service.full_name}/{method.name}"
        serialize = message_factory.GetMessageClass(method.input_type).SerializeToString
        deserialize = message_factory.GetMessageClass(method.output_type).FromString
        if method.server_streaming:
            stream = channel.unary_stream(path, request_serializer=serialize, response_deserializer=deserialize)
            _CALLABLES[key] = lambda request, timeout_s: list(stream(request, timeout=timeout_s))
        else:
            unary = channel.unary_unary(path, request_serializer=serialize, response_deserializer=deserialize)
            _CALLABLES[key] = lambda request, timeout_s: unary(request, timeout=timeout_s)
    return _CALLABLES[key]


def _shown(channel: grpc.Channel, step: Step, cell: Cell, i: int) -> Any:
    try:
        return step.shows(call(channel, step.rpc, request_for(step.rpc, cell, step.fields(cell, i))))
    except grpc.RpcError as e:
        if e.code() != grpc.StatusCode.NOT_FOUND:
            raise AssertionError(f"{step.rpc} of {cell}: got {e.code().name} ({e.details()}), want OK") from None
        return step.empty


def check_model(
    channel: grpc.Channel,
    model: str,
    declared: set[str],
    cells: list[Cell],
    drop: Callable[[str], None],
    dropped: set[str],
    refuses_nul: bool = False,
) -> None:
    """Write every cell, read every cell through each declared read path, drop `dropped`, read
    again: each cell shows its own value, or nothing once dropped."""
    write, *reads = RECIPES[model]
    if refuses_nul:  # declared: a name holding U+0000 is INVALID_ARGUMENT; so be it, and leave it out
        for c in [c for c in cells if "\0" in c.name]:
            code = _code(lambda: call(channel, write.rpc, request_for(write.rpc, c, write.fields(c, 0))))
            check(f"{write.rpc} to {c} (declared: nul_in_names invalid_argument)", code, "INVALID_ARGUMENT")
        cells = [c for c in cells if "\0" not in c.name]
    for i, c in enumerate(cells):
        try:
            call(channel, write.rpc, request_for(write.rpc, c, write.fields(c, i)))
        except grpc.RpcError as e:
            raise AssertionError(
                f"{write.rpc} to {c}: got {e.code().name} ({e.details()}), want OK (a look-alike's data in the way?)"
            ) from None
    reads = [r for r in reads if r.interface in declared]
    spaces = list(dict.fromkeys(c.ns for c in cells))
    rounds: list[tuple[str, set[str]]] = [
        ("after every look-alike was written", set()),
        (f"after DropNamespace of {len(dropped)} of them", dropped),
    ]
    for when, gone in rounds:
        for ns in gone:
            drop(ns)
        for step in reads[:1] if gone else reads:  # after the drop, one read path shows what is left
            for i, c in enumerate(cells):
                check(f"{step.rpc} of {c} {when}", _shown(channel, step, c, i), step.empty if c.ns in gone else step.want(i))
        listings = [(s, w) for s, w in LISTINGS.get(model, ()) if s.interface in declared]
        for step, listed in listings[:1] if gone else listings:
            for ns in spaces:
                names = [] if ns in gone else [c.name for c in cells if c.ns == ns]
                check(f"{step.rpc} of namespace {ns!r} {when}", _shown(channel, step, Cell(ns, ""), 0), listed(names))


def _code(call_: Callable[[], Any]) -> str:
    try:
        call_()
        return "OK"
    except grpc.RpcError as e:
        return e.code().name


def writer(model: str) -> str:
    """The interface a model's cells are written through."""
    return RECIPES[model][0].interface


def _not_found_is(read: Callable[[], Any], empty: Any) -> Any:
    try:
        return read()
    except grpc.RpcError as e:
        if e.code() != grpc.StatusCode.NOT_FOUND:
            raise
        return empty


def _marker(round_: str, i: int) -> bytes:
    return b"%s-cell-%d" % (round_.encode(), i)


def check_pubsub(channel: grpc.Channel, declared: set[str], cells: list[Cell], drop: Callable[[str], None], dropped: set[str]) -> None:
    """Subscriptions of every cell at once: live ones (Subscribe, or SubscribePattern with the
    name as a literal pattern, in turn), then durable ones (sessions made, left, a message published to
    each while away, the sessions resumed together). A message to each cell, then a closing one
    to each: every subscriber's messages up to its own are just its own, and up to its closing
    one just that (one publisher's messages arrive in order, so a look-alike's, published
    before either, would have come first). Then GetLastMessageID of every cell, before and after
    DropNamespace."""
    from prism.pubsub.v1 import pubsub_pb2 as pb
    from prism_accept.suites.pubsub.basic import PubSubOps, Subscription, payloads

    ops = {ns: PubSubOps(channel, ns) for ns in dict.fromkeys(c.ns for c in cells)}
    live: list[tuple[str, Callable[[PubSubOps, Cell], Subscription]]] = []
    if "pubsub_basic" in declared:
        live.append(
            ("Subscribe", lambda o, c: o.open(o.basic.Subscribe, pb.SubscribeRequest(namespace=c.ns, topic=c.name), f"Subscribe of {c}"))
        )
    if "pubsub_wildcards" in declared:
        request = lambda c: pb.SubscribePatternRequest(namespace=c.ns, pattern=c.name)  # noqa: E731
        live.append(("SubscribePattern", lambda o, c: o.open(o.wildcards.SubscribePattern, request(c), f"SubscribePattern of {c}")))

    def durable(o: PubSubOps, c: Cell) -> Subscription:
        request = pb.SubscribeDurableRequest(namespace=c.ns, topic=c.name, durable_name=c.aux)
        return o.open(o.persistent.SubscribeDurable, request, f"SubscribeDurable of {c}")

    def opened(kinds: list) -> list[tuple[int, Cell, Subscription]]:
        # one subscription a cell, the kinds taken in turn: every cell is listened to, and every
        # kind meets look-alikes of every sort (a cell's misrouted message reaches its look-alike's
        # subscriber, whichever kind that is), at one consumer a cell (Kafka's cost)
        subscriptions = [(i, c, kinds[i % len(kinds)][1](ops[c.ns], c)) for i, c in enumerate(cells)]
        for *_, s in subscriptions:
            s.ready()
        return subscriptions

    def delivered(subscriptions, publish: Callable[[PubSubOps, str, bytes], str], label: str, before: bytes = b"") -> list[str]:
        """Publish a message to every cell, then a closing one; returns the closing ones' ids."""
        for round_ in (label, label + " closing"):
            ids = [publish(ops[c.ns], c.name, _marker(round_, i)) for i, c in enumerate(cells)]
            for i, c, s in subscriptions:
                want = [_marker(before.decode(), i)] if before and round_ == label else []
                check(
                    f"{s.what} ({round_}): its messages up to its own", payloads(s.until(_marker(round_, i))), [*want, _marker(round_, i)]
                )
        return ids

    try:
        if live:
            subscriptions = opened(live)
            delivered(subscriptions, lambda o, topic, payload: o.publish(topic, payload), "live")
            for *_, s in subscriptions:
                s.cancel()
        if "pubsub_persistent" in declared:
            for *_, s in opened([("SubscribeDurable", durable)]):  # the sessions, left at once
                s.cancel()
            persist = lambda o, topic, payload: o.publish_persistent(topic, payload)  # noqa: E731
            for i, c in enumerate(cells):
                persist(ops[c.ns], c.name, _marker("while away", i))
            subscriptions = opened([("SubscribeDurable", durable)])
            ids = delivered(subscriptions, persist, "resumed", before=b"while away")
            for *_, s in subscriptions:
                s.cancel()
            rounds: list[tuple[str, set[str]]] = [("", set()), (f" after DropNamespace of {len(dropped)} look-alikes", dropped)]
            for when, gone in rounds:
                for ns in gone:
                    drop(ns)
                for i, c in enumerate(cells):
                    got = _not_found_is(lambda: ops[c.ns].last_message_id(c.name), "")
                    check(f"GetLastMessageID of {c}{when}", got, "" if c.ns in gone else ids[i])
    finally:
        for o in ops.values():
            o.close()
