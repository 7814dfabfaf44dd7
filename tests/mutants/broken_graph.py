"""Plausible bugs of a graph backend, each a small change to MemStore's graph store: every graph
suite must fail against at least one (tests/mutants/test_suites_catch_broken_plugins.py)."""

from __future__ import annotations

from typing import Callable

import networkx as nx  # type: ignore[import]

import prism_memstore
from prism_memstore.graph import MemGraph, Space
from prism_plugin.contracts.graph.networkx_analytics import components, page_rank, shortest_path


class DeleteNodeCountsOutgoingEdgesOnly(MemGraph):
    async def delete_node(self, ns, node_id):
        graph = self._space(ns).graph
        outgoing = graph.out_degree(node_id) if node_id in graph else 0
        removed = await super().delete_node(ns, node_id)
        return None if removed is None else outgoing


class DeleteEdgeInEveryNamespace(MemGraph):
    """DeleteEdge by edge id alone, as a table keyed by id without its namespace would."""

    async def delete_edge(self, ns, edge_id):
        found = await super().delete_edge(ns, edge_id)
        for other in list(self._spaces):
            if other != ns:
                await super().delete_edge(other, edge_id)
        return found


class EdgeToMissingNodeCreatesIt(MemGraph):
    async def add_edge(self, ns, edge):
        space = self._spaces.setdefault(ns, Space())
        for end in (edge.from_node, edge.to_node):
            if end not in space.graph:
                space.graph.add_node(end, labels=(), properties={})
        await super().add_edge(ns, edge)


class AddEdgesDropsTheLastEdge(MemGraph):
    """An off-by-one in a batch loop (`range(len(edges) - 1)`): AddEdges answers OK without
    its last edge."""

    async def add_edges(self, ns, edges):
        await super().add_edges(ns, edges[:-1])


class AddEdgesOneAtATimeWithoutUndo(MemGraph):
    """A batch written entry by entry, stopping at the first refusal: the edges before it stay."""

    async def add_edges(self, ns, edges):
        for edge in edges:
            await self.add_edge(ns, edge)


class TiesInInsertionOrder(MemGraph):
    async def breadth_first(self, ns, start, direction, max_depth, labels):
        if start not in self._space(ns).graph:
            return None
        walked = self._followed(ns, direction, labels)
        return [start, *(v for _, v in nx.bfs_edges(walked, start, depth_limit=max_depth or None))]

    async def depth_first(self, ns, start, direction, max_depth, labels):
        if start not in self._space(ns).graph:
            return None
        return list(nx.dfs_preorder_nodes(self._followed(ns, direction, labels), start, depth_limit=max_depth or None))


class DepthOffByOne(MemGraph):
    async def breadth_first(self, ns, start, direction, max_depth, labels):
        return await super().breadth_first(ns, start, direction, max_depth and max_depth + 1, labels)

    async def depth_first(self, ns, start, direction, max_depth, labels):
        return await super().depth_first(ns, start, direction, max_depth and max_depth + 1, labels)


class EdgeLabelFilterIgnored(MemGraph):
    def _followed(self, ns, direction, labels):
        return super()._followed(ns, direction, frozenset())


class DirectionIgnored(MemGraph):
    def _followed(self, ns, direction, labels):
        return super()._followed(ns, "outgoing", labels)


class TraversalCappedAtOneThousand(MemGraph):
    """A silent cap on the answer (as a LIMIT 1000 or one page of a server-side walk)."""

    async def breadth_first(self, ns, start, direction, max_depth, labels):
        found = await super().breadth_first(ns, start, direction, max_depth, labels)
        return None if found is None else found[:1000]

    async def depth_first(self, ns, start, direction, max_depth, labels):
        found = await super().depth_first(ns, start, direction, max_depth, labels)
        return None if found is None else found[:1000]


class LabelFilterOnOutgoingEdgesOnly(MemGraph):
    """The filter applied where the walk follows edges forward, forgotten on the reversed ones."""

    def _followed(self, ns, direction, labels):
        return super()._followed(ns, direction, labels if direction == "outgoing" else frozenset())


class TraversalOfACachedView(MemGraph):
    """The walked graph cached per (namespace, direction, labels) and never invalidated by a write."""

    def __init__(self):
        super().__init__()
        self._walked = {}

    def _followed(self, ns, direction, labels):
        key = (ns, direction, labels)
        if key not in self._walked:
            self._walked[key] = nx.DiGraph(super()._followed(ns, direction, labels))
        return self._walked[key]


class QueryCollapsesParallelEdges(MemGraph):
    def _cypher_view(self, ns):
        return nx.MultiDiGraph(nx.DiGraph(super()._cypher_view(ns)))


class QuerySeesEveryNamespace(MemGraph):
    def _cypher_view(self, ns):
        return nx.compose_all([super(QuerySeesEveryNamespace, self)._cypher_view(n) for n in self._spaces] or [nx.MultiDiGraph()])


class QueryCappedAtOneHundredRows(MemGraph):
    """A silent cap on the rows of an answer (a LIMIT 100 appended, one fetchmany page)."""

    async def query(self, ns, language, text, parameters):
        columns, rows = await super().query(ns, language, text, parameters)
        return columns, rows[:100]


class QueryOfACachedView(MemGraph):
    """The engine's view of a namespace built on its first query and never rebuilt after a write."""

    def __init__(self):
        super().__init__()
        self._views = {}

    def _cypher_view(self, ns):
        if ns not in self._views:
            self._views[ns] = super()._cypher_view(ns)
        return self._views[ns]


