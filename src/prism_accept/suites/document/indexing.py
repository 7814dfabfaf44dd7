"""document_indexing: CreateIndex (fields, unique), DropIndex, ListIndexes; a unique index
refuses duplicates (concurrent ones too), and queries answer the same with and without indexes."""

from __future__ import annotations

import grpc
import pytest

from prism.document.v1 import document_pb2 as pb
from prism.document.v1 import document_pb2_grpc as pb_grpc
from prism_accept.suites.base import InterfaceSuite, check, expect_status
from prism_accept.suites.document import reference as ref
from prism_accept.suites.document.basic import check_json
from prism_accept.suites.document.query import FILTERS, INSERT_ORDER, PEOPLE, SORTS, QueryOps
from prism_accept.suites.requirements import requires


class IndexOps(QueryOps):
    def __init__(self, plugin, ns: str):
        super().__init__(plugin, ns)
        self.indexing = pb_grpc.DocumentIndexingStub(plugin.channel)

    def create(self, name: str, *fields: str, unique: bool = False, collection: str | None = None) -> None:
        index = pb.Index(name=name, fields=fields, unique=unique)
        self.indexing.CreateIndex(
            pb.CreateIndexRequest(namespace=self.ns, collection=self.collection if collection is None else collection, index=index)
        )

    def drop(self, name: str) -> None:
        self.indexing.DropIndex(pb.DropIndexRequest(namespace=self.ns, collection=self.collection, name=name))

    def list(self, collection: str | None = None) -> list[tuple[str, list[str], bool]]:
        request = pb.ListIndexesRequest(namespace=self.ns, collection=self.collection if collection is None else collection)
        return [(i.name, list(i.fields), i.unique) for i in self.indexing.ListIndexes(request).indexes]


