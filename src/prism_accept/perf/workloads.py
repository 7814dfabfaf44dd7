"""The workloads, one set per data model, run through a plugin's gRPC surface (generated stubs
only). A workload applies to a backend when it declares every interface in `needs`; the models
and services come from the catalog (registry/interfaces.yaml).

keyvalue: YCSB core workloads A (50/50 read/update), B (95/5), C (read only), F (read-modify-write
through CompareAndSwap), E (95/5 short scans/inserts), zipfian keys over RECORDS loaded records of
VALUE_BYTES. pubsub and stream: a fixed publish rate, end-to-end latency (publish to delivery),
and the maximum sustained publish rate. queue: enqueue, then dequeue (+ ack) by competing
consumers. list, set, sortedset, timeseries, graph, document: one read/write mix each.
"""

from __future__ import annotations

import importlib
import random
import struct
import threading
from dataclasses import dataclass, field
from typing import Any, Callable

import grpc
from google.protobuf import struct_pb2

from prism_accept.catalog import get_interface
from prism_accept.perf.measure import Sample, closed_loop, competing_consumers, fixed_rate_end_to_end
from prism_accept.perf.zipfian import ScrambledZipfian

RECORDS = 1000
VALUE_BYTES = 1024
PUBLISH_RATE = 200.0  # messages/s of the fixed-rate runs: well under every backend's maximum here
CONSUMERS = 2
CALL_TIMEOUT_S = 5.0


@dataclass
class Context:
    """What a workload gets: the plugin's channel, its own namespace, a seeded RNG."""

    channel: grpc.Channel
    namespace: str
    rng: random.Random = field(default_factory=lambda: random.Random(42))
    state: dict[str, Any] = field(default_factory=dict)

    def stub(self, interface: str) -> Any:
        i = get_interface(interface)
        module = importlib.import_module(i.proto_module + "_grpc")
        return getattr(module, f"{i.service}Stub")(self.channel)

    def pb(self, interface: str) -> Any:
        return importlib.import_module(get_interface(interface).proto_module)


@dataclass(frozen=True)
class Workload:
    name: str  # e.g. "ycsb-a"; the same name on the direct-client path (direct.py)
    model: str
    needs: tuple[str, ...]
    describe: str
    setup: Callable[[Context], None]
    sample: Callable[[Context, float], Sample]
    mode: str = "closed-loop"  # or "fixed-rate" (latencies corrected for coordinated omission)


def key(i: int) -> str:
    return f"user{i:06d}"


def value(rng: random.Random) -> bytes:
    return rng.randbytes(VALUE_BYTES)


def seq_payload(i: int, size: int = 64) -> bytes:
    return struct.pack(">q", i) + b"\0" * (size - 8)


def seq_of(payload: bytes) -> int:
    return struct.unpack(">q", payload[:8])[0] if len(payload) >= 8 else -1


# --- keyvalue: YCSB ------------------------------------------------------------------------------


def kv_load(ctx: Context) -> None:
    kv, pb = ctx.stub("keyvalue_basic"), ctx.pb("keyvalue_basic")
    for i in range(RECORDS):
        kv.Set(pb.SetRequest(namespace=ctx.namespace, key=key(i), value=value(ctx.rng)), timeout=CALL_TIMEOUT_S)
    ctx.state["zipf"] = ScrambledZipfian(RECORDS, rng=ctx.rng)


def ycsb(read_share: float) -> Callable[[Context, float], Sample]:
    def sample(ctx: Context, duration_s: float) -> Sample:
        kv, pb, zipf, rng = ctx.stub("keyvalue_basic"), ctx.pb("keyvalue_basic"), ctx.state["zipf"], ctx.rng
        payload = value(rng)

        def op() -> None:
            k = key(zipf.next())
            if rng.random() < read_share:
                kv.Get(pb.GetRequest(namespace=ctx.namespace, key=k), timeout=CALL_TIMEOUT_S)
            else:
                kv.Set(pb.SetRequest(namespace=ctx.namespace, key=k, value=payload), timeout=CALL_TIMEOUT_S)

        return closed_loop(op, duration_s)

    return sample


