"""document_query: Find (filter, sort, skip, limit, projection), FindOne, Aggregate. Every
expected answer comes from reference.py over the documents the case inserted."""

from __future__ import annotations

from typing import Any, Callable

import grpc
import pytest

from prism.document.v1 import document_pb2 as pb
from prism.document.v1 import document_pb2_grpc as pb_grpc
from prism_accept.suites.base import InterfaceSuite, check, expect_status
from prism_accept.suites.document import reference as ref
from prism_accept.suites.document.basic import DocOps, body_struct, check_json, succeeds, to_json
from prism_accept.suites.requirements import requires
from prism_accept.suites.rows import AllRows

# Values chosen to meet likely bugs: "30" next to 30 and 30.5, true next to 1, null next to
# missing, arrays next to their elements, a scalar where others have an object, 2^53.
PEOPLE = {
    "d01": {"name": "ann", "age": 30, "score": 1.5, "tags": ["a", "b"], "address": {"city": "Oslo", "zip": "0150"}, "active": True},
    "d02": {"name": "bob", "age": 25, "score": 2, "tags": ["b"], "address": {"city": "Bergen"}, "active": False},
    "d03": {"name": "cid", "age": 35, "tags": [], "address": {"city": "Oslo", "geo": {"lat": 59.9}}, "active": True, "nick": None},
    "d04": {"name": "dan", "age": "30", "score": -1, "address": "Oslo"},
    "d05": {"name": "eve", "age": 30.5, "score": 2.0, "tags": ["a"], "address": {"city": "Trondheim"}, "nick": "e"},
    "d06": {"name": "Émile", "age": None, "score": 10, "active": True},
    "d07": {"name": "zoë", "age": 25, "tags": ["b", "a"], "address": {"city": "oslo"}, "active": 1},
    "d08": {"name": "åse", "age": 40, "score": 0.5, "address": {"city": "Oslo", "zip": 150}},
    "d09": {"name": "ann", "age": 2**53, "score": 2, "tags": ["a", "b"]},
    "d10": {"name": "😀", "score": 1e-7, "address": {}},
    "d11": {"tags": "a", "age": True, "address": {"city": ["Oslo"]}},
    "d12": {"name": "bob", "age": 25, "nested": {"a": {"b": {"c": 1}}}},
}
INSERT_ORDER = ["d07", "d03", "d12", "d01", "d10", "d05", "d02", "d09", "d11", "d04", "d08", "d06"]  # not by id

FILTERS = {
    "eq": [
        {"name": "ann"},
        {"age": 30},
        {"age": {"$eq": 25}},
        {"age": 2**53},
        {"active": True},
        {"active": 1},
        {"tags": ["a", "b"]},
        {"tags": "a"},
        {"tags": []},
        {"address": {"city": "Bergen"}},
        {"address": {"$eq": {"city": "Oslo", "zip": "0150"}}},
        {"nick": None},
        {"name": "ann", "age": 30},
        {"name": "Ann"},
    ],
    "ne": [
        {"nick": {"$ne": "e"}},
        {"nick": {"$ne": None}},
        {"age": {"$ne": 30}},
        {"active": {"$ne": True}},
        {"tags": {"$ne": "a"}},
        {"address.city": {"$ne": "Oslo"}},
    ],
    "ordering": [
        {"age": {"$gt": 25}},
        {"age": {"$gte": 25}},
        {"age": {"$lt": 30}},
        {"age": {"$lte": 30}},
        {"age": {"$gt": 29, "$lt": 31}},
        {"age": {"$lt": "31"}},
        {"age": {"$gte": 9007199254740991}},
        {"score": {"$lte": 1e-7}},
        {"score": {"$gt": -1.5, "$lt": 2}},
        {"name": {"$gte": "bob"}},
        {"name": {"$lt": "a"}},
        {"name": {"$gt": "zoë"}},
        {"address.zip": {"$gt": "0"}},
    ],
    "in": [
        {"name": {"$in": ["ann", "eve", "nobody"]}},
        {"age": {"$in": [25, "30"]}},
        {"tags": {"$in": ["a"]}},
        {"tags": {"$in": [["a", "b"], []]}},
        {"nick": {"$in": [None]}},
        {"name": {"$in": []}},
        {"active": {"$in": [1]}},
    ],
    "exists": [
        {"nick": {"$exists": True}},
        {"nick": {"$exists": False}},
        {"address.city": {"$exists": True}},
        {"address.zip": {"$exists": False}},
        {"age": {"$exists": True, "$ne": None}},
    ],
    "and_or": [
        {"$or": [{"age": 25}, {"name": "ann"}]},
        {"$and": [{"age": {"$gte": 25}}, {"age": {"$lte": 30}}]},
        {"name": "bob", "$or": [{"age": 25, "nested.a.b.c": 1}, {"score": 2}]},
        {"$or": [{"$and": [{"active": True}, {"score": {"$gt": 1}}]}, {"nick": {"$exists": True}}]},
        {"$and": [{"$or": [{"age": 25}, {"age": 30}]}, {"$or": [{"active": False}, {"name": "bob"}]}]},
        {"$or": [{"name": "nobody"}]},
    ],
    "paths": [
        {"address.city": "Oslo"},
        {"address.geo.lat": {"$gt": 59}},
        {"nested.a.b.c": 1},
        {"nested.a.b": {"c": 1}},
        {"tags.0": "a"},
        {"address.zip": 150},
        {"address.city.0": "Oslo"},
        {"name.x": {"$exists": False}},
    ],
}

