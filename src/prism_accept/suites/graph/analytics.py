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
from prism_accept.suites.rows import AllRows

RANK_TOLERANCE = 1e-4
ITERATIONS = 200


def reference_ranks(reference: nx.MultiDiGraph, damping: float) -> dict[str, float]:
    """Parallel edges once, weights ignored, dangling nodes spread evenly (networkx's default)."""
    return nx.pagerank(nx.DiGraph(reference), alpha=damping, weight=None, tol=1e-13, max_iter=10_000)


def power_iterations(reference: nx.MultiDiGraph, damping: float, steps: int) -> dict[str, float]:
    """Exactly `steps` power iterations from the uniform vector, in plain Python: each edge
    once, weights ignored, a node without outgoing edges spreading its rank over every node."""
    nodes = list(reference)
    n = len(nodes)
    successors = {u: set(reference.successors(u)) for u in nodes}
    ranks = dict.fromkeys(nodes, 1.0 / n)
    for _ in range(steps):
        dangling = sum(ranks[u] for u in nodes if not successors[u])
        spread = dict.fromkeys(nodes, dangling / n)
        for u in nodes:
            for v in successors[u]:
                spread[v] += ranks[u] / len(successors[u])
        ranks = {v: damping * spread[v] + (1 - damping) / n for v in nodes}
    return ranks


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
        with AllRows() as rows:
            for weighted in (False, True):
                got = self.shortest(analytics, graph, "a", "a", weighted)
                rows.check(f"ShortestPath(a->a, weighted={weighted})", (list(got.node_ids), got.cost), (["a"], 0.0))
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

    @staticmethod
    def web(graph: GraphOps) -> None:
        """Dangling nodes (sink, lone), a parallel edge, a self-loop, a node nothing links to."""
        graph.nodes("a", "b", "c", "d", "e", "sink", "lone")
        graph.edges("link", "a>b", "b>c", "c>a", "a>c", "d>c", "e>d", "e>a", "c>sink", "b>b")
        graph.edge("a>b again", "a", "b", "link", weight=50.0)

    def check_steps(self, analytics, graph, damping, iterations, tolerance=1e-9) -> None:
        got = self.page_rank(analytics, graph, damping, iterations)
        want = power_iterations(graph.reference, damping, iterations)
        operation = f"PageRank(damping={damping}, iterations={iterations}) against {iterations} power iterations"
        check(f"{operation}: nodes ranked", sorted(got), sorted(want))
        off = {n: (round(got[n], 12), round(want[n], 12)) for n in want if abs(got[n] - want[n]) > tolerance}
        check(f"{operation}: ranks off by more than {tolerance} (got, want)", off, {})

    def test_page_rank_runs_the_iterations_asked_for(self, graph, analytics):
        """1, 2 and 3 iterations are far from converged (the case checks they differ from the
        converged ranks), so running to convergence, or one step more or less, fails."""
        self.web(graph)
        converged = reference_ranks(graph.reference, 0.85)
        with AllRows() as rows:
            for iterations in (1, 2, 3):
                early = power_iterations(graph.reference, 0.85, iterations)
                far = max(abs(early[n] - converged[n]) for n in early)
                rows.check(f"{iterations} power iterations differ from the converged ranks by more than 1e-3", far > 1e-3, True)
                self.check_steps(analytics, graph, 0.85, iterations)
        self.check_steps(analytics, graph, 0.5, 2)

    def test_page_rank_damping_at_its_bounds(self, graph, analytics):
        """damping just inside (0, 1) is served (near 0 the ranks are near uniform, near 1
        they follow the links alone); 0, 1 and just outside are INVALID_ARGUMENT."""
        self.web(graph)
        for damping in (1e-9, 1e-3, 0.999, 1 - 1e-9):
            self.check_steps(analytics, graph, damping, 2)
        for damping in (0.0, -1e-12, 1.0, 1 + 1e-12, math.inf):
            expect_status(
                f"PageRank(damping={damping}, iterations=2)",
                grpc.StatusCode.INVALID_ARGUMENT,
                lambda: self.page_rank(analytics, graph, damping, 2),
            )

    def test_weighted_paths_with_weight_zero_edges_and_ties(self, graph, analytics):
        """A path of weight-0 edges costs 0 (an absent or zero weight read as 1 picks the
        direct edge); a zero-weight cycle ends; ties may answer either path, of least cost."""
        graph.nodes("s", "a", "b", "t", "c", "d", "u", "x", "y")
        graph.edge("s>a", "s", "a", weight=0.0)
        graph.edge("a>b", "a", "b", weight=0.0)
        graph.edge("b>t", "b", "t", weight=0.0)
        graph.edge("s>t", "s", "t", weight=0.5)
        graph.edge("a>s", "a", "s", weight=0.0)  # a zero-weight cycle s->a->s
        graph.edge("s>c", "s", "c", weight=1.0)
        graph.edge("s>d", "s", "d", weight=1.0)
        graph.edge("c>u", "c", "u", weight=2.0)
        graph.edge("d>u", "d", "u", weight=2.0)
        graph.edge("x>y", "x", "y", weight=0.0)
        check(
            "ShortestPath(s->t, weighted) along three weight-0 edges",
            self.check_path(analytics, graph, "s", "t", True),
            ["s", "a", "b", "t"],
        )
        check("ShortestPath(s->t, unweighted): one hop", self.check_path(analytics, graph, "s", "t", False), ["s", "t"])
        check("ShortestPath(s->b, weighted): cost 0", self.shortest(analytics, graph, "s", "b", True).cost, 0.0)
        check("ShortestPath(x->y, weighted): cost 0", self.shortest(analytics, graph, "x", "y", True).cost, 0.0)
        for weighted in (True, False):
            self.check_path(analytics, graph, "s", "u", weighted)  # two ties: via c or via d
            self.check_path(analytics, graph, "a", "u", weighted)
            expect_status(
                f"ShortestPath(s->x, weighted={weighted}): unreachable",
                grpc.StatusCode.NOT_FOUND,
                lambda: self.shortest(analytics, graph, "s", "x", weighted),
            )
            expect_status(
                f"ShortestPath(y->x, weighted={weighted}): only x->y exists",
                grpc.StatusCode.NOT_FOUND,
                lambda: self.shortest(analytics, graph, "y", "x", weighted),
            )

    def every_read(self, analytics, graph, after: str) -> None:
        for source, target in (("a", "sink"), ("e", "c")):
            for weighted in (True, False):
                if nx.has_path(graph.reference, source, target):
                    self.check_path(analytics, graph, source, target, weighted)
                else:
                    expect_status(
                        f"ShortestPath({source}->{target}, weighted={weighted}) after {after}: no path",
                        grpc.StatusCode.NOT_FOUND,
                        lambda: self.shortest(analytics, graph, source, target, weighted),
                    )
        self.check_steps(analytics, graph, 0.85, 2)
        want = sorted(sorted(c) for c in nx.weakly_connected_components(graph.reference))
        check(f"ConnectedComponents after {after}", self.components(analytics, graph), want)

    def test_reads_after_writes(self, graph, analytics):
        """Every analytics read again after each kind of write, so a graph or answer cached
        from the first read fails."""
        self.web(graph)
        self.every_read(analytics, graph, "the first writes")
        graph.node("f")
        self.every_read(analytics, graph, "AddNode(f)")
        graph.edge("e>sink", "e", "sink", weight=0.0)
        graph.edge("sink>f", "sink", "f")
        self.every_read(analytics, graph, "AddEdge(e>sink, sink>f)")
        graph.delete_edge("link:c>sink")
        graph.reference.remove_edge("c", "sink", key="link:c>sink")
        self.every_read(analytics, graph, "DeleteEdge(c>sink)")
        graph.delete_node("d")
        graph.reference.remove_node("d")
        self.every_read(analytics, graph, "DeleteNode(d)")

    def test_connected_components_after_deletes(self, graph, analytics):
        graph.nodes("a", "b", "c", "d", "e")
        graph.edges("link", "a>b", "c>b", "c>d", "e>d")
        graph.edge("c>d again", "c", "d")
        check("ConnectedComponents of one chain", self.components(analytics, graph), [["a", "b", "c", "d", "e"]])
        graph.delete_edge("link:c>d")
        check(
            "ConnectedComponents after deleting one of two parallel edges", self.components(analytics, graph), [["a", "b", "c", "d", "e"]]
        )
        graph.delete_edge("c>d again")
        check("ConnectedComponents after deleting both c>d edges", self.components(analytics, graph), [["a", "b", "c"], ["d", "e"]])
        graph.delete_node("b")
        check("ConnectedComponents after DeleteNode(b)", self.components(analytics, graph), [["a"], ["c"], ["d", "e"]])
        graph.node("b")
        check(
            "ConnectedComponents after b is added again without its edges",
            self.components(analytics, graph),
            [["a"], ["b"], ["c"], ["d", "e"]],
        )

    def test_namespace_isolation(self, graph, analytics, plugin, related):
        """The same node ids in two namespaces, joined differently; DeleteNode's cascade in
        one leaves the other's edges."""
        other = GraphOps.on(plugin.channel, related("-other"))
        for ops in (graph, other):
            ops.nodes("a", "b", "c")
        graph.edges("link", "a>b", "b>c")
        other.edges("link", "c>a")
        other.edge("a>c", "a", "c", weight=0.0)
        graph.delete_node("c")
        graph.reference.remove_node("c")
        with AllRows() as rows:
            for ops, whose in ((graph, "own"), (other, "the other")):
                want = sorted(sorted(c) for c in nx.weakly_connected_components(ops.reference))
                rows.check(f"ConnectedComponents in {whose} namespace", self.components(analytics, ops), want)
                self.check_steps(analytics, ops, 0.85, 2)
        self.check_path(analytics, graph, "a", "b", True)
        check("ShortestPath(c->a, weighted) in the other namespace", self.check_path(analytics, other, "c", "a", True), ["c", "a"])
        check(
            "ShortestPath(a->c, weighted) in the other namespace: its weight-0 edge",
            self.shortest(analytics, other, "a", "c", True).cost,
            0.0,
        )
        expect_status(
            "ShortestPath(a->b) in the other namespace: only own namespace has a>b",
            grpc.StatusCode.NOT_FOUND,
            lambda: self.shortest(analytics, other, "a", "b", False),
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