def ycsb_f(ctx: Context, duration_s: float) -> Sample:
    """F: 50% reads, 50% read-modify-write (Get, then CompareAndSwap from what was read)."""
    kv, cas, pb, zipf, rng = ctx.stub("keyvalue_basic"), ctx.stub("keyvalue_cas"), ctx.pb("keyvalue_basic"), ctx.state["zipf"], ctx.rng
    payload = value(rng)

    def op() -> None:
        k = key(zipf.next())
        current = kv.Get(pb.GetRequest(namespace=ctx.namespace, key=k), timeout=CALL_TIMEOUT_S).value
        if rng.random() < 0.5:
            cas.CompareAndSwap(
                pb.CompareAndSwapRequest(namespace=ctx.namespace, key=k, expected=current, new_value=payload), timeout=CALL_TIMEOUT_S
            )

    return closed_loop(op, duration_s)


def ycsb_e(ctx: Context, duration_s: float) -> Sample:
    """E: 95% short scans (the ~100 keys sharing a zipfian key's prefix), 5% inserts of new keys."""
    kv, scan, pb, zipf, rng = ctx.stub("keyvalue_basic"), ctx.stub("keyvalue_scan"), ctx.pb("keyvalue_basic"), ctx.state["zipf"], ctx.rng
    payload = value(rng)
    inserted = [RECORDS]

    def op() -> None:
        if rng.random() < 0.95:
            prefix = key(zipf.next())[:-2]
            for _ in scan.Scan(pb.ScanRequest(namespace=ctx.namespace, prefix=prefix, limit=100), timeout=CALL_TIMEOUT_S):
                pass
        else:
            kv.Set(pb.SetRequest(namespace=ctx.namespace, key=key(inserted[0]), value=payload), timeout=CALL_TIMEOUT_S)
            inserted[0] += 1

    return closed_loop(op, duration_s)


# --- pubsub and stream: OpenMessaging-style ------------------------------------------------------


def no_setup(ctx: Context) -> None:
    pass


def _subscription(ctx: Context, duration_s: float, started: threading.Event) -> Callable[[Callable[[int], None]], None]:
    """The reader of a fixed-rate run: subscribes, signals `started` once Ready, delivers payloads."""
    ps, pb = ctx.stub("pubsub_basic"), ctx.pb("pubsub_basic")
    call = ps.Subscribe(pb.SubscribeRequest(namespace=ctx.namespace, topic="perf"), timeout=duration_s + 15)
    ctx.state["call"] = call

    def read(on_delivery: Callable[[int], None]) -> None:
        try:
            for event in call:
                if event.HasField("ready"):
                    started.set()
                elif event.HasField("message"):
                    on_delivery(seq_of(event.message.payload))
        except grpc.RpcError:
            pass

    return read


def _ready_first(read: Callable[[Callable[[int], None]], None], started: threading.Event) -> Callable[[Callable[[int], None]], None]:
    """Starts the reader ahead of the run (the subscription must be ready before the first send)."""
    box: dict[str, Callable[[int], None]] = {}
    thread = threading.Thread(target=read, args=(lambda i: box["f"](i) if "f" in box else None,), daemon=True)
    thread.start()
    if not started.wait(CALL_TIMEOUT_S):
        raise TimeoutError("the subscription was not ready within the deadline")

    def attach(on_delivery: Callable[[int], None]) -> None:
        box["f"] = on_delivery
        thread.join()

    return attach


def pubsub_fixed_rate(ctx: Context, duration_s: float) -> Sample:
    ps, pb = ctx.stub("pubsub_basic"), ctx.pb("pubsub_basic")
    started = threading.Event()
    reader = _ready_first(_subscription(ctx, duration_s, started), started)
    try:
        return fixed_rate_end_to_end(
            lambda i: ps.Publish(pb.PublishRequest(namespace=ctx.namespace, topic="perf", payload=seq_payload(i)), timeout=CALL_TIMEOUT_S),
            reader,
            PUBLISH_RATE,
            duration_s,
        )
    finally:
        ctx.state.pop("call").cancel()


def pubsub_max_rate(ctx: Context, duration_s: float) -> Sample:
    """The maximum sustained publish rate of one publisher (closed loop), a subscriber attached."""
    ps, pb = ctx.stub("pubsub_basic"), ctx.pb("pubsub_basic")
    started = threading.Event()
    reader = _ready_first(_subscription(ctx, duration_s, started), started)
    threading.Thread(target=reader, args=(lambda i: None,), daemon=True).start()
    seq = [0]

    def op() -> None:
        ps.Publish(pb.PublishRequest(namespace=ctx.namespace, topic="perf", payload=seq_payload(seq[0])), timeout=CALL_TIMEOUT_S)
        seq[0] += 1

    try:
        return closed_loop(op, duration_s)
    finally:
        ctx.state.pop("call").cancel()


