"""PageRank as graph_analytics defines it, by power iteration, for backends that rank in the
plugin: each edge once (a DiGraph), weights ignored, a node without outgoing edges spreads its
rank over every node; at most `iterations` steps, fewer once the ranks change by less than
CONVERGED per node."""

from __future__ import annotations

import networkx as nx
import numpy as np
import scipy as sp

from prism_plugin.contracts.graph.analytics import CONVERGED


def page_rank(graph: nx.DiGraph, damping: float, iterations: int) -> dict[str, float]:
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
