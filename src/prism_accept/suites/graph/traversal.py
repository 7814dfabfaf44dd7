"""graph_traversal: TraverseBreadthFirst, TraverseDepthFirst (start, direction, max depth, edge
label filter). Ties visit neighbours in ascending node id, so each order is exact; the expected
order is networkx's (bfs_edges / dfs_preorder_nodes with sorted neighbours) over the graph the
case wrote."""

from __future__ import annotations

import grpc
import networkx as nx
import pytest

from prism.graph.v1 import graph_pb2 as pb
from prism.graph.v1 import graph_pb2_grpc as pb_grpc
from prism_accept.suites.base import InterfaceSuite, check, expect_status
from prism_accept.suites.graph.graphs import GraphOps, batch_size
from prism_accept.suites.requirements import requires
from prism_accept.suites.rows import AllRows

# A whole traversal of 5,000 nodes tests completeness, not speed: MariaDB's took 1.3 s on a quiet
# machine and overran the 5 s default deadline once on a loaded 2-core one.
THOUSANDS_DEADLINE_S = 30.0

DIRECTIONS = {"OUTGOING": pb.OUTGOING, "INCOMING": pb.INCOMING, "BOTH": pb.BOTH}


def followed(reference: nx.MultiDiGraph, direction: str, labels: tuple[str, ...]) -> nx.Graph:
    """The graph a traversal walks: edges of those labels (all when none), oriented as followed."""
    walked = nx.DiGraph()
    walked.add_nodes_from(reference)
    walked.add_edges_from((u, v) for u, v, label in reference.edges(data="label") if not labels or label in labels)
    if direction == "INCOMING":
        return walked.reverse()
    if direction == "BOTH":
        return walked.to_undirected()
    return walked


def breadth_first(reference, start, direction="OUTGOING", max_depth=0, labels=()) -> list[str]:
    walked = followed(reference, direction, labels)
    return [start, *(v for _, v in nx.bfs_edges(walked, start, depth_limit=max_depth or None, sort_neighbors=sorted))]


def depth_first(reference, start, direction="OUTGOING", max_depth=0, labels=()) -> list[str]:
    walked = followed(reference, direction, labels)
    return list(nx.dfs_preorder_nodes(walked, start, depth_limit=max_depth or None, sort_neighbors=sorted))


REFERENCE = {"TraverseBreadthFirst": breadth_first, "TraverseDepthFirst": depth_first}