def stream_fixed_rate(ctx: Context, duration_s: float) -> Sample:
    st, pb = ctx.stub("stream_basic"), ctx.pb("stream_basic")
    name = f"perf-{ctx.rng.randrange(1 << 30)}"
    started = threading.Event()
    call = st.Read(
        pb.ReadRequest(namespace=ctx.namespace, stream=name, **{"from": pb.Position(latest=True)}, idle_timeout_ms=3000),
        timeout=duration_s + 15,
    )

    def read(on_delivery: Callable[[int], None]) -> None:
        try:
            for event in call:
                if event.HasField("ready"):
                    started.set()
                elif event.HasField("record"):
                    on_delivery(seq_of(event.record.payload))
        except grpc.RpcError:
            pass

    reader = _ready_first(read, started)
    try:
        return fixed_rate_end_to_end(
            lambda i: st.Append(pb.AppendRequest(namespace=ctx.namespace, stream=name, payload=seq_payload(i)), timeout=CALL_TIMEOUT_S),
            reader,
            PUBLISH_RATE,
            duration_s,
        )
    finally:
        call.cancel()


def stream_max_rate(ctx: Context, duration_s: float) -> Sample:
    st, pb = ctx.stub("stream_basic"), ctx.pb("stream_basic")
    seq = [0]

    def op() -> None:
        st.Append(pb.AppendRequest(namespace=ctx.namespace, stream="perf-max", payload=seq_payload(seq[0])), timeout=CALL_TIMEOUT_S)
        seq[0] += 1

    return closed_loop(op, duration_s)


# --- queue ---------------------------------------------------------------------------------------


def queue_enqueue(ctx: Context, duration_s: float) -> Sample:
    q, pb = ctx.stub("queue_basic"), ctx.pb("queue_basic")
    payload = seq_payload(0, 256)
    sample = closed_loop(
        lambda: q.Enqueue(pb.EnqueueRequest(namespace=ctx.namespace, queue="perf", payload=payload), timeout=CALL_TIMEOUT_S), duration_s
    )
    ctx.state["enqueued"] = ctx.state.get("enqueued", 0) + sample.ops
    return sample


def queue_fill(ctx: Context) -> None:
    ctx.state["queue"] = f"perf-{ctx.rng.randrange(1 << 30)}"


def queue_dequeue(acks: bool) -> Callable[[Context, float], Sample]:
    """Enqueue a batch (not measured), then CONSUMERS competing consumers take it: Dequeue, or
    DequeueWithTimeout + Ack where queue_visibility is declared."""

    def sample(ctx: Context, duration_s: float) -> Sample:
        q, pb, name = ctx.stub("queue_basic"), ctx.pb("queue_basic"), ctx.state["queue"]
        # as many messages as half the time allows to enqueue
        probe = closed_loop(
            lambda: q.Enqueue(pb.EnqueueRequest(namespace=ctx.namespace, queue=name, payload=b"m" * 256), timeout=CALL_TIMEOUT_S),
            duration_s / 2,
        )
        total = probe.ops
        if acks:
            vis = ctx.stub("queue_visibility")

            def take() -> bool:
                got = vis.DequeueWithTimeout(
                    pb.DequeueWithTimeoutRequest(namespace=ctx.namespace, queue=name, visibility_timeout_ms=30_000), timeout=CALL_TIMEOUT_S
                )
                if not got.found:
                    return False
                vis.Ack(pb.AckRequest(namespace=ctx.namespace, queue=name, receipt=got.message.receipt), timeout=CALL_TIMEOUT_S)
                return True

        else:

            def take() -> bool:
                return q.Dequeue(pb.DequeueRequest(namespace=ctx.namespace, queue=name), timeout=CALL_TIMEOUT_S).found

        return competing_consumers(take, CONSUMERS, total, deadline_s=duration_s * 3)

    return sample


# --- list, set, sortedset, timeseries, graph, document -------------------------------------------


def list_push_pop(ctx: Context, duration_s: float) -> Sample:
    """50% PushRight, 50% PopLeft on 16 lists chosen uniformly (a work list)."""
    ls, pb, rng = ctx.stub("list_basic"), ctx.pb("list_basic"), ctx.rng
    item = b"x" * 128

    def op() -> None:
        k = f"l{rng.randrange(16)}"
        if rng.random() < 0.5:
            ls.PushRight(pb.PushRequest(namespace=ctx.namespace, key=k, values=[item]), timeout=CALL_TIMEOUT_S)
        else:
            ls.PopLeft(pb.PopRequest(namespace=ctx.namespace, key=k), timeout=CALL_TIMEOUT_S)

    return closed_loop(op, duration_s)


