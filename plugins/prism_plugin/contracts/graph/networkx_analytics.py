"""graph_analytics and graph_traversal's visit orders as the contract defines them, over a
networkx graph of one namespace (edges carry `weight`), for backends that compute them in the
plugin (MemStore, PostgreSQL)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable

from prism_plugin import lazy
from prism_plugin.contracts.graph.analytics import CONVERGED

if TYPE_CHECKING:
    import networkx as nx
else:
    nx = lazy.module("networkx")


def followed(nodes: Iterable[str], edges: Iterable[tuple[str, str]], direction: str) -> nx.DiGraph:
    """The graph a traversal walks: edges (from_node, to_node) oriented as it follows them
    (direction outgoing, incoming or both), several edges between two nodes once."""
    walked = nx.DiGraph()
    walked.add_nodes_from(nodes)
    walked.add_edges_from(edges)
    if direction == "incoming":
        return walked.reverse(copy=False)
    if direction == "both":
        return walked.to_undirected(as_view=True)
    return walked


def breadth_first(walked: nx.Graph, start: str, max_depth: int) -> list[str]:
    """By distance, then discovery order, neighbours in ascending id; max_depth 0: no limit."""
    return [start, *(v for _, v in nx.bfs_edges(walked, start, depth_limit=max_depth or None, sort_neighbors=sorted))]


def depth_first(walked: nx.Graph, start: str, max_depth: int) -> list[str]:
    """Preorder, lowest-id unvisited neighbour first, depth along the search path."""
    return list(nx.dfs_preorder_nodes(walked, start, depth_limit=max_depth or None, sort_neighbors=sorted))


def shortest_path(graph: nx.MultiDiGraph, from_node: str, to_node: str, weighted: bool) -> tuple[list[str], float] | None:
    """A cheapest path (weights summed) or a shortest one (hops) and its cost; None when either
    node is missing or no path joins them."""
    if from_node not in graph or to_node not in graph:
        return None
    try:
        if weighted:
            cost, path = nx.single_source_dijkstra(graph, from_node, to_node, weight="weight")
            return path, float(cost)
        path = nx.shortest_path(graph, from_node, to_node)
        return path, float(len(path) - 1)
    except nx.NetworkXNoPath:
        return None


def components(graph: nx.MultiDiGraph) -> list[list[str]]:
    """Weakly connected components (the contract sorts them)."""
    return [list(c) for c in nx.weakly_connected_components(graph)]


def page_rank(graph: nx.DiGraph, damping: float, iterations: int) -> dict[str, float]:
    """By power iteration: each edge once (a DiGraph), weights ignored, a node without outgoing
    edges spreads its rank over every node; at most `iterations` steps, fewer once the ranks
    change by less than CONVERGED per node (networkx's pagerank raises instead of stopping)."""
    import numpy as np  # imported when PageRank is first asked for, not by every cell that loads the plugin
    import scipy as sp

    nodes = list(graph)
    n = len(nodes)
    if n == 0:
        return {}
    adjacency = nx.to_scipy_sparse_array(graph, nodelist=nodes, weight=None, dtype=float)
    out = np.asarray(adjacency.sum(axis=1)).ravel()
    dangling = out == 0
    scale = np.divide(1.0, out, out=np.zeros(n), where=~dangling)
    transition = sp.sparse.diags_array(scale) @ adjacency
    ranks = np.full(n, 1.0 / n)
    for _ in range(iterations):
        before = ranks
        ranks = damping * (ranks @ transition + before[dangling].sum() / n) + (1 - damping) / n
        if np.abs(ranks - before).sum() < n * CONVERGED:
            break
    return dict(zip(nodes, (float(r) for r in ranks)))