SORTS = [
    [("age", False)],
    [("age", True)],
    [("name", False)],
    [("address.city", False)],
    [("score", True)],
    [("active", False)],
    [("tags", False)],
    [("address", True)],
    [("age", False), ("name", True)],
    [("name", False), ("score", True)],
    [("missing.path", True)],
]

MALFORMED = [
    {"$foo": 1},
    {"$not": {"a": 1}},
    {"a": {"$foo": 1}},
    {"a": {"$regex": "x"}},
    {"a": {"$gt": True}},
    {"a": {"$gt": [1]}},
    {"a": {"$gt": None}},
    {"a": {"$lte": {"b": 1}}},
    {"a": {"$in": 1}},
    {"a": {"$in": "ab"}},
    {"a": {"$exists": 1}},
    {"a": {"$exists": "yes"}},
    {"$and": []},
    {"$or": {}},
    {"$or": [1]},
    {"$and": [{"a": 1}, "b"]},
    {"a": {"$eq": 1, "b": 2}},
    {"a..b": 1},
    {"": 1},
    {".a": 1},
    {"a.": 1},
    {"$or": [{"a": {"$in": None}}]},
]


class QueryOps(DocOps):
    def __init__(self, plugin, ns: str):
        super().__init__(pb_grpc.DocumentBasicStub(plugin.channel), ns)
        self.query = pb_grpc.DocumentQueryStub(plugin.channel)
        self.inserted: dict[str, dict] = {}

    def load(self, docs: dict[str, dict], order: list[str] | None = None) -> None:
        for id in order or list(docs):
            self.insert(docs[id], id=id)
            self.inserted[id] = docs[id]

    def load_many(self, docs: dict[str, dict], batch: int) -> None:
        """Insert many documents with InsertMany, `batch` at a time (at most max_batch_size)."""
        items = list(docs.items())
        for start in range(0, len(items), batch):
            chunk = items[start : start + batch]
            what = f"InsertMany of documents {start}..{start + len(chunk) - 1}"
            check(what, succeeds(what, lambda: self.insert_many(chunk)), [id for id, _ in chunk])
            self.inserted.update(chunk)

    def request(self, filter_: dict, sort=(), skip=0, limit=0, projection=()) -> pb.FindRequest:
        return pb.FindRequest(
            namespace=self.ns,
            collection=self.collection,
            filter=body_struct(filter_),
            sort=[pb.SortField(path=p, descending=d) for p, d in sort],
            skip=skip,
            limit=limit,
            projection=list(projection),
        )

    def find(self, filter_: dict, **kwargs) -> list[tuple[str, dict]]:
        return [(d.id, to_json(d.body)) for d in self.query.Find(self.request(filter_, **kwargs)).documents]

    def find_ids(self, filter_: dict, **kwargs) -> list[str]:
        return [id for id, _ in self.find(filter_, **kwargs)]

    def check_find(self, filter_: dict, **kwargs) -> None:
        """Find's ids in order, and its whole documents, against the reference."""
        want = ref.find(self.inserted, filter_, **kwargs)
        got = self.find(filter_, **kwargs)
        check(f"Find({filter_}, {kwargs}) ids", [id for id, _ in got], want)
        for id, body in got:
            check_json(f"Find({filter_}) document {id!r}", body, self.inserted.get(id))

    def check_reads(self, after: str) -> None:
        """Find, FindOne and Aggregate over fields k and n, against the reference."""
        self.check_find({"k": 1})
        self.check_find({}, sort=[("n", True)])
        self.check_find({"n": {"$gte": 2}}, sort=[("k", False)], limit=2)
        self.check_find({"k": 2, "n": {"$gte": 2}})
        want = ref.find(self.inserted, {"k": 1}, [("n", True)])
        request = self.request({"k": 1}, sort=[("n", True)])
        if want:
            check(f"FindOne(k=1, sort n desc) after {after}", self.query.FindOne(request).id, want[0])
        else:
            expect_status(f"FindOne(k=1) after {after}", grpc.StatusCode.NOT_FOUND, lambda: self.query.FindOne(request))
        for function, name in [(pb.AggregateRequest.COUNT, "count"), (pb.AggregateRequest.SUM, "sum")]:
            got = self.aggregate({}, "k", function, "n")
            check(f"Aggregate {name}(n) by k after {after}", got, ref.aggregate(self.inserted, {}, "k", name, "n"))

    def check_reads_after(self, writes: list[tuple[str, Callable[[], Any], tuple[str, dict | None]]]) -> None:
        """check_reads before the first write and after each one: (what, write, (id, body after
        it, None once deleted))."""
        self.check_reads("the first Inserts")
        for what, write, (id, body) in writes:
            write()
            if body is None:
                self.inserted.pop(id)
            else:
                self.inserted[id] = body
            self.check_reads(what)

    def aggregate(self, filter_: dict, group_by: str, function, field: str = "") -> dict[str, float]:
        request = pb.AggregateRequest(
            namespace=self.ns, collection=self.collection, filter=body_struct(filter_), group_by=group_by, function=function, field=field
        )
        groups = self.query.Aggregate(request).groups
        out = {}
        for g in groups:
            key = ref.text(to_json(g.key)) if g.HasField("key") else "<missing>"
            check(f"Aggregate({filter_}, {group_by!r}): group {key} appears once", key in out, False)
            out[key] = g.value
        return out


