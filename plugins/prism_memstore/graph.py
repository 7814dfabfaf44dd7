"""MemStore's graphs: one networkx MultiDiGraph per namespace (edges keyed by their id), its
traversals and analytics from networkx, and Cypher through grand-cypher (a maintained Cypher
engine over networkx graphs)."""

from __future__ import annotations

import asyncio
import ctypes
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Sequence

import grpc

from prism_plugin import lazy
from prism_plugin.contracts.graph import networkx_analytics as analytics
from prism_plugin.contracts.graph.basic import EdgeData, NodeData
from prism_plugin.status import StatusError, already_exists, failed_precondition, invalid, shown

if TYPE_CHECKING:
    import networkx as nx
else:
    nx = lazy.module("networkx")

QUERY_TIMEOUT_S = 3.5  # below the harness' default call deadline (5 s)


@dataclass
class Space:
    graph: nx.MultiDiGraph = field(default_factory=lambda: nx.MultiDiGraph())
    edges: dict[str, tuple[str, str]] = field(default_factory=dict)  # edge id -> (from, to)


class MemGraph:
    languages: Sequence[str] = ("cypher",)

    def __init__(self) -> None:
        self._spaces: dict[str, Space] = {}

    def drop(self, ns: str) -> None:
        self._spaces.pop(ns, None)

    def _space(self, ns: str) -> Space:
        return self._spaces.get(ns) or Space()

    # graph_basic
    async def add_node(self, ns: str, node: NodeData) -> None:
        space = self._spaces.setdefault(ns, Space())
        if node.id in space.graph:
            raise already_exists(f"node {shown(node.id)} exists")
        space.graph.add_node(node.id, labels=node.labels, properties=node.properties)

    async def add_edge(self, ns: str, edge: EdgeData) -> None:
        space = self._spaces.setdefault(ns, Space())
        if edge.id in space.edges:
            raise already_exists(f"edge {shown(edge.id)} exists")
        for end in (edge.from_node, edge.to_node):
            if end not in space.graph:
                raise failed_precondition(f"edge {shown(edge.id)}: no node {shown(end)}")
        space.graph.add_edge(edge.from_node, edge.to_node, key=edge.id, label=edge.label, weight=edge.weight, properties=edge.properties)
        space.edges[edge.id] = (edge.from_node, edge.to_node)

    async def add_nodes(self, ns: str, nodes: list[NodeData]) -> None:
        """Every node or none: all are checked before the first is added (no await between)."""
        space = self._spaces.setdefault(ns, Space())
        for node in nodes:
            if node.id in space.graph:
                raise already_exists(f"node {shown(node.id)} exists")
        space.graph.add_nodes_from((node.id, {"labels": node.labels, "properties": node.properties}) for node in nodes)

    async def add_edges(self, ns: str, edges: list[EdgeData]) -> None:
        space = self._spaces.setdefault(ns, Space())
        for edge in edges:
            if edge.id in space.edges:
                raise already_exists(f"edge {shown(edge.id)} exists")
            for end in (edge.from_node, edge.to_node):
                if end not in space.graph:
                    raise failed_precondition(f"edge {shown(edge.id)}: no node {shown(end)}")
        space.graph.add_edges_from(
            (e.from_node, e.to_node, e.id, {"label": e.label, "weight": e.weight, "properties": e.properties}) for e in edges
        )
        space.edges.update((e.id, (e.from_node, e.to_node)) for e in edges)

    async def get_node(self, ns: str, node_id: str) -> NodeData | None:
        graph = self._space(ns).graph
        if node_id not in graph:
            return None
        attrs = graph.nodes[node_id]
        return NodeData(node_id, attrs["labels"], attrs["properties"])

    async def get_edge(self, ns: str, edge_id: str) -> EdgeData | None:
        space = self._space(ns)
        if edge_id not in space.edges:
            return None
        u, v = space.edges[edge_id]
        attrs = space.graph.edges[u, v, edge_id]
        return EdgeData(edge_id, u, v, attrs["label"], attrs["weight"], attrs["properties"])

    async def delete_node(self, ns: str, node_id: str) -> int | None:
        space = self._space(ns)
        if node_id not in space.graph:
            return None
        gone = {key for _, _, key in space.graph.in_edges(node_id, keys=True)}
        gone |= {key for _, _, key in space.graph.out_edges(node_id, keys=True)}
        space.graph.remove_node(node_id)
        for key in gone:
            del space.edges[key]
        return len(gone)

    async def delete_edge(self, ns: str, edge_id: str) -> bool:
        space = self._space(ns)
        if edge_id not in space.edges:
            return False
        u, v = space.edges.pop(edge_id)
        space.graph.remove_edge(u, v, key=edge_id)
        return True

    # graph_traversal
    def _followed(self, ns: str, direction: str, labels: frozenset[str]) -> nx.Graph:
        """The graph a traversal walks: the edges with those labels, oriented as it follows them."""
        graph = self._space(ns).graph
        edges = ((u, v) for u, v, label in graph.edges(data="label") if not labels or label in labels)
        return analytics.followed(graph, edges, direction)

    async def breadth_first(self, ns: str, start: str, direction: str, max_depth: int, labels: frozenset[str]) -> list[str] | None:
        if start not in self._space(ns).graph:
            return None
        return analytics.breadth_first(self._followed(ns, direction, labels), start, max_depth)

    async def depth_first(self, ns: str, start: str, direction: str, max_depth: int, labels: frozenset[str]) -> list[str] | None:
        if start not in self._space(ns).graph:
            return None
        return analytics.depth_first(self._followed(ns, direction, labels), start, max_depth)

    # graph_query
    async def query(self, ns: str, language: str, text: str, parameters: dict[str, Any]) -> tuple[list[str], list[Sequence[Any]]]:
        if parameters:
            raise invalid("cypher here is grand-cypher, which has no query parameters: send none")
        view = self._cypher_view(ns)
        try:
            found = await _bounded_cypher(view, text, QUERY_TIMEOUT_S)
        except asyncio.TimeoutError:
            raise StatusError(grpc.StatusCode.DEADLINE_EXCEEDED, f"the query ran longer than {QUERY_TIMEOUT_S} s") from None
        columns = [str(c) for c in found]
        return columns, list(zip(*found.values())) if found else []

    def _cypher_view(self, ns: str) -> nx.MultiDiGraph:
        """A copy in grand-cypher's shape: labels as `__labels__`, properties as attributes."""
        graph = self._space(ns).graph
        view = nx.MultiDiGraph()
        for node, attrs in graph.nodes(data=True):
            view.add_node(node, **attrs["properties"], __labels__=set(attrs["labels"]))
        for u, v, key, attrs in graph.edges(keys=True, data=True):
            view.add_edge(u, v, key=key, **attrs["properties"], __labels__={attrs["label"]})
        return view

    # graph_analytics
    async def shortest_path(self, ns: str, from_node: str, to_node: str, weighted: bool) -> tuple[list[str], float] | None:
        return analytics.shortest_path(self._space(ns).graph, from_node, to_node, weighted)

    async def page_rank(self, ns: str, damping: float, iterations: int) -> dict[str, float]:
        return analytics.page_rank(nx.DiGraph(self._space(ns).graph), damping, iterations)

    async def components(self, ns: str) -> list[list[str]]:
        return analytics.components(self._space(ns).graph)