def set_load(ctx: Context) -> None:
    s, pb = ctx.stub("set_basic"), ctx.pb("set_basic")
    for n in range(10):
        s.Add(
            pb.MembersRequest(namespace=ctx.namespace, set=f"s{n}", members=[f"m{i}".encode() for i in range(100)]), timeout=CALL_TIMEOUT_S
        )
    ctx.state["zipf"] = ScrambledZipfian(200, rng=ctx.rng)


def set_add_contains(ctx: Context, duration_s: float) -> Sample:
    """90% Contains, 10% Add, zipfian members (half of them present)."""
    s, pb, rng, zipf = ctx.stub("set_basic"), ctx.pb("set_basic"), ctx.rng, ctx.state["zipf"]

    def op() -> None:
        name, member = f"s{rng.randrange(10)}", f"m{zipf.next()}".encode()
        if rng.random() < 0.9:
            s.Contains(pb.ContainsRequest(namespace=ctx.namespace, set=name, member=member), timeout=CALL_TIMEOUT_S)
        else:
            s.Add(pb.MembersRequest(namespace=ctx.namespace, set=name, members=[member]), timeout=CALL_TIMEOUT_S)

    return closed_loop(op, duration_s)


def sortedset_load(ctx: Context) -> None:
    z, pb = ctx.stub("sortedset_basic"), ctx.pb("sortedset_basic")
    members = [pb.ScoredMember(member=f"m{i}".encode(), score=float(i)) for i in range(RECORDS)]
    z.Add(pb.AddRequest(namespace=ctx.namespace, key="board", members=members), timeout=CALL_TIMEOUT_S)


def sortedset_add_range(ctx: Context, duration_s: float) -> Sample:
    """50% Add (ZADD of one member), 50% GetRangeByScore of a 10-wide window (ZRANGEBYSCORE)."""
    z, r, pb, rng = ctx.stub("sortedset_basic"), ctx.stub("sortedset_range"), ctx.pb("sortedset_basic"), ctx.rng

    def op() -> None:
        if rng.random() < 0.5:
            m = pb.ScoredMember(member=f"m{rng.randrange(RECORDS)}".encode(), score=rng.uniform(0, RECORDS))
            z.Add(pb.AddRequest(namespace=ctx.namespace, key="board", members=[m]), timeout=CALL_TIMEOUT_S)
        else:
            low = rng.uniform(0, RECORDS - 10)
            r.GetRangeByScore(
                pb.GetRangeByScoreRequest(
                    namespace=ctx.namespace, key="board", min=pb.ScoreBound(value=low), max=pb.ScoreBound(value=low + 10)
                ),
                timeout=CALL_TIMEOUT_S,
            )

    return closed_loop(op, duration_s)


def timeseries_load(ctx: Context) -> None:
    ts, pb = ctx.stub("timeseries_basic"), ctx.pb("timeseries_basic")
    points = [pb.Point(timestamp_ms=1_700_000_000_000 + i * 1000, value=float(i % 97)) for i in range(RECORDS)]
    ts.Insert(pb.InsertRequest(namespace=ctx.namespace, metric="cpu", labels={"host": "a"}, points=points), timeout=CALL_TIMEOUT_S)
    ctx.state["next_ms"] = 1_700_000_000_000 + RECORDS * 1000


def timeseries_insert_query(ctx: Context, duration_s: float) -> Sample:
    """50% Insert of one point, 50% a 60-point window: Aggregate in 10 s buckets where
    timeseries_aggregation is declared, else Query."""
    ts, pb, rng = ctx.stub("timeseries_basic"), ctx.pb("timeseries_basic"), ctx.rng
    agg = ctx.stub("timeseries_aggregation") if ctx.state.get("aggregation") else None

    def op() -> None:
        if rng.random() < 0.5:
            ctx.state["next_ms"] += 1000
            ts.Insert(
                pb.InsertRequest(
                    namespace=ctx.namespace,
                    metric="cpu",
                    labels={"host": "a"},
                    points=[pb.Point(timestamp_ms=ctx.state["next_ms"], value=1.0)],
                ),
                timeout=CALL_TIMEOUT_S,
            )
        else:
            start = 1_700_000_000_000 + rng.randrange(RECORDS - 60) * 1000
            if agg is not None:
                agg.Aggregate(
                    pb.AggregateRequest(
                        namespace=ctx.namespace, metric="cpu", start_ms=start, end_ms=start + 60_000, bucket_ms=10_000, function=pb.AVG
                    ),
                    timeout=CALL_TIMEOUT_S,
                )
            else:
                ts.Query(
                    pb.QueryRequest(namespace=ctx.namespace, metric="cpu", start_ms=start, end_ms=start + 60_000), timeout=CALL_TIMEOUT_S
                )

    return closed_loop(op, duration_s)