@requires.interface("document_basic")  # documents are inserted with Insert and InsertMany
class DocumentQueryTests(InterfaceSuite):
    interface = "document_query"

    @pytest.fixture
    def db(self, plugin, namespace):
        return QueryOps(plugin, namespace)

    @pytest.fixture
    def people(self, db):
        db.load(PEOPLE, INSERT_ORDER)
        return db

    @pytest.mark.parametrize("group", sorted(FILTERS))
    def test_filter_operators(self, people, group):
        for filter_ in FILTERS[group]:
            people.check_find(filter_)

    def test_empty_filter_matches_every_document_in_id_order(self, people):
        check("Find({}) ids", people.find_ids({}), sorted(PEOPLE))

    def test_sort_across_types_and_missing_fields(self, people):
        for sort in SORTS:
            people.check_find({}, sort=sort)
        people.check_find({"age": {"$exists": True}}, sort=[("age", True), ("score", False)])

    def test_equal_sort_values_are_ordered_by_id(self, db):
        ids = ["k", "b", "x", "a", "m", "c", "z", "e"]
        db.load({id: {"group": 1, "v": n % 2} for n, id in enumerate(ids)})
        for sort in ([("group", False)], [("group", True)], [("v", False)], [("v", True), ("group", True)], []):
            db.check_find({}, sort=sort)

    def test_paging_with_skip_and_limit(self, people):
        sort = [("age", False)]
        whole = ref.find(PEOPLE, {}, sort)
        pages = []
        with AllRows() as rows:
            for skip in range(0, len(whole) + 1, 5):
                page = people.find_ids({}, sort=sort, skip=skip, limit=5)
                rows.check(f"Find(skip={skip}, limit=5)", page, whole[skip : skip + 5])
                pages += page
        check("the pages of 5, joined", pages, whole)
        for skip, limit in [(0, 1), (11, 1), (11, 5), (12, 1), (100, 0), (0, 0), (3, 0), (0, 12), (0, 13), (2**40, 1)]:
            people.check_find({}, sort=sort, skip=skip, limit=limit)
        people.check_find({"age": {"$gte": 25}}, sort=[("name", True)], skip=2, limit=3)

    def test_projection(self, people):
        with AllRows() as rows:
            for paths in (
                ["name"],
                ["name", "address.city"],
                ["address", "address.city"],
                ["address.city", "address"],
                ["tags.0"],
                ["nested.a.b.c", "nick"],
                ["missing"],
            ):
                want = {id: ref.project(PEOPLE[id], paths) for id in PEOPLE}
                got = people.find({}, projection=paths)
                rows.check(f"Find(projection={paths}) ids", [id for id, _ in got], sorted(PEOPLE))
                for id, body in got:
                    check_json(f"Find(projection={paths}) document {id!r}", body, want[id])

    def test_find_one(self, people):
        request = people.request({"age": {"$gte": 25}}, sort=[("age", True)])
        want = ref.find(PEOPLE, {"age": {"$gte": 25}}, [("age", True)])
        doc = people.query.FindOne(request)
        check("FindOne(age >= 25, sort age desc)", doc.id, want[0])
        check_json("FindOne's document", to_json(doc.body), PEOPLE[want[0]])
        request.skip = 2
        check("FindOne(..., skip=2)", people.query.FindOne(request).id, want[2])
        check("FindOne({name: 'cid'})", people.query.FindOne(people.request({"name": "cid"})).id, "d03")
        check("FindOne({}) without sort: the smallest id", people.query.FindOne(people.request({})).id, "d01")
        expect_status(
            "FindOne matching nothing", grpc.StatusCode.NOT_FOUND, lambda: people.query.FindOne(people.request({"name": "nobody"}))
        )

    def test_aggregate(self, db):
        docs = {
            "a1": {"kind": "x", "n": 1},
            "a2": {"kind": "x", "n": 2},  # avg 1.5: not an integer division
            "a3": {"kind": "y", "n": 3},
            "a4": {"kind": "y", "n": "4"},  # not a number: left out of sum and avg
            "a5": {"kind": "y"},
            "a6": {"kind": "z"},  # no number at all: sum 0, no avg
            "a7": {"n": 10},  # kind missing: a group of its own
            "a8": {"kind": None, "n": 7},  # kind null: not the missing group
            "a9": {"kind": 1, "n": 0.25},
            "b1": {"kind": "1", "n": 0.5},  # "1" is not 1
            "b2": {"kind": True, "n": 1e15},
            "b3": {"kind": {"sub": 1}, "n": -2.5},
            "b4": {"kind": {"sub": 1}, "n": 4.5},
            "b5": {"kind": "x", "n": True},  # true is not a number
            "b6": {"kind": "x", "n": {"v": 1}, "deep": {"k": "q"}},
        }
        db.load(docs)
        with AllRows() as rows:
            for function, name in [
                (pb.AggregateRequest.COUNT, "count"),
                (pb.AggregateRequest.SUM, "sum"),
                (pb.AggregateRequest.AVG, "avg"),
            ]:
                field = "" if name == "count" else "n"
                for filter_, group_by in [({}, "kind"), ({"n": {"$gte": 1}}, "kind"), ({}, "deep.k"), ({"kind": "nobody"}, "kind")]:
                    got = db.aggregate(filter_, group_by, function, field)
                    rows.check(
                        f"Aggregate {name}({field}) of {filter_} by {group_by!r}", got, ref.aggregate(docs, filter_, group_by, name, field)
                    )

    @requires.limit("max_batch_size")
    def test_whole_answers_over_thousands_of_documents(self, db, capabilities):
        """5,000 documents and 2,500 groups: more than any plausible page or cap (100, 1,000,
        4,096), so a Find without a limit, or an Aggregate, answering one page as the whole fails."""
        n = 5000
        docs = {f"d{i:05}": {"n": i, "g": i % 2500, "odd": i % 2 == 1} for i in range(n)}
        db.load_many(docs, min(1000, capabilities.limit("max_batch_size")))
        got = db.find_ids({})
        check("Find({}) without a limit: how many", len(got), n)
        check("Find({}) without a limit: ids in order", got, sorted(db.inserted))
        odd, sort = {"odd": True}, [("n", True)]
        check("Find(odd) sorted by n descending, no limit", db.find_ids(odd, sort=sort), ref.find(db.inserted, odd, sort))
        big = {"n": {"$gte": 100}}
        check("Find(n >= 100) skip 4000, no limit", db.find_ids(big, skip=4000), ref.find(db.inserted, big, skip=4000))
        check("Find({}) limit 4500", db.find_ids({}, limit=4500), sorted(db.inserted)[:4500])
        with AllRows() as rows:
            for function, name, field in [(pb.AggregateRequest.COUNT, "count", ""), (pb.AggregateRequest.SUM, "sum", "n")]:
                got = db.aggregate({}, "g", function, field)
                rows.check(f"Aggregate {name} by g: how many groups", len(got), 2500)
                rows.check(f"Aggregate {name}({field}) by g", got, ref.aggregate(db.inserted, {}, "g", name, field))
        check("Aggregate avg(n) of odd by odd", db.aggregate({"odd": True}, "odd", pb.AggregateRequest.AVG, "n"), {"true": 2500.0})

    def test_queries_see_every_write(self, db):
        """The same Find, FindOne and Aggregate after each write: an answer cached by the plugin
        and left stale by an Insert, Update (replace or merge) or Delete fails."""
        db.load({"a": {"k": 1, "n": 1}, "b": {"k": 2, "n": 2}})
        writes = [
            ("Insert c", lambda: db.insert({"k": 1, "n": 3}, id="c"), ("c", {"k": 1, "n": 3})),
            ("Update (replace) a", lambda: db.update("a", {"k": 2, "n": 4}), ("a", {"k": 2, "n": 4})),
            ("Update (merge) b", lambda: db.update("b", {"k": 1}, merge=True), ("b", {"k": 1, "n": 2})),
            ("Update (merge) c removing k", lambda: db.update("c", {"k": None}, merge=True), ("c", {"n": 3})),
            ("Delete a", lambda: db.delete("a"), ("a", None)),
            ("Insert a again", lambda: db.insert({"k": 1, "n": 5}, id="a"), ("a", {"k": 1, "n": 5})),
        ]

        db.check_reads_after(writes)

    def test_malformed_filters_are_invalid_argument(self, people):
        for filter_ in MALFORMED:
            expect_status(f"Find({filter_})", grpc.StatusCode.INVALID_ARGUMENT, lambda: people.find(filter_))
        bad = [
            ("negative skip", people.request({}, skip=-1)),
            ("negative limit", people.request({}, limit=-1)),
            ("an empty sort path", people.request({}, sort=[("", False)])),
            ("a sort path with an empty key", people.request({}, sort=[("a..b", False)])),
            ("a projection path ending in '.'", people.request({}, projection=["a."])),
        ]
        for what, request in bad:
            expect_status(f"Find with {what}", grpc.StatusCode.INVALID_ARGUMENT, lambda: people.query.Find(request))
        expect_status(
            "FindOne with a malformed filter",
            grpc.StatusCode.INVALID_ARGUMENT,
            lambda: people.query.FindOne(people.request({"a": {"$foo": 1}})),
        )
        aggregate = pb.AggregateRequest
        bad_aggregates = [
            ("an empty group_by", dict(group_by="", function=aggregate.COUNT)),
            ("SUM with an empty field", dict(group_by="name", function=aggregate.SUM)),
            ("AVG with an invalid field", dict(group_by="name", function=aggregate.AVG, field="a..b")),
            ("an unknown function", dict(group_by="name", function=99, field="n")),
            ("a malformed filter", dict(group_by="name", function=aggregate.COUNT, filter=body_struct({"$or": []}))),
        ]
        for what, fields in bad_aggregates:
            request = aggregate(namespace=people.ns, collection="c", **fields)
            expect_status(f"Aggregate with {what}", grpc.StatusCode.INVALID_ARGUMENT, lambda: people.query.Aggregate(request))
        check("Find({}) after the refused calls", people.find_ids({}), sorted(PEOPLE))

    @requires.limit("max_sort_fields")
    @requires.limit("max_path_segments")
    def test_sorts_and_paths_at_and_beyond_their_declared_limits(self, people, capabilities):
        """At the declared limits a Find is answered; one more sort field, or one more key in
        a path (sort, projection, filter), is INVALID_ARGUMENT, never an engine's error (a
        PostgreSQL sort of 1,000 paths answered UNAVAILABLE, a 5,000-key path INTERNAL)."""
        sorts, depth = capabilities.limit("max_sort_fields"), capabilities.limit("max_path_segments")
        deep = ".".join(["age"] + ["x"] * (depth - 1))
        want = people.find_ids({}, sort=[("age", False)])
        check(f"Find sorted by {sorts} fields (the limit)", people.find_ids({}, sort=[("age", False)] * sorts), want)
        check(f"Find sorted by a {depth}-key path (the limit)", len(people.find_ids({}, sort=[(deep, False)])), len(want))
        too_deep = deep + ".x"
        for what, kwargs, filter_ in (
            (f"{sorts + 1} sort fields", {"sort": [("age", False)] * (sorts + 1)}, {}),
            (f"a sort path of {depth + 1} keys", {"sort": [(too_deep, False)]}, {}),
            (f"a projection path of {depth + 1} keys", {"projection": [too_deep]}, {}),
            (f"a filter path of {depth + 1} keys", {}, {too_deep: 1}),
        ):
            expect_status(f"Find with {what}", grpc.StatusCode.INVALID_ARGUMENT, lambda: people.find(filter_, **kwargs))

    def test_collections_and_namespaces_are_separate(self, people):
        people.insert({"name": "ann"}, id="other", collection="c2")
        check("Find({name: ann}) in collection 'c'", people.find_ids({"name": "ann"}), ["d01", "d09"])
        request = people.request({"name": "ann"})
        request.collection = "c2"
        check("Find({name: ann}) in collection 'c2'", [d.id for d in people.query.Find(request).documents], ["other"])
        request.namespace = people.ns + "-other"
        check("Find({name: ann}) in another namespace", [d.id for d in people.query.Find(request).documents], [])

    def test_every_read_path_stays_in_its_namespace(self, plugin, people, related):
        """The same collection and ids in a second namespace, with other bodies: Find, FindOne and
        Aggregate of each namespace answer from its own documents only."""
        theirs = QueryOps(plugin, related("-other"))
        theirs.load({id: {"name": "ann", "age": 1, "theirs": True} for id in ("d01", "d02", "zz")})
        with AllRows() as rows:
            for side in (people, theirs):
                side.check_find({"name": "ann"}, sort=[("age", True)])
                side.check_find({}, skip=1, limit=2)
                want = ref.find(side.inserted, {"name": "ann"}, [("age", False)])
                first = side.query.FindOne(side.request({"name": "ann"}, sort=[("age", False)]))
                rows.check(f"FindOne(name=ann, sort age) in {side.ns!r}", first.id, want[0])
                for function, name, field in [(pb.AggregateRequest.COUNT, "count", ""), (pb.AggregateRequest.SUM, "sum", "age")]:
                    got = side.aggregate({}, "name", function, field)
                    rows.check(
                        f"Aggregate {name}({field}) by name in {side.ns!r}", got, ref.aggregate(side.inserted, {}, "name", name, field)
                    )
