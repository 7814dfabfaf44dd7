"""graph_query: Query(language, text, parameters) -> columns and rows of JSON cells.

Every case holds one query text per language (what each language sees is in graph.proto) and
runs once for each language the backend declares (behaviours.graph_query.languages); its
expected rows are computed here, in Python, from the graph the case wrote. Rows compare as a
multiset unless the query orders them."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import grpc
import pytest

from prism.graph.v1 import graph_pb2 as pb
from prism.graph.v1 import graph_pb2_grpc as pb_grpc
from prism_accept.registry import BackendDeclaration
from prism_accept.suites.base import InterfaceSuite, check, describe, expect_status
from prism_accept.suites.graph.graphs import GraphOps, batch_size, struct
from prism_accept.suites.requirements import requires
from prism_accept.suites.rows import AllRows

KNOWN_LANGUAGES = ("sql", "sqlite", "cypher", "sparql", "gremlin")
PEOPLE = [  # (id, name, age), written in neither name nor age order
    ("p3", "Cleo", 41),
    ("p1", "Ann", 31),
    ("p4", "Dan", 19),
    ("p2", "Bob", 52),
    ("p5", "Åse", 30),
]
IS_PERSON = "EXISTS (SELECT 1 FROM json_each(labels) WHERE value = 'Person')"  # sqlite: labels is a JSON array
KNOWS = [("k1", "p1", "p2", 2001), ("k2", "p1", "p2", 2002), ("k3", "p2", "p3", 2003), ("k4", "p3", "p1", 2004)]

PERSONS_OVER_30 = {
    "cypher": "MATCH (p:Person) WHERE p.age > 30 RETURN p.name AS name, p.age AS age",
    "sql": "SELECT properties->'name' AS name, properties->'age' AS age FROM nodes "
    "WHERE 'Person' = ANY(labels) AND (properties->>'age')::numeric > 30",
    "sqlite": "SELECT json_extract(properties, '$.name') AS name, json_extract(properties, '$.age') AS age FROM nodes "
    f"WHERE {IS_PERSON} AND json_extract(properties, '$.age') > 30",
}
KNOWS_EDGES = {
    "cypher": "MATCH (a)-[r:KNOWS]->(b) RETURN a.name AS source, b.name AS target, r.since AS since",
    "sql": "SELECT s.properties->'name' AS source, t.properties->'name' AS target, e.properties->'since' AS since "
    "FROM edges e JOIN nodes s ON s.id = e.from_node JOIN nodes t ON t.id = e.to_node WHERE e.label = 'KNOWS'",
    "sqlite": "SELECT json_extract(s.properties, '$.name') AS source, json_extract(t.properties, '$.name') AS target, "
    "json_extract(e.properties, '$.since') AS since "
    "FROM edges e JOIN nodes s ON s.id = e.from_node JOIN nodes t ON t.id = e.to_node WHERE e.label = 'KNOWS'",
}
PERSONS_BY_AGE = {
    "cypher": "MATCH (p:Person) RETURN p.name AS name, p.age AS age ORDER BY p.age DESC",
    "sql": "SELECT properties->'name' AS name, properties->'age' AS age FROM nodes "
    "WHERE 'Person' = ANY(labels) ORDER BY (properties->>'age')::numeric DESC",
    "sqlite": "SELECT json_extract(properties, '$.name') AS name, json_extract(properties, '$.age') AS age FROM nodes "
    f"WHERE {IS_PERSON} ORDER BY json_extract(properties, '$.age') DESC",
}
CITY_IDS = {
    "cypher": "MATCH (c:City) RETURN id(c) AS id",
    "sql": "SELECT id FROM nodes WHERE 'City' = ANY(labels)",
    "sqlite": "SELECT id FROM nodes WHERE EXISTS (SELECT 1 FROM json_each(labels) WHERE value = 'City')",
}
PERSON_COUNT = {
    "cypher": "MATCH (p:Person) RETURN COUNT(p) AS n",
    "sql": "SELECT count(*) AS n FROM nodes WHERE 'Person' = ANY(labels)",
    "sqlite": f"SELECT count(*) AS n FROM nodes WHERE {IS_PERSON}",
}
EDGE_COUNT = {
    "cypher": "MATCH (a)-[r]->(b) RETURN COUNT(r) AS n",
    "sql": "SELECT count(*) AS n FROM edges",
    "sqlite": "SELECT count(*) AS n FROM edges",
}
AGE_BY_NAME = {
    "cypher": "MATCH (p:Person) WHERE p.name = $name RETURN p.age AS age",
    "sql": "SELECT n.properties->'age' AS age FROM nodes n, parameters p WHERE n.properties->>'name' = p.value->>'name'",
    "sqlite": "SELECT json_extract(n.properties, '$.age') AS age FROM nodes n, parameters p "
    "WHERE json_extract(n.properties, '$.name') = json_extract(p.value, '$.name')",
}
TWO_HOPS = {
    "cypher": "MATCH (a)-[r:link]->(b)-[s:link]->(c) RETURN id(a) AS a, id(b) AS b, id(c) AS c",
    "sql": "SELECT e1.from_node AS a, e1.to_node AS b, e2.to_node AS c FROM edges e1 JOIN edges e2 ON e2.from_node = e1.to_node "
    "WHERE e1.label = 'link' AND e2.label = 'link'",
    "sqlite": "SELECT e1.from_node AS a, e1.to_node AS b, e2.to_node AS c FROM edges e1 JOIN edges e2 ON e2.from_node = e1.to_node "
    "WHERE e1.label = 'link' AND e2.label = 'link'",
}
LINKS = {
    "cypher": "MATCH (a)-[r:link]->(b) RETURN id(a) AS a, id(b) AS b",
    "sql": "SELECT from_node AS a, to_node AS b FROM edges WHERE label = 'link'",
    "sqlite": "SELECT from_node AS a, to_node AS b FROM edges WHERE label = 'link'",
}
WRITE = {
    "cypher": 'CREATE (n:Person {name: "Eve", age: 99}) RETURN n.name AS name',
    "sql": "CREATE TABLE graph_query_probe (x integer)",
    "sqlite": "CREATE TABLE graph_query_probe (x INTEGER)",
}
MALFORMED = {
    "cypher": "MATCH (p:Person RETURN p.name",
    "sql": "SELECT FROM nodes WHERE",
    "sqlite": "SELECT FROM nodes WHERE",
}
CROSS_JOIN = {  # the SQL dialects: 33 nodes x 33 x 33
    "sql": "SELECT a.id AS a, b.id AS b, c.id AS c FROM nodes a, nodes b, nodes c",
    "sqlite": "SELECT a.id AS a, b.id AS b, c.id AS c FROM nodes a, nodes b, nodes c",
}


def canonical(value: Any) -> Any:
    """A JSON value compared by meaning: 30 and 30.0 are one number."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [canonical(v) for v in value]
    if isinstance(value, dict):
        return {k: canonical(v) for k, v in value.items()}
    return value


