"""graph_analytics: ShortestPath (weighted and unweighted), PageRank (damping, iterations),
ConnectedComponents; every expected result is networkx's over the graph the case wrote."""

from __future__ import annotations

import math

import grpc
import networkx as nx
import pytest

from prism.graph.v1 import graph_pb2 as pb
from prism.graph.v1 import graph_pb2_grpc as pb_grpc
from prism_accept.suites.base import InterfaceSuite, check, expect_status
from prism_accept.suites.graph.graphs import GraphOps
from prism_accept.suites.requirements import requires

RANK_TOLERANCE = 1e-4
ITERATIONS = 200


def reference_ranks(reference: nx.MultiDiGraph, damping: float) -> dict[str, float]:
    """Parallel edges once, weights ignored, dangling nodes spread evenly (networkx's default)."""
    return nx.pagerank(nx.DiGraph(reference), alpha=damping, weight=None, tol=1e-13, max_iter=10_000)


@requires.interface("graph_basic")  # graphs are built with AddNode/AddEdge
class GraphAnalyticsTests(InterfaceSuite):
    interface = "graph_analytics"

    @pytest.fixture
    def graph(self, plugin, namespace):
        return GraphOps.on(plugin.channel, namespace)

    @pytest.fixture
    def analytics(self, plugin):
        return pb_grpc.GraphAnalyticsStub(plugin.channel)

    @staticmethod
    def roads(graph: GraphOps) -> None:
        """Fewest hops and least weight disagree: a->z directly costs 10, a->b->c->z costs 3;
        b->c has a heavy parallel edge; z->a does not exist (edges are directed)."""
        graph.nodes("a", "b", "c", "d", "z", "x")
        graph.edge("az", "a", "z", weight=10.0)
        graph.edge("ab", "a", "b", weight=1.0)
        graph.edge("bc-heavy", "b", "c", weight=7.0)
        graph.edge("bc", "b", "c", weight=0.5)
        graph.edge("cz", "c", "z", weight=1.5)
        graph.edge("ad", "a", "d", weight=2.0)
        graph.edge("dz", "d", "z", weight=2.0)
        graph.edge("zx", "z", "x")  # weight absent: 1

    def shortest(self, analytics, graph, source, target, weighted):
        return analytics.ShortestPath(pb.ShortestPathRequest(namespace=graph.ns, from_node=source, to_node=target, weighted=weighted))

    def check_path(self, analytics, graph, source, target, weighted) -> list[str]:
        """The answer must be a real path of the reference with the reference's least cost."""
        kind = "weighted" if weighted else "unweighted"
        got = self.shortest(analytics, graph, source, target, weighted)
        path = list(got.node_ids)
        ref = graph.reference
        if weighted:
            want_cost = nx.dijkstra_path_length(ref, source, target, weight="weight")
        else:
            want_cost = nx.shortest_path_length(ref, source, target)
        operation = f"ShortestPath({source}->{target}, {kind}) = {path}"
        check(f"{operation}: ends", (path[:1], path[-1:]), ([source], [target]))
        hops = list(zip(path, path[1:]))
        missing = [(u, v) for u, v in hops if not ref.has_edge(u, v)]
        check(f"{operation}: hops that are not edges", missing, [])
        cost = sum(min(a["weight"] for a in ref.get_edge_data(u, v).values()) for u, v in hops) if weighted else len(hops)
        check(f"{operation}: cost of the path returned is the least", math.isclose(cost, want_cost, rel_tol=1e-9, abs_tol=1e-12), True)
        check(f"{operation}: cost field", math.isclose(got.cost, want_cost, rel_tol=1e-9, abs_tol=1e-12), True)
        return path

    def test_unweighted_shortest_path_counts_hops(self, graph, analytics):
        self.roads(graph)
        check("ShortestPath(a->z, unweighted)", self.check_path(analytics, graph, "a", "z", False), ["a", "z"])
        self.check_path(analytics, graph, "a", "x", False)
        self.check_path(analytics, graph, "b", "x", False)

    def test_weighted_shortest_path_sums_weights(self, graph, analytics):
        self.roads(graph)
        check(
            "ShortestPath(a->z, weighted): the lightest of b->c's two edges counts",
            self.check_path(analytics, graph, "a", "z", True),
            ["a", "b", "c", "z"],
        )
        check(
            "ShortestPath(a->x, weighted): an edge written without a weight costs 1",
            self.shortest(analytics, graph, "a", "x", True).cost,
            4.0,
        )
        self.check_path(analytics, graph, "d", "x", True)

    def test_path_to_itself_missing_nodes_and_no_path(self, graph, analytics):
        self.roads(graph)
        for weighted in (False, True):
            got = self.shortest(analytics, graph, "a", "a", weighted)
            check(f"ShortestPath(a->a, weighted={weighted})", (list(got.node_ids), got.cost), (["a"], 0.0))
            expect_status(
                f"ShortestPath(z->a, weighted={weighted}): edges are directed",
                grpc.StatusCode.NOT_FOUND,
                lambda: self.shortest(analytics, graph, "z", "a", weighted),
            )
            expect_status(
                f"ShortestPath(a->nowhere, weighted={weighted})",
                grpc.StatusCode.NOT_FOUND,
                lambda: self.shortest(analytics, graph, "a", "nowhere", weighted),
            )
            expect_status(
                f"ShortestPath(nowhere->a, weighted={weighted})",
                grpc.StatusCode.NOT_FOUND,
                lambda: self.shortest(analytics, graph, "nowhere", "a", weighted),
            )

    def test_shortest_path_after_deletes(self, graph, analytics):
        self.roads(graph)
        graph.delete_edge("bc")
        graph.reference.remove_edge("b", "c", key="bc")
        check(
            "ShortestPath(a->z, weighted) after deleting the light b->c", self.check_path(analytics, graph, "a", "z", True), ["a", "d", "z"]
        )
        graph.delete_node("d")
        graph.reference.remove_node("d")
        self.check_path(analytics, graph, "a", "z", True)

    def page_rank(self, analytics, graph, damping, iterations=ITERATIONS) -> dict[str, float]:
        return dict(analytics.PageRank(pb.PageRankRequest(namespace=graph.ns, damping=damping, iterations=iterations)).ranks)

    def check_ranks(self, analytics, graph, damping) -> None:
        got = self.page_rank(analytics, graph, damping)
        want = reference_ranks(graph.reference, damping)
        check(f"PageRank(damping={damping}): nodes ranked", sorted(got), sorted(want))
        off = {n: (round(got[n], 6), round(want[n], 6)) for n in want if abs(got[n] - want[n]) > RANK_TOLERANCE}
        check(f"PageRank(damping={damping}): ranks off by more than {RANK_TOLERANCE} (got, want)", off, {})

    def test_page_rank(self, graph, analytics):
        graph.nodes("a", "b", "c", "d", "e", "sink")
        graph.edges("link", "a>b", "b>c", "c>a", "a>c", "d>c", "e>d", "e>a", "c>sink")
        graph.edge("a>b again", "a", "b", "link", weight=50.0)  # parallel, heavy: counts once, weight ignored
        for damping in (0.85, 0.5):
            self.check_ranks(analytics, graph, damping)

    def test_page_rank_of_nodes_without_edges_and_empty_graph(self, graph, analytics):
        check("PageRank of an empty namespace", self.page_rank(analytics, graph, 0.85), {})
        graph.nodes("x", "y", "z", "w")
        graph.edge("wx", "w", "x")
        self.check_ranks(analytics, graph, 0.85)

    def test_page_rank_invalid_arguments(self, graph, analytics):
        graph.nodes("a")
        for damping, iterations in ((0.0, 10), (1.0, 10), (1.5, 10), (-0.5, 10), (math.nan, 10), (0.85, 0), (0.85, -1), (0.85, 1001)):
            expect_status(
                f"PageRank(damping={damping}, iterations={iterations})",
                grpc.StatusCode.INVALID_ARGUMENT,
                lambda: self.page_rank(analytics, graph, damping, iterations),
            )

    def components(self, analytics, graph) -> list[list[str]]:
        return [list(c.node_ids) for c in analytics.ConnectedComponents(pb.ConnectedComponentsRequest(namespace=graph.ns)).components]

    def test_connected_components(self, graph, analytics):
        graph.nodes("m", "b", "Z", "q", "a", "k", "solo", "c")
        graph.edges("link", "m>b", "q>m", "Z>a", "k>k", "c>Z")
        want = sorted(sorted(c) for c in nx.weakly_connected_components(graph.reference))
        check("ConnectedComponents (direction ignored, ids ascending, by first id)", self.components(analytics, graph), want)
        check("ConnectedComponents, spelled out", want, [["Z", "a", "c"], ["b", "m", "q"], ["k"], ["solo"]])
        graph.delete_node("m")
        graph.reference.remove_node("m")
        want = sorted(sorted(c) for c in nx.weakly_connected_components(graph.reference))
        check("ConnectedComponents after DeleteNode(m) split one", self.components(analytics, graph), want)
        check("ConnectedComponents of an empty namespace", self.components(analytics, GraphOps(graph.stub, graph.ns + "-empty")), [])