GRAPH_NODES, GRAPH_EDGES_PER_NODE = 500, 3


def graph_load(ctx: Context) -> None:
    g, pb, rng = ctx.stub("graph_basic"), ctx.pb("graph_basic"), ctx.rng
    g.AddNodes(pb.AddNodesRequest(namespace=ctx.namespace, nodes=[pb.Node(id=f"n{i}") for i in range(GRAPH_NODES)]), timeout=CALL_TIMEOUT_S)
    edges = [
        pb.Edge(id=f"e{i}-{j}", from_node=f"n{i}", to_node=f"n{rng.randrange(GRAPH_NODES)}", label="knows")
        for i in range(GRAPH_NODES)
        for j in range(GRAPH_EDGES_PER_NODE)
    ]
    for start in range(0, len(edges), 500):  # within any declared max_batch_size
        g.AddEdges(pb.AddEdgesRequest(namespace=ctx.namespace, edges=edges[start : start + 500]), timeout=CALL_TIMEOUT_S)
    ctx.state["edges"] = len(edges)


def graph_bfs(ctx: Context, duration_s: float) -> Sample:
    """90% a breadth-first traversal of depth 2 from a random node, 10% AddEdge."""
    g, t, pb, rng = ctx.stub("graph_basic"), ctx.stub("graph_traversal"), ctx.pb("graph_basic"), ctx.rng

    def op() -> None:
        if rng.random() < 0.9:
            t.TraverseBreadthFirst(
                pb.TraverseRequest(namespace=ctx.namespace, start=f"n{rng.randrange(GRAPH_NODES)}", max_depth=2), timeout=CALL_TIMEOUT_S
            )
        else:
            ctx.state["edges"] += 1
            edge = pb.Edge(
                id=f"x{ctx.state['edges']}",
                from_node=f"n{rng.randrange(GRAPH_NODES)}",
                to_node=f"n{rng.randrange(GRAPH_NODES)}",
                label="knows",
            )
            g.AddEdge(pb.AddEdgeRequest(namespace=ctx.namespace, edge=edge), timeout=CALL_TIMEOUT_S)

    return closed_loop(op, duration_s)


def _doc(pb: Any, i: int) -> Any:
    body = struct_pb2.Struct()
    body.update({"k": i % 100, "name": f"doc {i}", "pad": "p" * 200})
    return pb.Document(id=f"d{i}", body=body)


def document_load(ctx: Context) -> None:
    d, pb = ctx.stub("document_basic"), ctx.pb("document_basic")
    if ctx.state.get("indexing"):
        ctx.stub("document_indexing").CreateIndex(
            pb.CreateIndexRequest(namespace=ctx.namespace, collection="c", index=pb.Index(name="by_k", fields=["k"])),
            timeout=CALL_TIMEOUT_S,
        )
    d.InsertMany(
        pb.InsertManyRequest(namespace=ctx.namespace, collection="c", documents=[_doc(pb, i) for i in range(RECORDS)]),
        timeout=CALL_TIMEOUT_S,
    )
    ctx.state["next"] = RECORDS


def document_insert_find(ctx: Context, duration_s: float) -> Sample:
    """50% Insert, 50% Find {k: {$eq: v}} (about 10 documents), indexed where document_indexing is declared."""
    d, f, pb, rng = ctx.stub("document_basic"), ctx.stub("document_query"), ctx.pb("document_basic"), ctx.rng

    def op() -> None:
        if rng.random() < 0.5:
            ctx.state["next"] += 1
            d.Insert(
                pb.InsertRequest(namespace=ctx.namespace, collection="c", document=_doc(pb, ctx.state["next"])), timeout=CALL_TIMEOUT_S
            )
        else:
            flt = struct_pb2.Struct()
            flt.update({"k": {"$eq": rng.randrange(100)}})
            f.Find(pb.FindRequest(namespace=ctx.namespace, collection="c", filter=flt), timeout=CALL_TIMEOUT_S)

    return closed_loop(op, duration_s)