def row_key(row: dict[str, Any]) -> str:
    return json.dumps(canonical(row), sort_keys=True, ensure_ascii=False)


def multiset(rows: list[dict[str, Any]]) -> Counter:
    return Counter(row_key(r) for r in rows)


def declared_languages(decl: BackendDeclaration) -> list[str]:
    return list(decl.behaviours.get("graph_query", {}).get("languages", []))


@requires.interface("graph_basic")  # graphs are built with AddNode/AddEdge and AddNodes/AddEdges
class GraphQueryTests(InterfaceSuite):
    interface = "graph_query"

    @staticmethod
    def params(decl: BackendDeclaration) -> dict[str, list]:
        return {"language": declared_languages(decl)}

    @pytest.fixture
    def graph(self, plugin, namespace):
        return GraphOps.on(plugin.channel, namespace)

    @pytest.fixture
    def stub(self, plugin):
        return pb_grpc.GraphQueryStub(plugin.channel)

    @staticmethod
    def social(graph: GraphOps) -> None:
        for node_id, name, age in PEOPLE:
            graph.node(node_id, "Person", name=name, age=age)
        graph.node("c1", "City", name="Oslo", age=900)  # an age too: a label filter must not let it in
        graph.node("c2", "City", "Capital", name="Rome", age=2700)
        for edge_id, u, v, since in KNOWS:
            graph.edge(edge_id, u, v, "KNOWS", since=since)
        graph.edge("l1", "p1", "c1", "LIVES_IN", since=1999)
        graph.edge("l2", "p2", "c2", "LIVES_IN", since=1998)

    @staticmethod
    def query(
        stub, graph: GraphOps, language: str, texts: dict[str, str], parameters: dict[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        """The rows as dicts column -> decoded cell; fails on a malformed answer."""
        if language not in texts:
            pytest.fail(f"the suite has no {language} text for this case: add one", pytrace=False)
        request = pb.QueryRequest(namespace=graph.ns, language=language, text=texts[language])
        if parameters is not None:
            request.parameters.CopyFrom(struct(parameters))
        answer = stub.Query(request)
        columns = list(answer.columns)
        rows = []
        for i, row in enumerate(answer.rows):
            if len(row.cells) != len(columns):
                raise AssertionError(f"Query({texts[language]!r}): row {i} has {len(row.cells)} cells for columns {columns}")
            try:
                rows.append(dict(zip(columns, (json.loads(c) for c in row.cells))))
            except json.JSONDecodeError as e:
                raise AssertionError(f"Query({texts[language]!r}): row {i} cell is not JSON: {describe(list(row.cells))} ({e})") from None
        return rows

    @staticmethod
    def people(graph: GraphOps) -> list[dict[str, Any]]:
        return [a["properties"] for _, a in graph.reference.nodes(data=True) if "Person" in a["labels"]]

    def check_multiset(self, operation: str, got: list[dict], want: list[dict]) -> None:
        check(f"{operation} (rows as a multiset)", sorted(multiset(got).elements()), sorted(multiset(want).elements()))

    @requires.behaviour("graph_query", "languages", *KNOWN_LANGUAGES)
    def test_nodes_by_label_and_property(self, stub, graph, language):
        self.social(graph)
        want = [{"name": p["name"], "age": p["age"]} for p in self.people(graph) if p["age"] > 30]
        self.check_multiset(f"{language}: Person nodes over 30", self.query(stub, graph, language, PERSONS_OVER_30), want)
        want_ids = [{"id": n} for n, a in graph.reference.nodes(data=True) if "City" in a["labels"]]
        self.check_multiset(f"{language}: ids of City nodes", self.query(stub, graph, language, CITY_IDS), want_ids)

    @requires.behaviour("graph_query", "languages", *KNOWN_LANGUAGES)
    def test_edges_by_type_with_parallel_edges(self, stub, graph, language):
        self.social(graph)
        names = {n: a["properties"]["name"] for n, a in graph.reference.nodes(data=True)}
        want = [
            {"source": names[u], "target": names[v], "since": a["properties"]["since"]}
            for u, v, a in graph.reference.edges(data=True)
            if a["label"] == "KNOWS"
        ]
        self.check_multiset(f"{language}: KNOWS edges (two of them parallel)", self.query(stub, graph, language, KNOWS_EDGES), want)

    @requires.behaviour("graph_query", "languages", *KNOWN_LANGUAGES)
    def test_ordered_rows_keep_their_order(self, stub, graph, language):
        self.social(graph)
        want = [{"name": p["name"], "age": p["age"]} for p in sorted(self.people(graph), key=lambda p: -p["age"])]
        got = self.query(stub, graph, language, PERSONS_BY_AGE)
        check(f"{language}: Person nodes ordered by age descending", [row_key(r) for r in got], [row_key(r) for r in want])

    @requires.behaviour("graph_query", "languages", *KNOWN_LANGUAGES)
    def test_self_loops_are_matched(self, stub, graph, language):
        graph.node("a", "Person", name="Ann", age=31)
        graph.node("b", "Person", name="Bob", age=52)
        graph.edge("ab", "a", "b", "KNOWS", since=2001)
        graph.edge("aa", "a", "a", "KNOWS", since=2002)
        want = [{"source": "Ann", "target": "Bob", "since": 2001}, {"source": "Ann", "target": "Ann", "since": 2002}]
        self.check_multiset(f"{language}: KNOWS edges, one a self-loop", self.query(stub, graph, language, KNOWS_EDGES), want)

    @requires.behaviour("graph_query", "languages", *KNOWN_LANGUAGES)
    def test_aggregates(self, stub, graph, language):
        self.social(graph)
        check(f"{language}: count of Person nodes", self.query(stub, graph, language, PERSON_COUNT), [{"n": len(self.people(graph))}])
        check(f"{language}: count of edges", self.query(stub, graph, language, EDGE_COUNT), [{"n": graph.reference.number_of_edges()}])

    @requires.behaviour("graph_query", "languages", *KNOWN_LANGUAGES)
    def test_deleted_nodes_and_their_edges_are_not_seen(self, stub, graph, language):
        self.social(graph)
        graph.delete_node("p2")
        graph.reference.remove_node("p2")
        graph.delete_edge("k4")
        graph.reference.remove_edge("p3", "p1", key="k4")
        check(
            f"{language}: count of edges after DeleteNode(p2), DeleteEdge(k4)",
            self.query(stub, graph, language, EDGE_COUNT),
            [{"n": graph.reference.number_of_edges()}],
        )
        want = [{"name": p["name"], "age": p["age"]} for p in self.people(graph) if p["age"] > 30]
        self.check_multiset(
            f"{language}: Person nodes over 30 after DeleteNode(p2)", self.query(stub, graph, language, PERSONS_OVER_30), want
        )

    @requires.behaviour("graph_query", "languages", *KNOWN_LANGUAGES)
    def test_namespace_isolation(self, stub, graph, language, plugin, related):
        other = GraphOps.on(plugin.channel, related("-other"))
        self.social(other)
        graph.node("mine", "Person", name="Mine", age=77)
        check(
            f"{language}: Person nodes over 30 in own namespace",
            self.query(stub, graph, language, PERSONS_OVER_30),
            [{"name": "Mine", "age": 77}],
        )
        check(f"{language}: ids of City nodes in own namespace (the other has two)", self.query(stub, graph, language, CITY_IDS), [])

    @requires.behaviour("graph_query", "languages", *KNOWN_LANGUAGES)
    def test_same_ids_in_two_namespaces(self, stub, graph, language, plugin, related):
        """Each write in one namespace (AddNode, AddEdge, DeleteEdge, DeleteNode's cascade) is
        seen by its queries only, with the same node and edge ids in both."""
        other = GraphOps.on(plugin.channel, related("-other"))
        self.social(graph)
        self.social(other)
        other.node("p6", "Person", name="Eve", age=60)
        other.edge("k5", "p6", "p1", "KNOWS", since=2005)
        graph.delete_edge("k1")
        graph.reference.remove_edge("p1", "p2", key="k1")
        other.delete_node("p3")
        other.reference.remove_node("p3")
        with AllRows() as rows:
            for ops, whose in ((graph, "own"), (other, "the other")):
                rows.check(
                    f"{language}: count of edges in {whose} namespace",
                    self.query(stub, ops, language, EDGE_COUNT),
                    [{"n": ops.reference.number_of_edges()}],
                )
                want = [{"name": p["name"], "age": p["age"]} for p in self.people(ops) if p["age"] > 30]
                got = self.query(stub, ops, language, PERSONS_OVER_30)
                self.check_multiset(f"{language}: Person nodes over 30 in {whose} namespace", got, want)

    @requires.behaviour("graph_query", "languages", *KNOWN_LANGUAGES)
    def test_reads_after_writes(self, stub, graph, language):
        """The same queries after each kind of write, so an answer or a view of the graph
        cached from the first query fails."""
        self.social(graph)

        def every_read(after: str) -> None:
            check(
                f"{language}: count of Person nodes after {after}",
                self.query(stub, graph, language, PERSON_COUNT),
                [{"n": len(self.people(graph))}],
            )
            check(
                f"{language}: count of edges after {after}",
                self.query(stub, graph, language, EDGE_COUNT),
                [{"n": graph.reference.number_of_edges()}],
            )
            want = [{"name": p["name"], "age": p["age"]} for p in self.people(graph) if p["age"] > 30]
            self.check_multiset(f"{language}: Person nodes over 30 after {after}", self.query(stub, graph, language, PERSONS_OVER_30), want)

        every_read("the first writes")
        graph.node("p6", "Person", name="Eve", age=60)
        every_read("AddNode(p6)")
        graph.edge("k5", "p6", "p1", "KNOWS", since=2005)
        every_read("AddEdge(k5)")
        graph.delete_edge("k3")
        graph.reference.remove_edge("p2", "p3", key="k3")
        every_read("DeleteEdge(k3)")
        graph.delete_node("p1")
        graph.reference.remove_node("p1")
        every_read("DeleteNode(p1)")

    @requires.behaviour("graph_query", "languages", *KNOWN_LANGUAGES)
    @requires.limit("max_batch_size")
    def test_results_larger_than_any_cap(self, stub, graph, language, capabilities):
        """5,456 rows (every two-edge path of a complete DAG on 33 nodes, its 528 edges written
        in batches) and 528, so an answer capped at 100, 500, 1,000 or 4,096 rows, or one page of
        a cursor, fails."""
        ids = [f"v{i:02d}" for i in range(33)]
        graph.bulk(ids, [(u, v) for i, u in enumerate(ids) for v in ids[i + 1 :]], batch=batch_size(capabilities))
        ref = graph.reference
        links = [{"a": u, "b": v} for u, v in ref.edges()]
        got = self.query(stub, graph, language, LINKS)
        check(f"{language}: how many link edges", len(got), len(links))
        self.check_multiset(f"{language}: every link edge", got, links)
        paths = [{"a": a, "b": b, "c": c} for a, b in ref.edges() for c in ref.successors(b)]
        got = self.query(stub, graph, language, TWO_HOPS)
        check(f"{language}: how many two-edge paths", (len(got), len(paths)), (5_456, 5_456))
        self.check_multiset(f"{language}: every two-edge path", got, paths)

    @requires.behaviour("graph_query", "languages", *CROSS_JOIN)
    @requires.limit("max_batch_size")
    def test_sql_answer_of_35937_rows(self, stub, graph, capabilities, declaration):
        """A cross join of 33 nodes with itself twice, in each SQL dialect the backend declares:
        35,937 rows (half a megabyte, far below the default max_response_bytes), so a cap of
        10,000 rows or any page size fails."""
        ids = [f"v{i:02d}" for i in range(33)]
        graph.bulk(ids, [], batch=batch_size(capabilities))
        want = [(a, b, c) for a in ids for b in ids for c in ids]
        for language in [lang for lang in declared_languages(declaration) if lang in CROSS_JOIN]:
            got = self.query(stub, graph, language, CROSS_JOIN)
            check(f"{language}: how many rows of nodes x nodes x nodes", len(got), 33**3)
            check(f"{language}: every row of nodes x nodes x nodes", sorted((r["a"], r["b"], r["c"]) for r in got), want)

    @requires.behaviour("graph_query", "languages", *KNOWN_LANGUAGES)
    def test_empty_graph_has_no_rows(self, stub, graph, language):
        check(f"{language}: Person nodes over 30 of an empty namespace", self.query(stub, graph, language, PERSONS_OVER_30), [])
        check(f"{language}: KNOWS edges of an empty namespace", self.query(stub, graph, language, KNOWS_EDGES), [])

    @requires.behaviour("graph_query", "languages", *KNOWN_LANGUAGES)
    def test_parameters_are_bound(self, stub, graph, language):
        self.social(graph)
        check(
            f"{language}: age of name=$name with name='Ann'", self.query(stub, graph, language, AGE_BY_NAME, {"name": "Ann"}), [{"age": 31}]
        )
        with AllRows() as rows:
            for hostile in ("Ann' OR '1'='1", 'Ann" OR true OR "', "x' OR 1=1 --"):
                rows.check(
                    f"{language}: age of name=$name with name={hostile!r}: bound, never spliced",
                    self.query(stub, graph, language, AGE_BY_NAME, {"name": hostile}),
                    [],
                )

    @requires.behaviour("graph_query", "languages", *KNOWN_LANGUAGES)
    def test_queries_cannot_write(self, stub, graph, language):
        self.social(graph)
        expect_status(
            f"{language}: a write ({WRITE[language]!r})", grpc.StatusCode.INVALID_ARGUMENT, lambda: self.query(stub, graph, language, WRITE)
        )
        check(
            f"{language}: count of Person nodes after the refused write",
            self.query(stub, graph, language, PERSON_COUNT),
            [{"n": len(PEOPLE)}],
        )

    @requires.behaviour("graph_query", "languages", *KNOWN_LANGUAGES)
    def test_malformed_text_is_invalid(self, stub, graph, language):
        graph.node("a", "Person", name="A", age=1)
        expect_status(
            f"{language}: {MALFORMED[language]!r}", grpc.StatusCode.INVALID_ARGUMENT, lambda: self.query(stub, graph, language, MALFORMED)
        )
        expect_status(
            f"{language}: an empty text", grpc.StatusCode.INVALID_ARGUMENT, lambda: self.query(stub, graph, language, {language: ""})
        )

    def test_undeclared_language_is_refused(self, stub, graph, declaration):
        declared = declared_languages(declaration)
        for language in [*(lang for lang in KNOWN_LANGUAGES if lang not in declared), "klingon", "CYPHER"]:
            if language in declared:
                continue
            request = pb.QueryRequest(namespace=graph.ns, language=language, text="MATCH (n) RETURN n")
            try:
                stub.Query(request)
            except grpc.RpcError as e:
                if e.code() not in (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.UNIMPLEMENTED):
                    raise AssertionError(
                        f"Query in undeclared language {language!r}: got {e.code().name}, want INVALID_ARGUMENT or UNIMPLEMENTED"
                    ) from None
                continue
            raise AssertionError(f"Query in undeclared language {language!r}: got OK, want INVALID_ARGUMENT or UNIMPLEMENTED")
        expect_status(
            "Query with an empty language",
            grpc.StatusCode.INVALID_ARGUMENT,
            lambda: stub.Query(pb.QueryRequest(namespace=graph.ns, language="", text="x")),
        )
