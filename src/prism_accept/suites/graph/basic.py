"""graph_basic: AddNode, AddEdge, GetNode, GetEdge, DeleteNode (removes its edges), DeleteEdge."""

from __future__ import annotations

import math

import grpc
import pytest

from prism.graph.v1 import graph_pb2 as pb
from prism_accept.suites.base import InterfaceSuite, check, expect_status
from prism_accept.suites.graph.graphs import GraphOps, batch_size, struct
from prism_accept.suites.requirements import requires
from prism_accept.suites.rows import AllRows

NOT_FOUND = grpc.StatusCode.NOT_FOUND
INVALID = grpc.StatusCode.INVALID_ARGUMENT
PROPERTIES = {
    "name": "Åsa 🙂 名前",
    "age": 30,
    "ratio": 0.1,
    "big": 1e300,
    "negative": -2.5,
    "flag": False,
    "nothing": None,
    "tags": ["x", 1, None, True, [], {}],
    "nested": {"deep": {"list": [{"k": "v"}], "empty": {}}},
    "": "an empty key",
    "key with spaces.and:dots": "literal",
}
ALREADY = grpc.StatusCode.ALREADY_EXISTS
MISSING_ENDPOINT = {"failed_precondition": grpc.StatusCode.FAILED_PRECONDITION, "not_found": grpc.StatusCode.NOT_FOUND}


