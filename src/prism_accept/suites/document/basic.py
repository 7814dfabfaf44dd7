"""document_basic: Insert, Get, Update (replace, RFC 7396 merge patch), Delete."""

from __future__ import annotations

import math
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

import grpc
import pytest
from google.protobuf import json_format, struct_pb2

from prism.document.v1 import document_pb2 as pb
from prism.document.v1 import document_pb2_grpc as pb_grpc
from prism_accept.suites.base import InterfaceSuite, check, expect_status, in_flight
from prism_accept.suites.document import reference as ref
from prism_accept.suites.requirements import requires
from prism_accept.suites.rows import AllRows

# Every JSON type, nested; numbers at the edges of doubles; text from several scripts.
NESTED = {
    "int": 42,
    "zero": 0,
    "negative": -17,
    "max_safe": 2**53,
    "fraction": 0.1,
    "small": 2.5e-300,
    "large": 1.7976931348623157e308,
    "exponent": -6.02e23,
    "text": "héllo wörld",
    "scripts": '日本語 Ελληνικά שלום عربي 😀 e\u0301 \u2028 \t\n"\\/',
    "empty_text": "",
    "true": True,
    "false": False,
    "null": None,
    "array": [1, "two", 3.5, None, True, [False, []], {"x": {"y": "z"}}],
    "empty_array": [],
    "empty_object": {},
    "object": {"a": {"b": {"c": [1, {"d": None}]}}, "n": 1},
    "key with spaces": 1,
    "dotted.key": 2,
    "$dollar": 3,
    "ключ": "значение",
}


def to_json(struct) -> dict:
    return json_format.MessageToDict(struct)


class DocOps:
    """The document_basic calls, with bodies as plain JSON values."""

    def __init__(self, stub, ns: str, collection: str = "c"):
        self.stub = stub
        self.ns = ns
        self.collection = collection

    def insert(self, body: dict, id: str = "", collection: str | None = None) -> str:
        doc = pb.Document(id=id, body=body_struct(body))
        return self.stub.Insert(
            pb.InsertRequest(namespace=self.ns, collection=self.collection if collection is None else collection, document=doc)
        ).id

    def insert_many(self, docs: list[tuple[str, dict]], collection: str | None = None) -> list[str]:
        """InsertMany of (id, body), "" for an id the backend assigns: the ids answered."""
        request = pb.InsertManyRequest(
            namespace=self.ns,
            collection=self.collection if collection is None else collection,
            documents=[pb.Document(id=id, body=body_struct(body)) for id, body in docs],
        )
        return list(self.stub.InsertMany(request).ids)

    def get_many(self, ids: list[str], window: int = 32) -> dict[str, dict | None]:
        """Get of each id with at most `window` outstanding: the body, None for NOT_FOUND."""

        def body(future) -> dict | None:
            try:
                doc = future.result()
            except grpc.RpcError as e:
                if e.code() != grpc.StatusCode.NOT_FOUND:
                    raise
                return None
            return to_json(doc.body)

        requests = (pb.GetRequest(namespace=self.ns, collection=self.collection, id=id) for id in ids)
        return dict(zip(ids, in_flight(self.stub.Get, requests, window, answer=body)))

    def check_none_inserted(self, after: str, ids: list[str]) -> None:
        """Every id NOT_FOUND: a refused batch wrote nothing."""
        got = self.get_many(ids)
        check(f"ids found after {after}", [id for id in ids if got[id] is not None], [])

    def insert_ok(self, operation: str, body: dict, id: str, collection: str | None = None) -> None:
        """An Insert the case needs to succeed, with its id."""
        check(operation, succeeds(operation, lambda: self.insert(body, id=id, collection=collection)), id)

    def insert_concurrently(self, docs: list[tuple[str, dict]]) -> list[str]:
        """Status code names of Inserts of (id, body) sent at once, from one thread each."""
        start = threading.Barrier(len(docs))

        def one(id: str, body: dict) -> str:
            start.wait(timeout=5)
            try:
                self.insert(body, id=id)
                return "OK"
            except grpc.RpcError as e:
                return e.code().name

        with ThreadPoolExecutor(len(docs)) as pool:
            return list(pool.map(lambda doc: one(*doc), docs))

    def get(self, id: str, collection: str | None = None) -> dict:
        doc = self.stub.Get(pb.GetRequest(namespace=self.ns, collection=self.collection if collection is None else collection, id=id))
        check(f"Get({id!r}).id", doc.id, id)
        return to_json(doc.body)

    def update(self, id: str, body: dict, merge: bool = False) -> dict:
        request = pb.UpdateRequest(namespace=self.ns, collection=self.collection, id=id, body=body_struct(body), merge=merge)
        return to_json(self.stub.Update(request).body)

    def delete(self, id: str) -> bool:
        return self.stub.Delete(pb.DeleteRequest(namespace=self.ns, collection=self.collection, id=id)).found


