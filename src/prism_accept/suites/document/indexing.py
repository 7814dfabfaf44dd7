"""document_indexing: CreateIndex (fields, unique), DropIndex, ListIndexes; a unique index
refuses duplicates (concurrent ones too), and queries answer the same with and without indexes."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest

from prism.document.v1 import document_pb2 as pb
from prism.document.v1 import document_pb2_grpc as pb_grpc
from prism_accept.suites.base import InterfaceSuite, check, expect_status
from prism_accept.suites.document import reference as ref
from prism_accept.suites.document.basic import check_json, succeeds
from prism_accept.suites.document.query import FILTERS, INSERT_ORDER, PEOPLE, SORTS, QueryOps
from prism_accept.suites.requirements import requires
from prism_accept.suites.rows import AllRows


class IndexOps(QueryOps):
    def __init__(self, plugin, ns: str):
        super().__init__(plugin, ns)
        self.indexing = pb_grpc.DocumentIndexingStub(plugin.channel)

    def create(self, name: str, *fields: str, unique: bool = False, collection: str | None = None) -> None:
        index = pb.Index(name=name, fields=fields, unique=unique)
        self.indexing.CreateIndex(
            pb.CreateIndexRequest(namespace=self.ns, collection=self.collection if collection is None else collection, index=index)
        )

    def drop(self, name: str, collection: str | None = None) -> None:
        collection = self.collection if collection is None else collection
        self.indexing.DropIndex(pb.DropIndexRequest(namespace=self.ns, collection=collection, name=name))

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

    @requires.interface("document_query")  # Find sees documents of assigned ids
    def test_unique_index_refuses_a_batch_whole(self, db):
        """InsertMany breaking a unique index, against a stored document or within the batch:
        ALREADY_EXISTS and none of the batch written; missing fields stay unconstrained in a batch."""
        db.create("email", "email", unique=True)
        db.insert({"email": "a"}, id="d1")
        refused = {
            "against a stored document": [("b1", {"email": "b"}), ("b2", {"email": "a"}), ("b3", {"email": "c"})],
            "within the batch": [("w1", {"email": "c"}), ("w2", {"email": "d"}), ("w3", {"email": "c"})],
            "within the batch, 1 and 1.0": [("n1", {"email": 1}), ("n2", {"email": 1.0})],
            "within the batch, two nulls": [("z1", {"email": None}), ("z2", {"n": 1}), ("z3", {"email": None})],
            "within the batch, assigned ids": [("", {"email": "e"}), ("", {"email": "e"}), ("e3", {"email": "f"})],
        }
        for what, batch in refused.items():
            expect_status(f"InsertMany breaking the index {what}", grpc.StatusCode.ALREADY_EXISTS, lambda: db.insert_many(batch))
            db.check_none_inserted(f"InsertMany refused {what}", [id for id, _ in batch if id])
        check("Find() after the refused batches", db.find_ids({}), ["d1"])
        batch = [("ok1", {"email": "c"}), ("ok2", {"n": 1}), ("ok3", {"n": 2}), ("ok4", {"email": None}), ("ok5", {"email": "A"})]
        check("InsertMany of distinct and missing emails", succeeds("InsertMany", lambda: db.insert_many(batch)), [i for i, _ in batch])
        expect_status("Insert of an email the batch wrote", grpc.StatusCode.ALREADY_EXISTS, lambda: db.insert({"email": "c"}, id="x"))

    @requires.interface("document_query")
    def test_concurrent_batches_of_one_unique_value(self, db):
        """8 InsertMany at once, each holding its own values and one shared value: exactly one
        succeeds, and the refused ones write none of their documents."""
        db.create("k", "k", unique=True)
        start = threading.Barrier(8)

        def one(w: int) -> str:
            start.wait(timeout=5)
            try:
                db.insert_many([(f"w{w}-{i}", {"k": f"own-{w}-{i}"}) for i in range(3)] + [(f"w{w}-shared", {"k": "shared"})])
                return "OK"
            except grpc.RpcError as e:
                return e.code().name

        with ThreadPoolExecutor(8) as pool:
            codes = list(pool.map(one, range(8)))
        check("8 concurrent InsertMany sharing k='shared'", sorted(codes), sorted(["OK"] + ["ALREADY_EXISTS"] * 7))
        winner = codes.index("OK") if "OK" in codes else -1
        check("documents after them", db.find_ids({}), sorted([f"w{winner}-{i}" for i in range(3)] + [f"w{winner}-shared"]))

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

    def test_unique_index_over_time(self, db):
        """A value is taken exactly while a document holds it: freed by Delete, by an Update
        (replace or merge) away from it, or by the field's removal; taken again by an Update to it."""
        db.create("k", "k", unique=True)
        db.insert({"k": 1}, id="d1")
        check("Delete of the holder of k=1", db.delete("d1"), True)
        db.insert_ok("Insert of k=1 after its holder's Delete", {"k": 1}, "d2")
        expect_status("Insert of k=1 again", grpc.StatusCode.ALREADY_EXISTS, lambda: db.insert({"k": 1}, id="d1"))
        db.insert_ok("Insert of the deleted id with k=2", {"k": 2}, "d1")
        db.update("d2", {"k": 3})  # replace: frees 1
        db.insert_ok("Insert of k=1 after an Update (replace) away from it", {"k": 1, "v": 1}, "d3")
        db.update("d3", {"k": 4}, merge=True)  # merge: frees 1
        db.insert_ok("Insert of k=1 after an Update (merge) away from it", {"k": 1}, "d4")
        expect_status("Update (merge) of d1 to k=3", grpc.StatusCode.ALREADY_EXISTS, lambda: db.update("d1", {"k": 3}, merge=True))
        db.update("d2", {"k": None}, merge=True)  # removing the field frees 3
        what = "Update (merge) of d1 to k=3 once d2 lost its k"
        check_json(what, succeeds(what, lambda: db.update("d1", {"k": 3}, merge=True)), {"k": 3})
        expect_status("Insert of k=3, now d1's", grpc.StatusCode.ALREADY_EXISTS, lambda: db.insert({"k": 3}, id="d5"))
        db.insert_ok("Insert of k=2, freed by d1's Update", {"k": 2}, "d5")
        db.update("d2", {"k": 5})  # d2 takes a value again, through a replace
        expect_status("Insert of k=5 after an Update (replace) to it", grpc.StatusCode.ALREADY_EXISTS, lambda: db.insert({"k": 5}, id="d6"))
        want = {"d1": 3, "d2": 5, "d3": 4, "d4": 1, "d5": 2}
        for id, k in want.items():
            check_json(f"Get({id!r})", db.get(id).get("k"), k)

    def test_concurrent_updates_to_one_unique_value(self, db):
        """8 documents updated at once to one value of a unique index: exactly one succeeds."""
        db.create("k", "k", unique=True)
        for i in range(8):
            db.insert({"k": i, "w": i}, id=f"w{i}")
        start = threading.Barrier(8)

        def one(i: int) -> str:
            start.wait(timeout=5)
            try:
                db.update(f"w{i}", {"k": "same"}, merge=i % 2 == 0)
                return "OK"
            except grpc.RpcError as e:
                return e.code().name

        with ThreadPoolExecutor(8) as pool:
            codes = list(pool.map(one, range(8)))
        check("8 concurrent Updates to k='same'", sorted(codes), sorted(["OK"] + ["ALREADY_EXISTS"] * 7))
        for i, code in enumerate(codes):
            want = {"k": i, "w": i} if code != "OK" else {"k": "same", "w": i} if i % 2 == 0 else {"k": "same"}
            check_json(f"Get('w{i}') after its Update answered {code}", db.get(f"w{i}"), want)

    def test_indexes_stay_in_their_namespace(self, plugin, db, related):
        """One collection and index name in two namespaces: CreateIndex, its unique check,
        DropIndex and ListIndexes of one namespace never see or touch the other's."""
        theirs = IndexOps(plugin, related("-other"))
        db.create("k", "k", unique=True)
        for id in ("d1", "d2"):
            theirs.insert({"k": 1}, id=id)  # no unique index in their namespace
        db.insert_ok("Insert of k=1 next to another namespace's two", {"k": 1}, "d1")
        expect_status("Insert of a duplicate k=1", grpc.StatusCode.ALREADY_EXISTS, lambda: db.insert({"k": 1}, id="d2"))
        expect_status(
            "CreateIndex unique over their duplicates", grpc.StatusCode.ALREADY_EXISTS, lambda: theirs.create("k", "k", unique=True)
        )
        check("ListIndexes after their refused CreateIndex", (db.list(), theirs.list()), ([("k", ["k"], True)], []))
        theirs.create("k", "other")
        check("ListIndexes after their CreateIndex 'k'", (db.list(), theirs.list()), ([("k", ["k"], True)], [("k", ["other"], False)]))
        theirs.update("d1", {"k": 2})
        theirs.delete("d2")
        succeeds("their CreateIndex unique once their duplicate is gone", lambda: theirs.create("u", "k", unique=True))
        theirs.insert({"k": 1}, id="d3")  # their k=1 is free: d1 now holds 2
        expect_status("their Insert of k=2", grpc.StatusCode.ALREADY_EXISTS, lambda: theirs.insert({"k": 2}, id="d4"))
        db.insert_ok("Insert of k=2 (only their namespace holds it)", {"k": 2}, "d4")
        what = "their Update (replace) to their own k=1"
        check_json(what, succeeds(what, lambda: theirs.update("d3", {"k": 1, "v": 1})), {"k": 1, "v": 1})
        theirs.drop("k")
        expect_status("Insert of a duplicate after their DropIndex", grpc.StatusCode.ALREADY_EXISTS, lambda: db.insert({"k": 1}, id="d5"))
        expect_status("their DropIndex 'k' again", grpc.StatusCode.NOT_FOUND, lambda: theirs.drop("k"))
        db.drop("k")
        check("ListIndexes after both DropIndex 'k'", (db.list(), theirs.list()), ([], [("u", ["k"], True)]))
        expect_status("their Insert of k=1 after our DropIndex", grpc.StatusCode.ALREADY_EXISTS, lambda: theirs.insert({"k": 1}, id="d5"))
        db.insert_ok("Insert of k=1 after our DropIndex", {"k": 1}, "d5")

    def test_index_and_collection_names_are_literal(self, plugin, db, related):
        """Names holding `_ % * \\` next to the names those would match as a LIKE or glob
        pattern: DropIndex, ListIndexes, unique checks and DropNamespace touch only the one named."""
        names = ["i_1", "ix1", "i%", "i%%", "i*", "i\\", "i\\_1", "i.1", "I_1"]
        for n, name in enumerate(names):
            db.create(name, f"f{n}", unique=True)
        for collection in ("c_1", "cx1", "c%"):
            db.create("i_1", "k", unique=True, collection=collection)
        listed = [(name, [f"f{n}"], True) for n, name in sorted(enumerate(names), key=lambda x: x[1])]
        check("ListIndexes", db.list(), listed)
        with AllRows() as rows:
            for name in ("i_1", "i%", "i*", "i\\"):
                db.drop(name)
                listed = [entry for entry in listed if entry[0] != name]
                rows.check(f"ListIndexes after DropIndex({name!r})", db.list(), listed)
        db.insert({"f1": 1}, id="a")
        duplicate = lambda: db.insert({"f1": 1}, id="b")  # noqa: E731
        expect_status("Insert breaking 'ix1' (left after DropIndex 'i_1')", grpc.StatusCode.ALREADY_EXISTS, duplicate)
        db.insert({"f0": 1}, id="b")
        db.insert_ok("Insert of f0=1 twice after DropIndex('i_1')", {"f0": 1}, "c")
        expect_status("DropIndex('i_1') again", grpc.StatusCode.NOT_FOUND, lambda: db.drop("i_1"))
        expect_status("DropIndex('i_') (a prefix)", grpc.StatusCode.NOT_FOUND, lambda: db.drop("i_"))
        with AllRows() as rows:
            for collection in ("c_1", "cx1", "c%"):
                rows.check(f"ListIndexes of {collection!r}", db.list(collection=collection), [("i_1", ["k"], True)])
        db.drop("i_1", collection="c_1")
        check("ListIndexes of 'cx1' after DropIndex in 'c_1'", db.list(collection="cx1"), [("i_1", ["k"], True)])
        db.insert({"k": 1}, id="a", collection="cx1")
        duplicate = lambda: db.insert({"k": 1}, id="b", collection="cx1")  # noqa: E731
        expect_status("Insert breaking 'i_1' of 'cx1'", grpc.StatusCode.ALREADY_EXISTS, duplicate)
        pattern, look_alike = IndexOps(plugin, related("-n_1")), IndexOps(plugin, related("-nx1"))
        for side in (pattern, look_alike):
            side.create("i_1", "k", unique=True)
            side.insert({"k": 1}, id="a")
        plugin.drop_namespace(pattern.ns)
        check("ListIndexes of '-nx1' after DropNamespace('-n_1')", look_alike.list(), [("i_1", ["k"], True)])
        expect_status("Insert breaking '-nx1''s index", grpc.StatusCode.ALREADY_EXISTS, lambda: look_alike.insert({"k": 1}, id="b"))
        check("ListIndexes of '-n_1' after its DropNamespace", pattern.list(), [])

    @requires.interface("document_query")
    def test_queries_with_indexes_see_every_write(self, db):
        """Find, FindOne and Aggregate over indexed fields after each write: an index (or a view
        over it) that an Insert, Update or Delete left stale answers wrong."""
        db.create("k", "k")
        db.create("kn", "k", "n")
        db.create("u", "u", unique=True)
        db.load({"a": {"k": 1, "n": 1, "u": "a"}, "b": {"k": 2, "n": 2, "u": "b"}})
        writes = [
            ("Insert c", lambda: db.insert({"k": 1, "n": 3, "u": "c"}, id="c"), ("c", {"k": 1, "n": 3, "u": "c"})),
            ("Update (replace) a", lambda: db.update("a", {"k": 2, "n": 4, "u": "x"}), ("a", {"k": 2, "n": 4, "u": "x"})),
            ("Update (merge) b", lambda: db.update("b", {"k": 1, "u": "a"}, merge=True), ("b", {"k": 1, "n": 2, "u": "a"})),
            ("Update (merge) c removing k", lambda: db.update("c", {"k": None}, merge=True), ("c", {"n": 3, "u": "c"})),
            ("Delete a", lambda: db.delete("a"), ("a", None)),
            ("Insert a again", lambda: db.insert({"k": 1, "n": 5, "u": "x"}, id="a"), ("a", {"k": 1, "n": 5, "u": "x"})),
        ]
        db.check_reads_after(writes)

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
        with AllRows() as rows:
            for n, (f, s) in enumerate(queries):
                rows.check(f"Find({f}, sort={s}) without indexes", before[n], ref.find(PEOPLE, f, s))
        db.create("age", "age")
        db.create("city", "address.city", "name")
        db.create("name", "name")
        duplicate = lambda: db.create("score", "score", unique=True)  # noqa: E731
        expect_status("CreateIndex unique over scores 2 and 2.0", grpc.StatusCode.ALREADY_EXISTS, duplicate)
        with AllRows() as rows:
            for n, (f, s) in enumerate(queries):
                rows.check(f"Find({f}, sort={s}) with indexes", db.find_ids(f, sort=s), before[n])

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