class GraphBasicTests(InterfaceSuite):
    interface = "graph_basic"

    @pytest.fixture
    def graph(self, plugin, namespace):
        return GraphOps.on(plugin.channel, namespace)

    def test_node_properties_and_labels_round_trip(self, graph):
        graph.node("n1", "Person", "Admin", "Person", **PROPERTIES)
        want = pb.Node(id="n1", labels=["Admin", "Person"], properties=struct(PROPERTIES))
        check("GetNode(n1): labels a sorted set, properties exactly as written", graph.get_node("n1"), want)
        graph.node("bare")
        check("GetNode of a node written with no labels or properties", graph.get_node("bare"), pb.Node(id="bare"))

    def test_edge_round_trips(self, graph):
        graph.nodes("a", "b")
        graph.edge("e1", "a", "b", "KNOWS", weight=2.5, **PROPERTIES)
        want = pb.Edge(id="e1", from_node="a", to_node="b", label="KNOWS", weight=2.5, properties=struct(PROPERTIES))
        check("GetEdge(e1)", graph.get_edge("e1"), want)
        graph.edge("e2", "b", "a", "LIKES")
        got = graph.get_edge("e2")
        check("GetEdge(e2) written without a weight: weight set", got.HasField("weight"), True)
        check(
            "GetEdge(e2) written without a weight: weight 1", got, pb.Edge(id="e2", from_node="b", to_node="a", label="LIKES", weight=1.0)
        )
        graph.edge("zero", "a", "a", "SELF", weight=0.0)
        check(
            "GetEdge of a self-loop of weight 0",
            graph.get_edge("zero"),
            pb.Edge(id="zero", from_node="a", to_node="a", label="SELF", weight=0.0),
        )

    def test_parallel_edges_are_distinct(self, graph):
        graph.nodes("a", "b")
        graph.edge("e1", "a", "b", "KNOWS", since=2020)
        graph.edge("e2", "a", "b", "KNOWS", since=2021)
        check("GetEdge(e1) beside a parallel edge", graph.get_edge("e1").properties, struct({"since": 2020}))
        check("GetEdge(e2) beside a parallel edge", graph.get_edge("e2").properties, struct({"since": 2021}))
        check("DeleteEdge(e1)", graph.delete_edge("e1"), (True, 1))
        check("GetEdge(e2) after deleting its parallel edge", graph.get_edge("e2").properties, struct({"since": 2021}))

    def test_existing_ids_already_exist(self, graph):
        graph.node("a", "First", v=1)
        graph.node("b")
        graph.edge("e", "a", "b", "ONE")
        expect_status("AddNode of an existing id", grpc.StatusCode.ALREADY_EXISTS, lambda: graph.node("a", "Second", v=2))
        expect_status("AddEdge of an existing edge id", grpc.StatusCode.ALREADY_EXISTS, lambda: graph.edge("e", "b", "a", "TWO"))
        check("GetNode(a) after the refused AddNode", graph.get_node("a"), pb.Node(id="a", labels=["First"], properties=struct({"v": 1})))
        check(
            "GetEdge(e) after the refused AddEdge",
            graph.get_edge("e"),
            pb.Edge(id="e", from_node="a", to_node="b", label="ONE", weight=1.0),
        )
        graph.edge("a", "a", "b", "SAME_ID_AS_A_NODE")
        check("GetEdge(a): edge ids are apart from node ids", graph.get_edge("a").label, "SAME_ID_AS_A_NODE")

    def test_missing_node_and_edge_are_not_found(self, graph):
        graph.node("a")
        expect_status("GetNode of a missing node", NOT_FOUND, lambda: graph.get_node("b"))
        expect_status("GetNode(A): ids are case-sensitive", NOT_FOUND, lambda: graph.get_node("A"))
        expect_status("GetEdge of a missing edge", NOT_FOUND, lambda: graph.get_edge("e"))
        expect_status("GetEdge(a): a node id is not an edge id", NOT_FOUND, lambda: graph.get_edge("a"))

    @requires.behaviour("graph_basic", "missing_endpoint", "failed_precondition", "not_found")
    def test_edge_to_a_missing_node_is_refused(self, graph, capabilities):
        want = MISSING_ENDPOINT[capabilities.behaviour("graph_basic", "missing_endpoint")]
        graph.node("a")
        expect_status("AddEdge a->missing", want, lambda: graph.edge("e1", "a", "missing"))
        expect_status("AddEdge missing->a", want, lambda: graph.edge("e2", "missing", "a"))
        expect_status("GetEdge(e1) after the refused AddEdge", NOT_FOUND, lambda: graph.get_edge("e1"))
        expect_status("GetNode(missing): a refused AddEdge creates no node", NOT_FOUND, lambda: graph.get_node("missing"))
        graph.node("missing")
        graph.edge("e1", "a", "missing")
        check("GetEdge(e1) once both nodes exist", graph.get_edge("e1").to_node, "missing")

    def test_delete_node_removes_its_edges(self, graph):
        graph.nodes("a", "b", "c")
        graph.edge("ab", "a", "b")
        graph.edge("bc", "b", "c")
        graph.edge("bb", "b", "b")
        graph.edge("cb", "c", "b")
        graph.edge("ca", "c", "a")
        graph.edge("ac", "a", "c")
        check("DeleteNode(b): found, its 4 edges (in, out, a self-loop once)", graph.delete_node("b"), (True, 4))
        expect_status("GetNode(b) after DeleteNode", NOT_FOUND, lambda: graph.get_node("b"))
        for edge in ("ab", "bc", "bb", "cb"):
            expect_status(f"GetEdge({edge}) after DeleteNode(b)", NOT_FOUND, lambda: graph.get_edge(edge))
        with AllRows() as rows:
            for edge in ("ca", "ac"):
                rows.check(f"GetEdge({edge}) after DeleteNode(b)", graph.get_edge(edge).id, edge)
        graph.node("b")
        expect_status("GetEdge(ab) after b is added again: deleted edges stay deleted", NOT_FOUND, lambda: graph.get_edge("ab"))
        check("DeleteNode(b) again: no edges any more", graph.delete_node("b"), (True, 0))
        graph.node("b")
        graph.edge("ab", "b", "a", "REUSED")
        check("GetEdge(ab) added again after the cascade", graph.get_edge("ab").from_node, "b")

    def test_delete_edge_keeps_its_nodes(self, graph):
        graph.nodes("a", "b")
        graph.edge("e", "a", "b")
        check("DeleteEdge(e)", graph.delete_edge("e"), (True, 1))
        expect_status("GetEdge(e) after DeleteEdge", NOT_FOUND, lambda: graph.get_edge("e"))
        check("GetNode(a) after DeleteEdge", graph.get_node("a").id, "a")
        check("GetNode(b) after DeleteEdge", graph.get_node("b").id, "b")
        check("DeleteEdge(e) again", graph.delete_edge("e"), (False, 0))
        check("DeleteNode(a): its edge was deleted already", graph.delete_node("a"), (True, 0))

    def test_deleting_missing_things_is_not_an_error(self, graph):
        check("DeleteNode of a missing node", graph.delete_node("x"), (False, 0))
        check("DeleteEdge of a missing edge", graph.delete_edge("x"), (False, 0))

    def test_namespace_isolation(self, graph, plugin, related):
        other = GraphOps.on(plugin.channel, related("-other"))
        graph.node("a", v="mine")
        other.node("a", v="theirs")
        other.node("b")
        other.edge("e", "a", "b")
        check("GetNode(a) in own namespace", graph.get_node("a").properties, struct({"v": "mine"}))
        check("GetNode(a) in the other namespace", other.get_node("a").properties, struct({"v": "theirs"}))
        expect_status("GetEdge(e) of the other namespace", NOT_FOUND, lambda: graph.get_edge("e"))
        try:
            graph.edge("e", "a", "b")
            raise AssertionError("AddEdge a->b where b is only in the other namespace: got OK, want a missing-endpoint status")
        except grpc.RpcError as e:
            if e.code() not in MISSING_ENDPOINT.values():
                raise AssertionError(
                    f"AddEdge a->b where b is only in the other namespace: got {e.code().name}, want a missing-endpoint status"
                ) from None
        check("DeleteNode(a) in own namespace", graph.delete_node("a"), (True, 0))
        check("GetEdge(e) in the other namespace after own DeleteNode(a)", other.get_edge("e").id, "e")

    def test_every_write_stays_in_its_namespace(self, graph, plugin, related):
        """The same node and edge ids in two namespaces: each write (AddNode, AddEdge,
        DeleteEdge, DeleteNode's cascade, an add after a delete) changes its own namespace only."""
        other = GraphOps.on(plugin.channel, related("-other"))
        for ops, v in ((graph, "mine"), (other, "theirs")):
            ops.node("a", v=v)
            ops.nodes("b", "c")
            ops.edge("ab", "a", "b", v=v)
            ops.edge("ca", "c", "a", v=v)
            ops.edge("bc", "b", "c", v=v)
        check("DeleteEdge(ab) in own namespace", graph.delete_edge("ab"), (True, 1))
        check("GetEdge(ab) in the other namespace after own DeleteEdge(ab)", other.get_edge("ab").properties, struct({"v": "theirs"}))
        check("DeleteNode(a) in own namespace: its one edge left (ca)", graph.delete_node("a"), (True, 1))
        check("GetNode(a) in the other namespace after own DeleteNode(a)", other.get_node("a").properties, struct({"v": "theirs"}))
        check("GetEdge(ca) in the other namespace after own DeleteNode(a)", other.get_edge("ca").properties, struct({"v": "theirs"}))
        graph.node("a", v="again")
        graph.edge("ab", "b", "a", v="again")
        mine, theirs = graph.get_edge("ab"), other.get_edge("ab")
        check("GetEdge(ab) added again in own namespace", (mine.from_node, mine.properties), ("b", struct({"v": "again"})))
        check("GetEdge(ab) in the other namespace", (theirs.from_node, theirs.properties), ("a", struct({"v": "theirs"})))
        check("DeleteNode(a) in the other namespace: its two edges", other.delete_node("a"), (True, 2))
        check("GetNode(a) in own namespace after the other's DeleteNode(a)", graph.get_node("a").properties, struct({"v": "again"}))
        check("GetEdge(ab) in own namespace after the other's DeleteNode(a)", graph.get_edge("ab").to_node, "a")
        check("DeleteEdge(bc) in the other namespace", other.delete_edge("bc"), (True, 1))
        check("GetEdge(bc) in own namespace after the other's DeleteEdge(bc)", graph.get_edge("bc").properties, struct({"v": "mine"}))

    @requires.limit("max_batch_size")
    def test_batches_round_trip(self, graph, capabilities):
        """One AddNodes and one AddEdges of max_batch_size (at most 1,000) entries each: labels,
        properties, weights set, unset and 0, a parallel edge, self-loops. Read back: the first
        and last 8 of each batch and every 16th (2,000 Get calls would cost a CPU-second); the
        edges, which join every node but the last, prove the other nodes exist, and all but the
        self-loops meet at n0, so DeleteNode(n0)'s count accounts for each."""
        n = batch_size(capabilities)
        nodes = [pb.Node(id=f"n{i}", labels=[f"L{i % 3}", "All"], properties=struct({"i": i, "even": i % 2 == 0})) for i in range(n)]
        edges = []
        for i in range(n - 1):  # e<i> joins n<i> and the hub n0 (odd i: into it), every tenth a self-loop
            ends = (f"n{i}", f"n{i}") if i % 10 == 0 else (f"n{i}", "n0") if i % 2 else ("n0", f"n{i}")
            edge = pb.Edge(id=f"e{i}", from_node=ends[0], to_node=ends[1], label=f"T{i % 4}")
            if i % 3:
                edge.weight = i / 8
            if i % 5 == 0:
                edge.properties.update({"i": i})
            edges.append(edge)
        edges.append(pb.Edge(id="parallel", from_node="n1", to_node=edges[1].to_node, label="T1", weight=0.0))
        graph.add_nodes(nodes)
        graph.add_edges(edges)
        read = [i for i in range(n) if i < 8 or i >= n - 8 or i % 16 == 0]
        with AllRows() as rows:
            for node in (nodes[i] for i in read):
                want = pb.Node(id=node.id, labels=sorted(node.labels), properties=node.properties)
                rows.check(f"GetNode({node.id}) after AddNodes of {n}", graph.get_node(node.id), want)
        with AllRows() as rows:
            for edge in (edges[i] for i in read):
                want = pb.Edge()
                want.CopyFrom(edge)
                if not edge.HasField("weight"):
                    want.weight = 1.0
                rows.check(f"GetEdge({edge.id}) after AddEdges of {n}", graph.get_edge(edge.id), want)
        hub = {key for u, v, key in graph.reference.edges(keys=True) if "n0" in (u, v)}
        check("DeleteNode(n0): every edge of the batch from or to it", graph.delete_node("n0"), (True, len(hub)))

    @requires.behaviour("graph_basic", "missing_endpoint", "failed_precondition", "not_found")
    def test_a_batch_with_an_edge_to_a_missing_node_adds_nothing(self, graph, capabilities):
        """AddEdges is atomic: one edge to or from a missing node (last, first or in the
        middle of the batch) is AddEdge's status, and none of the batch's edges is added."""
        want = MISSING_ENDPOINT[capabilities.behaviour("graph_basic", "missing_endpoint")]
        graph.nodes("a", "b")
        good = [pb.Edge(id="ab", from_node="a", to_node="b", label="L"), pb.Edge(id="ba", from_node="b", to_node="a", label="L")]
        bad = [
            pb.Edge(id="to", from_node="a", to_node="missing", label="L"),
            pb.Edge(id="from", from_node="missing", to_node="b", label="L"),
        ]
        for batch in ([*good, bad[0]], [bad[1], *good], [good[0], bad[0], good[1]]):
            ids = [e.id for e in batch]
            expect_status(f"AddEdges {ids}", want, lambda: graph.add_edges(batch))
            for edge_id in ids:
                expect_status(f"GetEdge({edge_id}) after the refused AddEdges {ids}", NOT_FOUND, lambda: graph.get_edge(edge_id))
        expect_status("GetNode(missing): a refused AddEdges creates no node", NOT_FOUND, lambda: graph.get_node("missing"))
        check("DeleteNode(a) after the refused AddEdges: no edges", graph.delete_node("a"), (True, 0))
        graph.nodes("a", "missing")
        graph.add_edges([*good, *bad])
        check("DeleteNode(missing) once every endpoint exists: its 2 edges", graph.delete_node("missing"), (True, 2))

    def test_a_batch_with_an_existing_or_repeated_id_adds_nothing(self, graph):
        """AddNode and AddEdge refuse an existing id (no upsert), so a batch holding one, or
        the same id twice, is ALREADY_EXISTS and adds none of its entries."""
        graph.node("a", "First", v=1)
        graph.node("b")
        graph.edge("e", "a", "b", "ONE")
        for ids in (["x", "y", "a"], ["x", "y", "x"]):
            nodes = [pb.Node(id=i, labels=["New"]) for i in ids]
            expect_status(f"AddNodes {ids}", ALREADY, lambda: graph.add_nodes(nodes))
            expect_status(f"GetNode(x) after the refused AddNodes {ids}", NOT_FOUND, lambda: graph.get_node("x"))
            expect_status(f"GetNode(y) after the refused AddNodes {ids}", NOT_FOUND, lambda: graph.get_node("y"))
        check("GetNode(a) after the refused AddNodes", graph.get_node("a"), pb.Node(id="a", labels=["First"], properties=struct({"v": 1})))
        for ids in (["f", "g", "e"], ["f", "g", "f"]):
            edges = [pb.Edge(id=i, from_node="b", to_node="a", label="TWO") for i in ids]
            expect_status(f"AddEdges {ids}", ALREADY, lambda: graph.add_edges(edges))
            expect_status(f"GetEdge(f) after the refused AddEdges {ids}", NOT_FOUND, lambda: graph.get_edge("f"))
            expect_status(f"GetEdge(g) after the refused AddEdges {ids}", NOT_FOUND, lambda: graph.get_edge("g"))
        want = pb.Edge(id="e", from_node="a", to_node="b", label="ONE", weight=1.0)
        check("GetEdge(e) after the refused AddEdges", graph.get_edge("e"), want)
        graph.add_nodes([pb.Node(id="x"), pb.Node(id="y")])
        graph.add_edges([pb.Edge(id="f", from_node="x", to_node="y", label="L"), pb.Edge(id="g", from_node="y", to_node="x", label="L")])
        check("DeleteNode(x) after AddNodes and AddEdges without repeats", graph.delete_node("x"), (True, 2))

    @requires.limit("max_batch_size")
    def test_invalid_batches_add_nothing(self, graph, capabilities):
        """More entries than max_batch_size, or one invalid entry, is INVALID_ARGUMENT and adds
        none of the batch; a batch of exactly max_batch_size is accepted."""
        limit = capabilities.limit("max_batch_size")
        graph.nodes("a", "b")
        nodes = [pb.Node(id=f"n{i}") for i in range(limit + 1)]
        expect_status(f"AddNodes of max_batch_size + 1 = {limit + 1}", INVALID, lambda: graph.add_nodes(nodes))
        expect_status("GetNode(n0) after the refused AddNodes", NOT_FOUND, lambda: graph.get_node("n0"))
        edges = [pb.Edge(id=f"e{i}", from_node="a", to_node="b", label="L") for i in range(limit + 1)]
        expect_status(f"AddEdges of max_batch_size + 1 = {limit + 1}", INVALID, lambda: graph.add_edges(edges))
        expect_status("GetEdge(e0) after the refused AddEdges", NOT_FOUND, lambda: graph.get_edge("e0"))
        for what, node in (("an empty id", pb.Node(id="")), ("an empty label", pb.Node(id="z", labels=[""]))):
            expect_status(f"AddNodes [x, {what}]", INVALID, lambda: graph.add_nodes([pb.Node(id="x"), node]))
            expect_status(f"GetNode(x) after AddNodes [x, {what}]", NOT_FOUND, lambda: graph.get_node("x"))
        for what, edge in (
            ("an empty id", pb.Edge(id="", from_node="a", to_node="b", label="L")),
            ("an empty label", pb.Edge(id="z", from_node="a", to_node="b", label="")),
            ("weight -1", pb.Edge(id="z", from_node="a", to_node="b", label="L", weight=-1.0)),
            ("weight NaN", pb.Edge(id="z", from_node="a", to_node="b", label="L", weight=math.nan)),
        ):
            batch = [pb.Edge(id="x", from_node="a", to_node="b", label="L"), edge]
            expect_status(f"AddEdges [x, {what}]", INVALID, lambda: graph.add_edges(batch))
            expect_status(f"GetEdge(x) after AddEdges [x, {what}]", NOT_FOUND, lambda: graph.get_edge("x"))
        graph.add_edges(edges[:limit])
        check(f"DeleteNode(a) after AddEdges of exactly max_batch_size = {limit}", graph.delete_node("a"), (True, limit))

    def test_empty_batches_are_no_ops(self, graph):
        graph.nodes("a", "b")
        graph.edge("e", "a", "b")
        graph.add_nodes([])
        graph.add_edges([])
        check("GetNode(a) after empty AddNodes and AddEdges", graph.get_node("a"), pb.Node(id="a"))
        check("DeleteNode(b) after empty AddNodes and AddEdges: its one edge", graph.delete_node("b"), (True, 1))
        expect_status("AddNodes [] with an empty namespace", INVALID, lambda: GraphOps(graph.stub, "").add_nodes([]))
        expect_status("AddEdges [] with an empty namespace", INVALID, lambda: GraphOps(graph.stub, "").add_edges([]))

    def test_batches_stay_in_their_namespace(self, graph, plugin, related):
        """The same node and edge ids written by AddNodes and AddEdges in two namespaces: an
        id of the other namespace is no existing id, nor an endpoint."""
        other = GraphOps.on(plugin.channel, related("-other"))
        for ops, v in ((other, "theirs"), (graph, "mine")):
            ops.add_nodes([pb.Node(id=i, properties=struct({"v": v})) for i in ("a", "b", "c")])
            ops.add_edges([pb.Edge(id=f"{u}{w}", from_node=u, to_node=w, label=v) for u, w in (("a", "b"), ("b", "c"), ("c", "a"))])
        with AllRows() as rows:
            for ops, v in ((graph, "mine"), (other, "theirs")):
                rows.check(f"GetNode(b) in the namespace of {v!r}", ops.get_node("b").properties, struct({"v": v}))
                rows.check(f"GetEdge(bc) in the namespace of {v!r}", ops.get_edge("bc").label, v)
        other.add_nodes([pb.Node(id="d")])
        try:
            graph.add_edges([pb.Edge(id="ad", from_node="a", to_node="d", label="L")])
            raise AssertionError("AddEdges [a->d] where d is only in the other namespace: got OK, want a missing-endpoint status")
        except grpc.RpcError as e:
            if e.code() not in MISSING_ENDPOINT.values():
                raise AssertionError(
                    f"AddEdges [a->d] where d is only in the other namespace: got {e.code().name}, want a missing-endpoint status"
                ) from None
        expect_status("GetNode(d) of the other namespace", NOT_FOUND, lambda: graph.get_node("d"))
        check("DeleteNode(a) in own namespace: its 2 edges", graph.delete_node("a"), (True, 2))
        check("DeleteNode(a) in the other namespace: its 2 edges", other.delete_node("a"), (True, 2))

    def test_invalid_arguments(self, graph):
        graph.nodes("a", "b")
        stub, ns = graph.stub, graph.ns
        expect_status("AddNode with no node", INVALID, lambda: stub.AddNode(pb.AddNodeRequest(namespace=ns)))
        expect_status("AddNode with an empty id", INVALID, lambda: graph.node(""))
        expect_status("AddEdge with no edge", INVALID, lambda: stub.AddEdge(pb.AddEdgeRequest(namespace=ns)))
        expect_status("AddEdge with an empty id", INVALID, lambda: graph.edge("", "a", "b"))
        expect_status("AddEdge with an empty from_node", INVALID, lambda: graph.edge("e", "", "b"))
        expect_status("AddEdge with an empty label", INVALID, lambda: graph.edge("e", "a", "b", ""))
        expect_status("AddEdge with weight -1", INVALID, lambda: graph.edge("e", "a", "b", weight=-1.0))
        expect_status("AddEdge with weight NaN", INVALID, lambda: graph.edge("e", "a", "b", weight=math.nan))
        expect_status("AddEdge with weight inf", INVALID, lambda: graph.edge("e", "a", "b", weight=math.inf))
        expect_status("GetNode with an empty id", INVALID, lambda: graph.get_node(""))
        expect_status("GetNode with an empty namespace", INVALID, lambda: GraphOps(stub, "").get_node("a"))
        expect_status("GetEdge(e) after the refused AddEdges", NOT_FOUND, lambda: graph.get_edge("e"))