class _QueryStopped(BaseException):
    """Raised inside a Cypher query's thread once its time is up, so the query stops there."""


async def _bounded_cypher(view: nx.MultiDiGraph, text: str, timeout_s: float) -> dict[Any, list[Any]]:
    """The query in a thread of its own, stopped when its time is up: grand-cypher is pure
    Python, so an exception raised in that thread (PyThreadState_SetAsyncExc) ends it at its next
    bytecode, and what it built is freed; a thread left running would hold and grow its memory."""
    loop = asyncio.get_running_loop()
    answer: asyncio.Future[dict[Any, list[Any]]] = loop.create_future()

    def settle(result: Any, error: BaseException | None) -> None:
        if not answer.done():
            answer.set_exception(error) if error is not None else answer.set_result(result)

    def work() -> None:
        try:
            result = _run_cypher(view, text)
        except _QueryStopped:
            return
        except BaseException as e:  # noqa: BLE001 - handed to the caller
            loop.call_soon_threadsafe(settle, None, e)
            return
        loop.call_soon_threadsafe(settle, result, None)

    thread = threading.Thread(target=work, name="cypher-query", daemon=True)
    thread.start()
    try:
        return await asyncio.wait_for(asyncio.shield(answer), timeout_s)
    except asyncio.TimeoutError:
        if thread.ident is not None and thread.is_alive():
            ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread.ident), ctypes.py_object(_QueryStopped))
        raise


def _run_cypher(view: nx.MultiDiGraph, text: str) -> dict[Any, list[Any]]:
    import grandcypher  # (and lark) imported by the first query, not by every cell that loads MemStore

    try:
        return grandcypher.GrandCypher(view).run(text)
    except Exception as e:  # the engine's verdict on the caller's text, whatever its kind
        raise invalid(f"cypher: {type(e).__name__}: {str(e)[:200]}") from None