@requires.interface("document_basic")  # documents are written with Insert and Update
class DocumentIndexingTests(InterfaceSuite):
    interface = "document_indexing"

    @pytest.fixture
    def db(self, plugin, namespace):
        return IndexOps(plugin, namespace)

    def test_list_reflects_create_and_drop(self, db):
        check("ListIndexes of a collection without indexes", db.list(), [])
        db.create("by_age", "age")
        db.create("by_city_name", "address.city", "name", unique=True)
        db.create("a_first", "z")
        check(
            "ListIndexes after 3 CreateIndex",
            db.list(),
            [("a_first", ["z"], False), ("by_age", ["age"], False), ("by_city_name", ["address.city", "name"], True)],
        )
        db.drop("by_age")
        check(
            "ListIndexes after DropIndex('by_age')",
            db.list(),
            [("a_first", ["z"], False), ("by_city_name", ["address.city", "name"], True)],
        )
        expect_status("DropIndex('by_age') again", grpc.StatusCode.NOT_FOUND, lambda: db.drop("by_age"))
        expect_status("DropIndex of a never-created index", grpc.StatusCode.NOT_FOUND, lambda: db.drop("nope"))
        check("ListIndexes of another collection", db.list(collection="c2"), [])
        db.create("by_age", "age", collection="c2")
        check("ListIndexes of 'c2'", db.list(collection="c2"), [("by_age", ["age"], False)])
        db.create("by_age", "name")
        check("ListIndexes after re-creating 'by_age'", db.list()[1], ("by_age", ["name"], False))

    def test_existing_name_is_already_exists(self, db):
        db.create("i", "a")
        expect_status("CreateIndex of an existing name", grpc.StatusCode.ALREADY_EXISTS, lambda: db.create("i", "b", unique=True))
        check("ListIndexes after the refused CreateIndex", db.list(), [("i", ["a"], False)])

    def test_unique_index_refuses_a_duplicate_insert(self, db):
        db.create("email", "email", unique=True)
        db.insert({"email": "a@x", "n": 1}, id="d1")
        expect_status("Insert of a duplicate email", grpc.StatusCode.ALREADY_EXISTS, lambda: db.insert({"email": "a@x", "n": 2}, id="d2"))
        expect_status("Get of the refused document", grpc.StatusCode.NOT_FOUND, lambda: db.get("d2"))
        expect_status("Insert (no id) of a duplicate email", grpc.StatusCode.ALREADY_EXISTS, lambda: db.insert({"email": "a@x"}))
        for id, body in [("d3", {"email": "A@x"}), ("d4", {"email": ["a@x"]}), ("d5", {"n": 1}), ("d6", {"n": 2}), ("d7", {"email": None})]:
            db.insert(body, id=id)  # other values, and missing fields, are not duplicates
        expect_status("Insert of a second null email", grpc.StatusCode.ALREADY_EXISTS, lambda: db.insert({"email": None}, id="d8"))
        db.insert({"email": 1}, id="d9")
        db.insert({"email": "1"}, id="d10")
        db.insert({"email": True}, id="d11")
        expect_status("Insert of email 1.0 next to 1", grpc.StatusCode.ALREADY_EXISTS, lambda: db.insert({"email": 1.0}, id="d12"))
        check("Find({email: a@x})", db.find_ids({"email": "a@x"}), ["d1"])

    def test_unique_index_on_nested_and_compound_fields(self, db):
        db.create("user", "user.id", "user.org", unique=True)
        db.insert({"user": {"id": 1, "org": "a"}}, id="d1")
        db.insert({"user": {"id": 1, "org": "b"}}, id="d2")
        db.insert({"user": {"id": 2, "org": "a"}}, id="d3")
        db.insert({"user": {"id": 1}}, id="d4")  # org missing: unconstrained
        db.insert({"user": {"id": 1}}, id="d5")
        db.insert({"user": {"id": {"x": 1}, "org": "a"}}, id="d6")
        expect_status(
            "Insert of a duplicate (user.id, user.org)",
            grpc.StatusCode.ALREADY_EXISTS,
            lambda: db.insert({"user": {"org": "b", "id": 1}}, id="d7"),
        )
        expect_status(
            "Insert of a duplicate object value",
            grpc.StatusCode.ALREADY_EXISTS,
            lambda: db.insert({"user": {"id": {"x": 1}, "org": "a"}}, id="d8"),
        )

    def test_unique_index_refuses_a_duplicate_update(self, db):
        db.create("email", "email", unique=True)
        db.insert({"email": "a", "n": 1}, id="d1")
        db.insert({"email": "b", "n": 2}, id="d2")
        expect_status("Update (replace) to a duplicate email", grpc.StatusCode.ALREADY_EXISTS, lambda: db.update("d2", {"email": "a"}))
        expect_status(
            "Update (merge) to a duplicate email", grpc.StatusCode.ALREADY_EXISTS, lambda: db.update("d2", {"email": "a"}, merge=True)
        )
        check_json("Get after the refused Updates", db.get("d2"), {"email": "b", "n": 2})
        check_json("Update (merge) keeping its own email", db.update("d1", {"n": 5}, merge=True), {"email": "a", "n": 5})
        check_json("Update (replace) keeping its own email", db.update("d1", {"email": "a"}), {"email": "a"})
        db.update("d2", {"email": None}, merge=True)  # removes d2's email, freeing "b"
        check("Insert of email 'b' once d2 has none", db.insert({"email": "b"}, id="d3"), "d3")

    def test_concurrent_duplicates_are_refused(self, db):
        db.create("k", "k", unique=True)
        codes = db.insert_concurrently([(f"w{i}", {"k": "same", "writer": i}) for i in range(12)])
        check("12 concurrent Inserts of k='same'", sorted(codes), sorted(["OK"] + ["ALREADY_EXISTS"] * 11))
        check("documents with k='same'", len(db.find_ids({"k": "same"})), 1)

    def test_unique_index_over_existing_duplicates_is_refused(self, db):
        db.insert({"k": 1}, id="d1")
        db.insert({"k": 1.0}, id="d2")
        expect_status("CreateIndex unique over duplicate values", grpc.StatusCode.ALREADY_EXISTS, lambda: db.create("k", "k", unique=True))
        check("ListIndexes after the refused CreateIndex", db.list(), [])
        db.insert({"k": 1}, id="d3")  # nothing was left constraining k
        db.create("k", "k")  # not unique: fine over duplicates
        check("ListIndexes", db.list(), [("k", ["k"], False)])

    def test_a_dropped_unique_index_no_longer_refuses(self, db):
        db.create("k", "k", unique=True)
        db.insert({"k": 1}, id="d1")
        expect_status("Insert of a duplicate", grpc.StatusCode.ALREADY_EXISTS, lambda: db.insert({"k": 1}, id="d2"))
        db.drop("k")
        check("Insert of the duplicate after DropIndex", db.insert({"k": 1}, id="d2"), "d2")
        db.insert({"k": 2}, id="other", collection="c2")
        db.create("k", "k", unique=True, collection="c2")
        check("Insert of k=1 in 'c2' (the index is per collection)", db.insert({"k": 1}, id="d3", collection="c2"), "d3")

    @requires.interface("document_query")
    def test_drop_namespace_removes_indexes_and_documents(self, plugin, db):
        scratch = IndexOps(plugin, plugin.track(db.ns + "-dropped"))
        scratch.create("k", "k", unique=True)
        scratch.create("n", "n")
        scratch.insert({"k": 1, "n": 1}, id="d1")
        plugin.drop_namespace(scratch.ns)
        check("ListIndexes after DropNamespace", scratch.list(), [])
        check("Find({}) after DropNamespace", scratch.find_ids({}), [])
        scratch.insert({"k": 1}, id="d1")
        check("Insert of k=1 twice after DropNamespace (no unique index left)", scratch.insert({"k": 1}, id="d2"), "d2")
        scratch.create("k", "k")
        check("ListIndexes after re-creating 'k'", scratch.list(), [("k", ["k"], False)])
        plugin.drop_namespace(scratch.ns)

    @requires.interface("document_query")
    def test_queries_answer_the_same_with_indexes(self, db):
        db.load(PEOPLE, INSERT_ORDER)
        queries = [(f, []) for group in ("eq", "ordering", "paths", "in") for f in FILTERS[group]] + [({}, s) for s in SORTS]
        before = [db.find_ids(f, sort=s) for f, s in queries]
        for n, (f, s) in enumerate(queries):
            check(f"Find({f}, sort={s}) without indexes", before[n], ref.find(PEOPLE, f, s))
        db.create("age", "age")
        db.create("city", "address.city", "name")
        db.create("name", "name")
        duplicate = lambda: db.create("score", "score", unique=True)  # noqa: E731
        expect_status("CreateIndex unique over scores 2 and 2.0", grpc.StatusCode.ALREADY_EXISTS, duplicate)
        for n, (f, s) in enumerate(queries):
            check(f"Find({f}, sort={s}) with indexes", db.find_ids(f, sort=s), before[n])

    def test_invalid_arguments(self, db):
        bad = [
            ("no fields", pb.Index(name="i")),
            ("a repeated field", pb.Index(name="i", fields=["a", "a"])),
            ("an empty field", pb.Index(name="i", fields=[""])),
            ("a field with an empty key", pb.Index(name="i", fields=["a..b"])),
            ("an empty name", pb.Index(name="", fields=["a"])),
            ("9 fields", pb.Index(name="i", fields=[f"f{n}" for n in range(9)])),
        ]
        for what, index in bad:
            request = pb.CreateIndexRequest(namespace=db.ns, collection="c", index=index)
            expect_status(f"CreateIndex with {what}", grpc.StatusCode.INVALID_ARGUMENT, lambda: db.indexing.CreateIndex(request))
        expect_status(
            "CreateIndex without an index",
            grpc.StatusCode.INVALID_ARGUMENT,
            lambda: db.indexing.CreateIndex(pb.CreateIndexRequest(namespace=db.ns, collection="c")),
        )
        expect_status("DropIndex with an empty name", grpc.StatusCode.INVALID_ARGUMENT, lambda: db.drop(""))
        check("ListIndexes after the refused calls", db.list(), [])