def body_struct(body: dict) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    struct.update(body)
    return struct


def succeeds(operation: str, call: Callable[[], Any]) -> Any:
    """call()'s answer; a status fails as operation, got, want (a write the case needs to succeed)."""
    try:
        return call()
    except grpc.RpcError as e:
        raise AssertionError(f"{operation}: got status {e.code().name} ({e.details()}), want OK") from None


def check_json(operation: str, got, want) -> None:
    """JSON equality that a bool/number or int/float confusion cannot pass (True == 1 in Python)."""
    check(operation, ref.text(got), ref.text(want))


class DocumentBasicTests(InterfaceSuite):
    interface = "document_basic"

    @pytest.fixture
    def docs(self, plugin, namespace):
        return DocOps(pb_grpc.DocumentBasicStub(plugin.channel), namespace)

    def test_nested_json_round_trips(self, docs):
        check("Insert with id 'd1'", docs.insert(NESTED, id="d1"), "d1")
        got = docs.get("d1")
        check_json("Get of a nested document", got, NESTED)
        with AllRows() as rows:
            for key in ("max_safe", "small", "large", "fraction"):
                rows.check(f"Get: number {key} exactly", got[key], float(NESTED[key]))
        check("Get: true stays a boolean", type(got["true"]), bool)
        check("Get: null stays null (not missing)", ("null" in got, got.get("null")), (True, None))

    def test_insert_without_id_assigns_distinct_ids(self, docs):
        bodies = [{"n": i} for i in range(3)]
        ids = [docs.insert(b) for b in bodies]
        check("Insert without id: ids are non-empty", [bool(i) for i in ids], [True] * 3)
        check("Insert without id: ids are distinct", len(set(ids)), 3)
        for id, body in zip(ids, bodies):
            check_json(f"Get({id!r})", docs.get(id), body)

    def test_duplicate_id_is_already_exists(self, docs):
        docs.insert({"v": 1}, id="d")
        expect_status("Insert of an existing id", grpc.StatusCode.ALREADY_EXISTS, lambda: docs.insert({"v": 2}, id="d"))
        check_json("Get after the refused Insert", docs.get("d"), {"v": 1})

    def test_concurrent_inserts_of_one_id(self, docs):
        codes = docs.insert_concurrently([("same", {"writer": i}) for i in range(8)])
        check("8 concurrent Inserts of id 'same'", sorted(codes), sorted(["OK"] + ["ALREADY_EXISTS"] * 7))
        winner = codes.index("OK") if "OK" in codes else -1
        check_json("Get('same')", docs.get("same"), {"writer": winner})

    def test_missing_document(self, docs):
        expect_status("Get of a missing id", grpc.StatusCode.NOT_FOUND, lambda: docs.get("missing"))
        expect_status("Update (replace) of a missing id", grpc.StatusCode.NOT_FOUND, lambda: docs.update("missing", {"a": 1}))
        expect_status("Update (merge) of a missing id", grpc.StatusCode.NOT_FOUND, lambda: docs.update("missing", {"a": 1}, merge=True))
        expect_status("Get after Updates of a missing id", grpc.StatusCode.NOT_FOUND, lambda: docs.get("missing"))
        check("Delete of a missing id", docs.delete("missing"), False)

    def test_replace_update(self, docs):
        docs.insert({"a": 1, "b": {"c": 2, "d": 3}, "e": [1, 2]}, id="d")
        new = {"b": {"c": 5}, "n": None}
        check_json("Update (replace) returns", docs.update("d", new), new)
        check_json("Get after Update (replace): old fields gone, null kept", docs.get("d"), new)

    def test_merge_patch_follows_rfc_7396(self, docs):
        # RFC 7396, section 3's example
        target = {
            "title": "Goodbye!",
            "author": {"givenName": "John", "familyName": "Doe"},
            "tags": ["example", "sample"],
            "content": "This will be unchanged",
        }
        patch = {"title": "Hello!", "phoneNumber": "+01-123-456-7890", "author": {"familyName": None}, "tags": ["example"]}
        want = {
            "title": "Hello!",
            "author": {"givenName": "John"},
            "tags": ["example"],
            "content": "This will be unchanged",
            "phoneNumber": "+01-123-456-7890",
        }
        check_json("the suite's reference merge", ref.merge_patch(target, patch), want)
        docs.insert(target, id="d")
        check_json("Update (merge) returns", docs.update("d", patch, merge=True), want)
        check_json("Get after Update (merge)", docs.get("d"), want)

    def test_merge_patch_nesting(self, docs):
        target = {"a": {"b": 1, "c": {"d": 2}}, "s": "x", "o": {"k": 1}, "arr": [{"x": 1}], "gone": 1}
        patches = [
            {"a": {"c": {"e": 3}}},  # merges two levels down, keeps siblings
            {"s": {"now": "object"}},  # a scalar replaced by an object
            {"o": 5},  # an object replaced by a scalar
            {"arr": [{"y": 2}]},  # arrays replaced whole, never merged
            {"gone": None, "absent": None},  # null removes; removing a missing field is fine
            {},  # an empty patch changes nothing
        ]
        docs.insert(target, id="d")
        want = target
        for patch in patches:
            want = ref.merge_patch(want, patch)
            check_json(f"Update (merge) {patch}", docs.update("d", patch, merge=True), want)
        check_json("Get after the merges", docs.get("d"), want)

    def test_merge_patch_corner_cases(self, docs):
        """RFC 7396 where implementations go wrong: nulls under keys the target lacks, nulls deep
        down, arrays (holding nulls and objects) replaced whole, objects and arrays swapping."""
        target = {"keep": 1, "o": {"a": {"b": 1, "c": 2}, "d": [1, 2]}, "arr": [{"x": 1, "y": 2}, 3], "s": "x", "l": [1]}
        patches = [
            {"new": {"x": None, "y": {"z": None}}},  # an object the target lacks: its nulls are dropped, not stored
            {"o": {"a": {"b": None}, "d": None}},  # nulls two levels down remove only those keys
            {"o": {"a": {"c": None}}},  # the last key of an object: the object stays, empty
            {"arr": [{"x": None}, None]},  # an array replaces whole, nulls inside it kept as values
            {"s": {"n": None, "m": 1}},  # a scalar replaced by an object: the patch's nulls dropped
            {"l": {"0": "zero"}},  # an array replaced by an object, never indexed
            {"o": ["now", "an", "array"]},  # an object replaced by an array
            {"keep": {}},  # a scalar replaced by an empty object
            {"missing": None, "o": None, "new": {"y": None}},
        ]
        docs.insert(target, id="d")
        want = target
        for patch in patches:
            want = ref.merge_patch(want, patch)
            check_json(f"Update (merge) {patch}", docs.update("d", patch, merge=True), want)
            check_json(f"Get after Update (merge) {patch}", docs.get("d"), want)
        check_json(
            "the suite's reference after the patches",
            want,
            {"keep": {}, "new": {}, "arr": [{"x": None}, None], "s": {"m": 1}, "l": {"0": "zero"}},
        )

    def test_reads_see_every_write(self, docs):
        """Get before and after each write of one id: a read cache that a write leaves stale fails."""
        docs.insert({"v": 1, "o": {"a": 1}}, id="d")
        check_json("Get after Insert", docs.get("d"), {"v": 1, "o": {"a": 1}})
        check_json("Get again", docs.get("d"), {"v": 1, "o": {"a": 1}})
        docs.update("d", {"v": 2})
        check_json("Get after Update (replace)", docs.get("d"), {"v": 2})
        docs.update("d", {"o": {"b": 2}}, merge=True)
        check_json("Get after Update (merge)", docs.get("d"), {"v": 2, "o": {"b": 2}})
        docs.update("d", {"v": None}, merge=True)
        check_json("Get after Update (merge) removing a field", docs.get("d"), {"o": {"b": 2}})
        check("Delete", docs.delete("d"), True)
        expect_status("Get after Delete", grpc.StatusCode.NOT_FOUND, lambda: docs.get("d"))
        expect_status("Update (merge) after Delete", grpc.StatusCode.NOT_FOUND, lambda: docs.update("d", {"v": 3}, merge=True))
        docs.insert({"v": 4}, id="d")
        check_json("Get after re-Insert", docs.get("d"), {"v": 4})
        check_json("Update (merge) after re-Insert", docs.update("d", {"w": 5}, merge=True), {"v": 4, "w": 5})

    def test_every_write_stays_in_its_namespace(self, docs, related):
        """The same collection and id in two namespaces, written in turn: each write (Insert,
        Update replace and merge, Delete) and each merge's read of the current body touch only its
        own namespace."""
        mine, theirs = docs, DocOps(docs.stub, related("-other"))
        want = {mine.ns: {"mine": 1, "o": {"m": 1}}, theirs.ns: {"theirs": 1, "o": {"t": 1}}}

        def both(what: str) -> None:
            for side in (mine, theirs):
                if want[side.ns] is None:
                    expect_status(f"Get in {side.ns!r} after {what}", grpc.StatusCode.NOT_FOUND, lambda: side.get("d"))
                else:
                    check_json(f"Get in {side.ns!r} after {what}", side.get("d"), want[side.ns])

        mine.insert(want[mine.ns], id="d")
        theirs.insert(want[theirs.ns], id="d")
        both("Insert in both")
        for side, other in ((mine, theirs), (theirs, mine)):
            patch = {"o": {"x": side.ns}, "theirs": None, "mine": None}
            want[side.ns] = ref.merge_patch(want[side.ns], patch)
            check_json(f"Update (merge) in {side.ns!r}", side.update("d", patch, merge=True), want[side.ns])
            both(f"Update (merge) in {side.ns!r}")
            want[side.ns] = {"replaced": side.ns}
            check_json(f"Update (replace) in {side.ns!r}", side.update("d", {"replaced": side.ns}), want[side.ns])
            both(f"Update (replace) in {side.ns!r}")
        check("Delete in the first namespace", mine.delete("d"), True)
        want[mine.ns] = None
        both("Delete in the first namespace")
        expect_status("Update (merge) of the deleted id", grpc.StatusCode.NOT_FOUND, lambda: mine.update("d", {"a": 1}, merge=True))
        expect_status("Update (replace) of the deleted id", grpc.StatusCode.NOT_FOUND, lambda: mine.update("d", {"a": 1}))
        both("Updates of the id deleted in the first namespace")
        check("Delete again in the first namespace", mine.delete("d"), False)
        mine.insert({"again": 1}, id="d")
        want[mine.ns] = {"again": 1}
        both("Insert again in the first namespace")
        check("Delete in the other namespace", theirs.delete("d"), True)
        want[theirs.ns] = None
        both("Delete in the other namespace")

    def test_delete(self, docs):
        docs.insert({"v": 1}, id="d")
        docs.insert({"v": 2}, id="other")
        check("Delete('d')", docs.delete("d"), True)
        expect_status("Get after Delete", grpc.StatusCode.NOT_FOUND, lambda: docs.get("d"))
        check("Delete('d') again", docs.delete("d"), False)
        check_json("Get('other') after Delete('d')", docs.get("other"), {"v": 2})
        check("Insert of the deleted id", docs.insert({"v": 3}, id="d"), "d")
        check_json("Get of the re-inserted id", docs.get("d"), {"v": 3})

    def test_ids_and_collections_are_literal_and_separate(self, docs, related):
        ids = ["d", "D", "d ", "d.x", "d*", "é", "😀", "%_"]
        for n, id in enumerate(ids):
            docs.insert({"n": n}, id=id)
        for n, id in enumerate(ids):
            check_json(f"Get({id!r})", docs.get(id), {"n": n})
        for n, collection in enumerate(["c2", "C", "c.x"]):
            docs.insert({"collection": n}, id="d", collection=collection)
        check_json("Get('d') in collection 'c'", docs.get("d"), {"n": 0})
        check_json("Get('d') in collection 'c.x'", docs.get("d", collection="c.x"), {"collection": 2})
        other = DocOps(docs.stub, related("-other"))
        expect_status("Get('d') in another namespace", grpc.StatusCode.NOT_FOUND, lambda: other.get("d"))
        other.insert({"theirs": True}, id="d")
        check_json("Get('d') after another namespace inserted it", docs.get("d"), {"n": 0})

    def test_nul_character_round_trips(self, docs):
        body = {"text": "a\x00b", "key\x00": 1}
        docs.insert(body, id="d")
        check_json("Get of strings holding U+0000", docs.get("d"), body)

    @requires.limit("max_batch_size")
    def test_insert_many_round_trip(self, docs, capabilities):
        """min(1,000, max_batch_size) documents in one InsertMany, every other one without an id:
        the ids answered in request order (the given ones, and new distinct ones), and the first,
        the last and every 7th document read back (one Get each; document_query's whole-answers
        case reads 5,000 back with Find)."""
        n = min(1000, capabilities.limit("max_batch_size"))
        batch = [(f"given-{i:04}" if i % 2 else "", {"n": i, "text": f"é{i}", "o": {"odd": i % 2 == 1}}) for i in range(n)]
        ids = succeeds(f"InsertMany of {n} documents", lambda: docs.insert_many(batch))
        check(f"InsertMany of {n}: how many ids", len(ids), n)
        given = [id for id, (asked, _) in zip(ids, batch) if asked]
        check("InsertMany: the given ids, in request order", given, [asked for asked, _ in batch if asked])
        assigned = [id for id, (asked, _) in zip(ids, batch) if not asked]
        check("InsertMany: assigned ids are non-empty", [id for id in assigned if not id], [])
        check("InsertMany: ids are distinct", len(set(ids)), n)
        sample = [i for i in range(n) if i < 3 or i >= n - 3 or i % 7 == 0]
        got = docs.get_many([ids[i] for i in sample])
        wrong = [(ids[i], got[ids[i]], batch[i][1]) for i in sample if not ref.same(got[ids[i]], batch[i][1])]
        check(f"Get of {len(sample)} documents of InsertMany: (id, got, want) of the wrong ones", wrong, [])
        expect_status("Insert of an id InsertMany wrote", grpc.StatusCode.ALREADY_EXISTS, lambda: docs.insert({}, id=ids[-1]))

    def test_insert_many_with_an_existing_id_inserts_nothing(self, docs):
        """An id already stored, first, in the middle or last in the batch: ALREADY_EXISTS, and none
        of the batch's documents (given or assigned ids) written; the stored one unchanged."""
        docs.insert({"v": "stored"}, id="d")
        for at in (0, 2, 4):
            batch = [(f"new-{at}-{i}", {"i": i}) for i in range(4)]
            batch.insert(at, ("d", {"v": "batch"}))
            expect_status(f"InsertMany with the existing id at {at}", grpc.StatusCode.ALREADY_EXISTS, lambda: docs.insert_many(batch))
            docs.check_none_inserted(f"InsertMany refused for the existing id at {at}", [id for id, _ in batch if id != "d"])
        check_json("Get of the existing id after the refused InsertMany", docs.get("d"), {"v": "stored"})
        batch = [("", {"assigned": 1}), ("fresh", {"v": 1}), ("d", {"v": 2})]
        expect_status("InsertMany of assigned ids with an existing id", grpc.StatusCode.ALREADY_EXISTS, lambda: docs.insert_many(batch))
        docs.check_none_inserted("the refused InsertMany with assigned ids", ["fresh"])
        check("InsertMany without the existing id", docs.insert_many(batch[1:2]), ["fresh"])

    def test_insert_many_with_an_id_twice_inserts_nothing(self, docs):
        """An id twice within one batch counts as an existing id: ALREADY_EXISTS, nothing written."""
        for batch in (
            [("x", {"v": 1}), ("y", {"v": 2}), ("x", {"v": 3})],
            [("a", {}), ("b", {}), ("c", {}), ("b", {})],
            [("same", {"v": 1}), ("same", {"v": 1})],
        ):
            expect_status(f"InsertMany of ids {[id for id, _ in batch]}", grpc.StatusCode.ALREADY_EXISTS, lambda: docs.insert_many(batch))
            docs.check_none_inserted(f"the refused InsertMany of ids {[id for id, _ in batch]}", sorted({id for id, _ in batch}))
        check("InsertMany of each id once", docs.insert_many([("x", {"v": 1}), ("y", {"v": 2})]), ["x", "y"])
        check_json("Get('y')", docs.get("y"), {"v": 2})

    def test_insert_many_of_no_documents(self, docs):
        check("InsertMany of no documents", succeeds("InsertMany of no documents", lambda: docs.insert_many([])), [])
        check("InsertMany of one document after it", docs.insert_many([("one", {"v": 1})]), ["one"])
        check_json("Get('one')", docs.get("one"), {"v": 1})

    def test_insert_many_with_an_invalid_document_inserts_nothing(self, docs):
        """A document Insert refuses as INVALID_ARGUMENT (a NaN, the last in the batch) refuses the
        whole batch; so does an empty collection."""
        batch = [("ok-1", {"v": 1}), ("", {"v": 2}), ("bad", {"x": [{"y": math.nan}]})]
        expect_status("InsertMany with a NaN in its last document", grpc.StatusCode.INVALID_ARGUMENT, lambda: docs.insert_many(batch))
        docs.check_none_inserted("the refused InsertMany", ["ok-1", "bad"])
        expect_status(
            "InsertMany with an empty collection", grpc.StatusCode.INVALID_ARGUMENT, lambda: docs.insert_many([("e", {})], collection="")
        )

    @requires.limit("max_batch_size")
    def test_insert_many_above_max_batch_size(self, docs, capabilities):
        limit = capabilities.limit("max_batch_size")
        batch = [(f"over-{i}", {"i": i}) for i in range(limit + 1)]
        expect_status(f"InsertMany of max_batch_size + 1 = {limit + 1}", grpc.StatusCode.INVALID_ARGUMENT, lambda: docs.insert_many(batch))
        docs.check_none_inserted("the refused InsertMany", [batch[0][0], batch[limit // 2][0], batch[-2][0], batch[-1][0]])

    def test_insert_many_stays_in_its_namespace(self, docs, related):
        """The same ids in two namespaces: neither batch meets the other's ids, and a refused batch
        in one namespace leaves the other's documents alone."""
        mine, theirs = docs, DocOps(docs.stub, related("-other"))
        check("InsertMany in the first namespace", mine.insert_many([("a", {"mine": 1}), ("b", {"mine": 2})]), ["a", "b"])
        check(
            "InsertMany of the same ids in another namespace",
            succeeds("InsertMany in another namespace", lambda: theirs.insert_many([("b", {"theirs": 2}), ("a", {"theirs": 1})])),
            ["b", "a"],
        )
        expect_status(
            "InsertMany of an id of this namespace", grpc.StatusCode.ALREADY_EXISTS, lambda: theirs.insert_many([("c", {}), ("a", {})])
        )
        with AllRows() as rows:
            for side, want in ((mine, {"a": {"mine": 1}, "b": {"mine": 2}}), (theirs, {"a": {"theirs": 1}, "b": {"theirs": 2}})):
                rows.check(f"Get in {side.ns!r}", side.get_many(["a", "b", "c"]), {**want, "c": None})

    def test_invalid_arguments(self, docs):
        expect_status("Insert with an empty collection", grpc.StatusCode.INVALID_ARGUMENT, lambda: docs.insert({}, collection=""))
        expect_status("Get with an empty id", grpc.StatusCode.INVALID_ARGUMENT, lambda: docs.get(""))
        expect_status("Delete with an empty id", grpc.StatusCode.INVALID_ARGUMENT, lambda: docs.delete(""))
        for bad in (math.nan, math.inf, -math.inf):
            expect_status(
                f"Insert of a body holding {bad}", grpc.StatusCode.INVALID_ARGUMENT, lambda: docs.insert({"x": [{"y": bad}]}, id="bad")
            )
        docs.insert({"v": 1}, id="d")
        expect_status("Update to a body holding nan", grpc.StatusCode.INVALID_ARGUMENT, lambda: docs.update("d", {"v": math.nan}))
        check_json("Get after the refused Update", docs.get("d"), {"v": 1})
        expect_status("Get of the refused Insert's id", grpc.StatusCode.NOT_FOUND, lambda: docs.get("bad"))