def with_flag(flag: str, interface: str, load: Callable[[Context], None]) -> Callable[[Context], None]:
    """A setup that records whether an optional interface is declared (ctx.state[flag])."""

    def setup(ctx: Context) -> None:
        ctx.state[flag] = interface in ctx.state.get("implements", ())
        load(ctx)

    return setup


WORKLOADS: tuple[Workload, ...] = (
    Workload("ycsb-a", "keyvalue", ("keyvalue_basic",), "YCSB A: 50% read, 50% update, zipfian, 1 KB values", kv_load, ycsb(0.5)),
    Workload("ycsb-b", "keyvalue", ("keyvalue_basic",), "YCSB B: 95% read, 5% update", kv_load, ycsb(0.95)),
    Workload("ycsb-c", "keyvalue", ("keyvalue_basic",), "YCSB C: read only", kv_load, ycsb(1.0)),
    Workload(
        "ycsb-f",
        "keyvalue",
        ("keyvalue_basic", "keyvalue_cas"),
        "YCSB F: 50% read, 50% read-modify-write (CompareAndSwap)",
        kv_load,
        ycsb_f,
    ),
    Workload("ycsb-e", "keyvalue", ("keyvalue_basic", "keyvalue_scan"), "YCSB E: 95% scan of ~100 keys, 5% insert", kv_load, ycsb_e),
    Workload(
        "pubsub-fixed-rate",
        "pubsub",
        ("pubsub_basic",),
        f"publish at {PUBLISH_RATE:.0f}/s, end-to-end latency publish -> delivery",
        no_setup,
        pubsub_fixed_rate,
        "fixed-rate",
    ),
    Workload(
        "pubsub-max-rate", "pubsub", ("pubsub_basic",), "one publisher as fast as it is answered, one subscriber", no_setup, pubsub_max_rate
    ),
    Workload(
        "stream-fixed-rate",
        "stream",
        ("stream_basic",),
        f"append at {PUBLISH_RATE:.0f}/s, end-to-end latency append -> tailing read",
        no_setup,
        stream_fixed_rate,
        "fixed-rate",
    ),
    Workload("stream-max-rate", "stream", ("stream_basic",), "one appender as fast as it is answered", no_setup, stream_max_rate),
    Workload("queue-enqueue", "queue", ("queue_basic",), "Enqueue of 256 B messages, closed loop", no_setup, queue_enqueue),
    Workload(
        "queue-dequeue",
        "queue",
        ("queue_basic",),
        f"{CONSUMERS} competing consumers Dequeue a filled queue",
        queue_fill,
        queue_dequeue(acks=False),
    ),
    Workload(
        "queue-dequeue-ack",
        "queue",
        ("queue_basic", "queue_visibility"),
        f"{CONSUMERS} competing consumers DequeueWithTimeout + Ack",
        queue_fill,
        queue_dequeue(acks=True),
    ),
    Workload("list-push-pop", "list", ("list_basic",), "50% PushRight, 50% PopLeft over 16 lists", no_setup, list_push_pop),
    Workload("set-contains-add", "set", ("set_basic",), "90% Contains, 10% Add, zipfian members", set_load, set_add_contains),
    Workload(
        "sortedset-add-range",
        "sortedset",
        ("sortedset_basic", "sortedset_range"),
        "50% Add, 50% GetRangeByScore (10-wide window) over 1000 members",
        sortedset_load,
        sortedset_add_range,
    ),
    Workload(
        "timeseries-insert-aggregate",
        "timeseries",
        ("timeseries_basic",),
        "50% Insert, 50% a 60 s window (Aggregate in 10 s buckets where declared, else Query)",
        with_flag("aggregation", "timeseries_aggregation", timeseries_load),
        timeseries_insert_query,
    ),
    Workload(
        "graph-bfs",
        "graph",
        ("graph_basic", "graph_traversal"),
        f"90% BFS depth 2 over {GRAPH_NODES} nodes x {GRAPH_EDGES_PER_NODE} edges, 10% AddEdge",
        graph_load,
        graph_bfs,
    ),
    Workload(
        "document-insert-find",
        "document",
        ("document_basic", "document_query"),
        "50% Insert, 50% Find by an (indexed where declared) field",
        with_flag("indexing", "document_indexing", document_load),
        document_insert_find,
    ),
)


def applicable(implements: tuple[str, ...] | list[str]) -> list[Workload]:
    """The workloads a backend's declared interfaces allow, in catalog model order."""
    return [w for w in WORKLOADS if set(w.needs) <= set(implements)]