@requires.interface("graph_basic")  # graphs are built with AddNode/AddEdge and AddNodes/AddEdges
class GraphTraversalTests(InterfaceSuite):
    interface = "graph_traversal"

    @pytest.fixture
    def graph(self, plugin, namespace):
        return GraphOps.on(plugin.channel, namespace)

    @pytest.fixture
    def traversal(self, plugin):
        return pb_grpc.GraphTraversalStub(plugin.channel)

    def traverse(self, traversal, graph, method, start, direction="OUTGOING", max_depth=0, labels=(), timeout=None) -> list[str]:
        request = pb.TraverseRequest(
            namespace=graph.ns, start=start, direction=DIRECTIONS[direction], max_depth=max_depth, edge_labels=labels
        )
        return list(getattr(traversal, method)(request, timeout=timeout).node_ids)

    def compare(self, traversal, graph, start, direction="OUTGOING", max_depth=0, labels=(), methods=tuple(REFERENCE)) -> None:
        for method in methods:
            got = self.traverse(traversal, graph, method, start, direction, max_depth, labels)
            want = REFERENCE[method](graph.reference, start, direction, max_depth, labels)
            check(f"{method}(start={start}, {direction}, max_depth={max_depth}, edge_labels={list(labels)})", got, want)

    @staticmethod
    def city(graph: GraphOps) -> None:
        """Roads and rails with cycles, parallel edges, and ids whose insertion order and
        locale order both differ from code point order ('C' < 'a' < 'b')."""
        graph.nodes("s", "d", "b", "a", "C", "e", "f", "g", "h", "i", "lone")
        graph.edges("road", "s>d", "s>b", "b>e", "b>a", "d>a", "a>g", "e>g", "g>s", "h>s", "i>h")
        graph.edges("rail", "s>C", "C>f", "f>g", "s>b", "g>i")

    def test_breadth_first_visits_by_distance_then_discovery_order(self, graph, traversal):
        self.city(graph)
        self.compare(traversal, graph, "s", methods=("TraverseBreadthFirst",))
        check(
            "TraverseBreadthFirst(s), spelled out",
            self.traverse(traversal, graph, "TraverseBreadthFirst", "s"),
            ["s", "C", "b", "d", "f", "a", "e", "g", "i", "h"],
        )

    def test_depth_first_preorder(self, graph, traversal):
        self.city(graph)
        self.compare(traversal, graph, "s", methods=("TraverseDepthFirst",))
        check(
            "TraverseDepthFirst(s), spelled out",
            self.traverse(traversal, graph, "TraverseDepthFirst", "s"),
            ["s", "C", "f", "g", "i", "h", "b", "a", "e", "d"],
        )
        self.compare(traversal, graph, "b")

    def test_ties_in_ascending_node_id_not_insertion_order(self, graph, traversal):
        graph.nodes("hub", "z", "y", "x10", "x9", "B", "a", "é", "Z")
        for leaf in ("z", "y", "x10", "x9", "B", "a", "é", "Z"):
            graph.edge(f"hub>{leaf}", "hub", leaf)
        want = ["hub", "B", "Z", "a", "x10", "x9", "y", "z", "é"]
        with AllRows() as rows:
            for method in REFERENCE:
                rows.check(f"{method}(hub) over 8 leaves added in another order", self.traverse(traversal, graph, method, "hub"), want)

    def test_max_depth(self, graph, traversal):
        self.city(graph)
        for depth in (1, 2, 3):
            self.compare(traversal, graph, "s", max_depth=depth)
        check(
            "TraverseBreadthFirst(s, max_depth=1)",
            self.traverse(traversal, graph, "TraverseBreadthFirst", "s", max_depth=1),
            ["s", "C", "b", "d"],
        )
        check(
            "TraverseDepthFirst(s, max_depth=1)",
            self.traverse(traversal, graph, "TraverseDepthFirst", "s", max_depth=1),
            ["s", "C", "b", "d"],
        )

    def test_depth_first_depth_is_along_the_search_path(self, graph, traversal):
        # a->b->c->x and a->c: the search reaches c at depth 2 (through b) first, so with
        # max_depth 2 x is never visited, though it is 2 hops from a through c.
        graph.nodes("a", "b", "c", "x")
        graph.edges("road", "a>b", "b>c", "c>x", "a>c")
        check(
            "TraverseDepthFirst(a, max_depth=2)", self.traverse(traversal, graph, "TraverseDepthFirst", "a", max_depth=2), ["a", "b", "c"]
        )
        check(
            "TraverseBreadthFirst(a, max_depth=2)",
            self.traverse(traversal, graph, "TraverseBreadthFirst", "a", max_depth=2),
            ["a", "b", "c", "x"],
        )
        self.compare(traversal, graph, "a", max_depth=3)

    def test_direction(self, graph, traversal):
        self.city(graph)
        for start in ("s", "g"):
            for direction in ("INCOMING", "BOTH"):
                self.compare(traversal, graph, start, direction)
        check(
            "TraverseBreadthFirst(h, INCOMING)",
            self.traverse(traversal, graph, "TraverseBreadthFirst", "h", "INCOMING"),
            ["h", "i", "g", "a", "e", "f", "b", "d", "C", "s"],
        )
        check(
            "TraverseBreadthFirst(h, OUTGOING, max_depth=1)",
            self.traverse(traversal, graph, "TraverseBreadthFirst", "h", max_depth=1),
            ["h", "s"],
        )

    def test_edge_label_filter(self, graph, traversal):
        self.city(graph)
        for labels in (("rail",), ("road",), ("rail", "road"), ("tram",)):
            self.compare(traversal, graph, "s", labels=labels)
            self.compare(traversal, graph, "g", "BOTH", labels=labels)
        check(
            "TraverseDepthFirst(s, edge_labels=[rail])",
            self.traverse(traversal, graph, "TraverseDepthFirst", "s", labels=("rail",)),
            ["s", "C", "f", "g", "i", "b"],
        )

    def test_start_alone_missing_and_invalid(self, graph, traversal):
        self.city(graph)
        with AllRows() as rows:
            for method in REFERENCE:
                rows.check(f"{method}(lone): a node without edges", self.traverse(traversal, graph, method, "lone"), ["lone"])
                rows.check(
                    f"{method}(s, edge_labels=[tram]): no edge has that label",
                    self.traverse(traversal, graph, method, "s", labels=("tram",)),
                    ["s"],
                )
                expect_status(
                    f"{method} from a missing node", grpc.StatusCode.NOT_FOUND, lambda: self.traverse(traversal, graph, method, "nowhere")
                )
                expect_status(
                    f"{method} with max_depth -1",
                    grpc.StatusCode.INVALID_ARGUMENT,
                    lambda: self.traverse(traversal, graph, method, "s", max_depth=-1),
                )
                expect_status(
                    f"{method} with an empty start", grpc.StatusCode.INVALID_ARGUMENT, lambda: self.traverse(traversal, graph, method, "")
                )

    def test_deleted_nodes_and_edges_are_not_followed(self, graph, traversal):
        self.city(graph)
        graph.delete_node("b")
        graph.reference.remove_node("b")
        graph.delete_edge("rail:s>C")
        graph.reference.remove_edge("s", "C", key="rail:s>C")
        self.compare(traversal, graph, "s")
        self.compare(traversal, graph, "a", "BOTH")

    @requires.limit("max_batch_size")
    def test_whole_traversal_over_thousands(self, graph, traversal, capabilities):
        """5,000 nodes reached, so a traversal answered from one page or capped at 1,000 or
        4,096 nodes fails: a ternary tree (ids 'n<i>', so 'n10' < 'n9' in code point order)
        with 'skip' edges across it, walked whole with and without a label filter."""
        size = 5_000
        ids = [f"n{i}" for i in range(size)]
        batch = batch_size(capabilities)
        graph.bulk(ids, [(ids[(i - 1) // 3], ids[i]) for i in range(1, size)], batch=batch)
        graph.bulk([], [(ids[i], ids[i + 7]) for i in range(0, size - 7, 50)], batch=batch, label="skip")
        with AllRows() as rows:
            for method in REFERENCE:
                got = self.traverse(traversal, graph, method, "n0", timeout=THOUSANDS_DEADLINE_S)
                rows.check(f"{method}(n0) over {size} nodes: how many visited", len(got), size)
                rows.check(f"{method}(n0) over {size} nodes", got, REFERENCE[method](graph.reference, "n0"))
        self.compare(traversal, graph, ids[-1], "BOTH", labels=("link",))

    @staticmethod
    def two_colours(graph: GraphOps) -> None:
        """Red and blue edges into and out of every node, ids added out of code point order,
        so a filter or a tie order applied to one direction only changes the visit."""
        graph.nodes("m", "k", "Q", "b", "z", "a", "x", "c")
        graph.edges("red", "k>m", "b>m", "z>m", "a>k", "Q>b", "m>x", "c>z")
        graph.edges("blue", "x>m", "a>b", "Q>k", "k>c", "z>a", "m>Q", "b>m")

    def test_direction_and_label_filter_together(self, graph, traversal):
        self.two_colours(graph)
        for direction in ("INCOMING", "BOTH"):
            for labels in (("red",), ("blue",), ("blue", "red")):
                for max_depth in (0, 1, 2, 3, 1000):
                    for start in ("m", "z"):
                        self.compare(traversal, graph, start, direction, max_depth, labels)
        check(
            "TraverseBreadthFirst(m, INCOMING, edge_labels=[red]), spelled out",
            self.traverse(traversal, graph, "TraverseBreadthFirst", "m", "INCOMING", labels=("red",)),
            ["m", "b", "k", "z", "Q", "a", "c"],
        )
        check(
            "TraverseDepthFirst(m, INCOMING, edge_labels=[blue]), spelled out",
            self.traverse(traversal, graph, "TraverseDepthFirst", "m", "INCOMING", labels=("blue",)),
            ["m", "b", "a", "z", "x"],
        )

    def test_reads_after_writes(self, graph, traversal):
        """Each traversal read again after each kind of write, so an order cached from the
        first read (per start, direction or filter) fails."""
        self.two_colours(graph)

        def every_read() -> None:
            for direction in DIRECTIONS:
                self.compare(traversal, graph, "m", direction, labels=("red",))
                self.compare(traversal, graph, "m", direction)

        every_read()
        graph.node("d")
        graph.edges("red", "x>d", "d>Q")
        every_read()
        graph.delete_edge("red:k>m")
        graph.reference.remove_edge("k", "m", key="red:k>m")
        every_read()
        graph.delete_node("Q")
        graph.reference.remove_node("Q")
        every_read()
        graph.node("Q")
        graph.edges("blue", "Q>m")
        every_read()