class WeightedPathIsUnweighted(MemGraph):
    async def shortest_path(self, ns, from_node, to_node, weighted):
        found = await super().shortest_path(ns, from_node, to_node, False)
        if found is None or not weighted:
            return found
        graph = self._space(ns).graph
        path = found[0]
        return path, float(sum(min(a["weight"] for a in graph.get_edge_data(u, v).values()) for u, v in zip(path, path[1:])))


class PageRankIgnoresDamping(MemGraph):
    async def page_rank(self, ns, damping, iterations):
        return page_rank(nx.DiGraph(self._space(ns).graph), 0.85, iterations)


class PageRankRunsToConvergence(MemGraph):
    """The iterations parameter read as a bound nobody reaches: ranks always converged."""

    async def page_rank(self, ns, damping, iterations):
        return page_rank(nx.DiGraph(self._space(ns).graph), damping, 1000)


class PageRankLosesDanglingRank(MemGraph):
    """A node without outgoing edges keeps its rank to itself instead of spreading it over every
    node (a self-loop added to each sink): ranks still sum to 1, but sinks rank too high."""

    async def page_rank(self, ns, damping, iterations):
        graph = nx.DiGraph(self._space(ns).graph)
        graph.add_edges_from((n, n) for n in list(graph) if graph.out_degree(n) == 0)
        return page_rank(graph, damping, iterations)


class ZeroWeightCountsAsOne(MemGraph):
    """A weight of 0 taken for "no weight" (`weight or 1`), so free edges cost 1."""

    async def shortest_path(self, ns, from_node, to_node, weighted):
        graph = nx.MultiDiGraph(self._space(ns).graph)
        for _, _, attrs in graph.edges(data=True):
            attrs["weight"] = attrs["weight"] or 1.0
        return shortest_path(graph, from_node, to_node, weighted)


class AnalyticsOfACachedGraph(MemGraph):
    """Analytics over a copy of the graph taken at the namespace's first analytics call."""

    def __init__(self):
        super().__init__()
        self._copies = {}

    def _copy(self, ns):
        if ns not in self._copies:
            self._copies[ns] = Space(self._space(ns).graph.copy())
        return self._copies[ns]

    async def shortest_path(self, ns, from_node, to_node, weighted):
        return shortest_path(self._copy(ns).graph, from_node, to_node, weighted)

    async def page_rank(self, ns, damping, iterations):
        return page_rank(nx.DiGraph(self._copy(ns).graph), damping, iterations)

    async def components(self, ns):
        return components(self._copy(ns).graph)


class ComponentsStronglyConnected(MemGraph):
    async def components(self, ns):
        return [list(c) for c in nx.strongly_connected_components(self._space(ns).graph)]


def graph_store(store_class: type[MemGraph]) -> Callable[[], None]:
    def patch() -> None:
        prism_memstore.MemGraph = store_class  # type: ignore[misc]

    return patch


MUTANTS: dict[str, tuple[str, Callable[[], None]]] = {
    "graph-delete-node-counts-outgoing-edges-only": ("graph_basic", graph_store(DeleteNodeCountsOutgoingEdgesOnly)),
    "graph-delete-edge-in-every-namespace": ("graph_basic", graph_store(DeleteEdgeInEveryNamespace)),
    "graph-edge-to-missing-node-creates-it": ("graph_basic", graph_store(EdgeToMissingNodeCreatesIt)),
    "graph-add-edges-drops-the-last-edge": ("graph_basic", graph_store(AddEdgesDropsTheLastEdge)),
    "graph-add-edges-not-atomic": ("graph_basic", graph_store(AddEdgesOneAtATimeWithoutUndo)),
    "graph-ties-in-insertion-order": ("graph_traversal", graph_store(TiesInInsertionOrder)),
    "graph-depth-off-by-one": ("graph_traversal", graph_store(DepthOffByOne)),
    "graph-edge-label-filter-ignored": ("graph_traversal", graph_store(EdgeLabelFilterIgnored)),
    "graph-direction-ignored": ("graph_traversal", graph_store(DirectionIgnored)),
    "graph-traversal-capped-at-1000": ("graph_traversal", graph_store(TraversalCappedAtOneThousand)),
    "graph-label-filter-on-outgoing-edges-only": ("graph_traversal", graph_store(LabelFilterOnOutgoingEdgesOnly)),
    "graph-traversal-of-a-cached-view": ("graph_traversal", graph_store(TraversalOfACachedView)),
    "graph-query-collapses-parallel-edges": ("graph_query", graph_store(QueryCollapsesParallelEdges)),
    "graph-query-sees-every-namespace": ("graph_query", graph_store(QuerySeesEveryNamespace)),
    "graph-query-capped-at-100-rows": ("graph_query", graph_store(QueryCappedAtOneHundredRows)),
    "graph-query-of-a-cached-view": ("graph_query", graph_store(QueryOfACachedView)),
    "graph-weighted-path-is-unweighted": ("graph_analytics", graph_store(WeightedPathIsUnweighted)),
    "graph-pagerank-ignores-damping": ("graph_analytics", graph_store(PageRankIgnoresDamping)),
    "graph-pagerank-runs-to-convergence": ("graph_analytics", graph_store(PageRankRunsToConvergence)),
    "graph-pagerank-loses-dangling-rank": ("graph_analytics", graph_store(PageRankLosesDanglingRank)),
    "graph-zero-weight-counts-as-one": ("graph_analytics", graph_store(ZeroWeightCountsAsOne)),
    "graph-analytics-of-a-cached-graph": ("graph_analytics", graph_store(AnalyticsOfACachedGraph)),
    "graph-components-strongly-connected": ("graph_analytics", graph_store(ComponentsStronglyConnected)),
}
