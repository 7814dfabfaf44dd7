"""The document model cell: every declared document interface against dicts of JSON bodies,
with the reference evaluator of the suites (suites/document/reference.py) as the oracle for
queries, merge patches and unique indexes."""

from __future__ import annotations

import grpc
from google.protobuf import json_format
from hypothesis import strategies as st
from hypothesis.stateful import rule

from prism.document.v1 import document_pb2 as pb
from prism.document.v1 import document_pb2_grpc as pb_grpc
from prism_accept.models.machine import ModelMachine, declares, namespace_index, run
from prism_accept.suites.base import check
from prism_accept.suites.document import reference as ref
from prism_accept.suites.document.basic import body_struct
from prism_accept.suites.requirements import requires

COLLECTIONS = ["c", "C", "c.x"]
collections = st.sampled_from(["c", "c", "c", *COLLECTIONS])
IDS = ["a", "b", "c", "A", "é"]
ids = st.sampled_from(IDS)
scalars = st.sampled_from([None, True, False, 0, 1, 1.5, -2, "", "x", "X", "é"])
NO_FIELDS: dict[str, st.SearchStrategy] = {}
values = st.one_of(scalars, st.lists(scalars, max_size=2), st.fixed_dictionaries(NO_FIELDS, optional={"x": scalars, "y": scalars}))
bodies = st.fixed_dictionaries(NO_FIELDS, optional={"k": scalars, "o": values, "n": scalars})
# a merge patch: nulls remove, objects merge
patches = st.fixed_dictionaries(NO_FIELDS, optional={"k": scalars, "o": values, "n": st.just(None)})
UNIQUE = ("uk", ["k"])  # the unique index the machine may create
FILTERS = [
    {"k": 1},
    {"k": {"$ne": 1}},
    {"k": {"$gt": 0}},
    {"k": {"$in": ["x", None, True]}},
    {"o.x": {"$exists": True}},
    {"o": {"$exists": False}},
    {"$or": [{"k": "x"}, {"o.y": {"$lte": 1}}]},
]
SORTS = [[("k", False)], [("o.x", True), ("k", False)]]
PATHS = {"get": "document_basic", "find": "document_query", "aggregate": "document_query", "indexes": "document_indexing"}


def to_json(struct) -> dict:
    return json_format.MessageToDict(struct)


class DocumentMachine(ModelMachine):
    PATHS = PATHS

    def __init__(self, plugin, declared, base):
        super().__init__(plugin, declared, base)
        ch = plugin.channel
        self.basic, self.query = pb_grpc.DocumentBasicStub(ch), pb_grpc.DocumentQueryStub(ch)
        self.indexing = pb_grpc.DocumentIndexingStub(ch)
        self.model: dict[tuple[str, str], dict[str, dict]] = {}  # (ns, collection) -> id -> body
        self.unique: set[tuple[str, str]] = set()  # collections with the unique index on "k"
        # every document the machine inserted, in the order it did: rules pick from it by index,
        # never by an id's value (ids the plugin generated differ from run to run)
        self.held: list[tuple[str, str, str]] = []

    def docs(self, ns: str, coll: str) -> dict[str, dict]:
        return self.model.setdefault((ns, coll), {})

    def breaks_unique(self, ns: str, coll: str, id: str, body: dict) -> bool:
        if (ns, coll) not in self.unique or "k" not in body:
            return False
        return any(other != id and "k" in b and ref.same(b["k"], body["k"]) for other, b in self.docs(ns, coll).items())

    def status(self, call, request):
        """("OK", answer), or (the status code's name, None): the rule checks the code against
        the one it wants, so that an unexpected status reads as operation, got, want."""
        try:
            return "OK", self.call(call, request)
        except grpc.RpcError as e:
            return e.code().name, None

    def answer(self, operation: str, call, request):
        """The answer of a call that must succeed; any status fails as operation, got, want."""
        try:
            return self.call(call, request)
        except grpc.RpcError as e:
            raise AssertionError(f"{operation}: got status {e.code().name} ({e.details()}), want OK") from None

    def pick(self, data) -> tuple[str, str, str]:
        """(namespace, collection, id): mostly a document the machine inserted, sometimes any.
        The same draws whatever the state holds, and a held document is chosen by its place in
        `held`: what the plugin answered (generated ids, their order) never shapes the draws,
        which Hypothesis' replay would see as another strategy (FlakyStrategyDefinition)."""
        existing = data.draw(st.integers(0, 3), label="existing") > 0
        pick = data.draw(st.integers(0, 2**16 - 1), label="document")
        any_one = self.namespaces[data.draw(namespace_index, label="ns")], data.draw(collections, label="coll"), data.draw(ids, label="id")
        return self.held[pick % len(self.held)] if existing and self.held else any_one

    @declares("document_basic")
    @rule(i=namespace_index, coll=collections, id=st.one_of(ids, st.just("")), body=bodies)
    def insert(self, i, coll, id, body):
        ns = self.namespaces[i]
        docs = self.docs(ns, coll)
        request = pb.InsertRequest(namespace=ns, collection=coll, document=pb.Document(id=id, body=body_struct(body)))
        code, answer = self.status(self.basic.Insert, request)
        want = "ALREADY_EXISTS" if id in docs or self.breaks_unique(ns, coll, id, body) else "OK"
        check(f"Insert {coll!r} id={id!r} {body}", code, want)
        if code == "OK":
            if id:
                check(f"Insert {coll!r} id={id!r}: the id returned", answer.id, id)
            else:
                new_id = answer.id if answer.id and answer.id not in docs else "<a new non-empty id>"
                check(f"Insert {coll!r} without id: the id returned", answer.id, new_id)
            docs[answer.id or id] = body
            if (ns, coll, answer.id or id) not in self.held:
                self.held.append((ns, coll, answer.id or id))

    @declares("document_basic")
    @rule(i=namespace_index, coll=collections, batch=st.lists(st.tuples(st.one_of(ids, st.just("")), bodies), max_size=3))
    def insert_many(self, i, coll, batch):
        """All or nothing: an existing id, an id twice or a unique value taken refuses the batch."""
        ns = self.namespaces[i]
        docs = self.docs(ns, coll)
        request = pb.InsertManyRequest(namespace=ns, collection=coll, documents=[pb.Document(id=d, body=body_struct(b)) for d, b in batch])
        code, answer = self.status(self.basic.InsertMany, request)
        given = [d for d, _ in batch if d]
        keys = [ref.text(b["k"]) for _, b in batch if "k" in b]
        refused = (
            len(given) != len(set(given))
            or any(d in docs for d in given)
            or any(self.breaks_unique(ns, coll, d, b) for d, b in batch)
            or ((ns, coll) in self.unique and len(keys) != len(set(keys)))
        )
        what = f"InsertMany {coll!r} {batch}"
        check(what, code, "ALREADY_EXISTS" if refused else "OK")
        if code != "OK":
            return
        got = list(answer.ids)
        want = []
        for n, (asked, _) in enumerate(batch):
            fresh = n < len(got) and got[n] and got[n] not in docs and got.count(got[n]) == 1
            want.append(asked or (got[n] if fresh else "<a new non-empty id>"))
        check(f"{what}: the ids returned", got, want)
        for id, (_, body) in zip(got, batch):
            docs[id] = body
            if (ns, coll, id) not in self.held:
                self.held.append((ns, coll, id))

    @declares("document_basic")
    @rule(patch=patches, merge=st.booleans(), data=st.data())
    def update(self, patch, merge, data):
        ns, coll, id = self.pick(data)
        docs = self.docs(ns, coll)
        request = pb.UpdateRequest(namespace=ns, collection=coll, id=id, body=body_struct(patch), merge=merge)
        code, answer = self.status(self.basic.Update, request)
        what = f"Update {coll!r} {id!r} {'merge' if merge else 'replace'} {patch}"
        if id not in docs:
            check(what, code, "NOT_FOUND")
            return
        new = ref.merge_patch(docs[id], patch) if merge else patch
        check(what, code, "ALREADY_EXISTS" if self.breaks_unique(ns, coll, id, new) else "OK")
        if code == "OK":
            check(f"{what}: the document returned", ref.text(to_json(answer.body)), ref.text(new))
            docs[id] = new

    @declares("document_basic")
    @rule(data=st.data())
    def delete(self, data):
        ns, coll, id = self.pick(data)
        found = self.answer(f"Delete {coll!r} {id!r}", self.basic.Delete, pb.DeleteRequest(namespace=ns, collection=coll, id=id)).found
        check(f"Delete {coll!r} {id!r}: found", found, id in self.docs(ns, coll))
        self.docs(ns, coll).pop(id, None)

    @declares("document_indexing")
    @rule(i=namespace_index, coll=collections, create=st.booleans())
    def unique_index(self, i, coll, create):
        ns = self.namespaces[i]
        name, fields = UNIQUE
        if create:
            index = pb.Index(name=name, fields=fields, unique=True)
            code, _ = self.status(self.indexing.CreateIndex, pb.CreateIndexRequest(namespace=ns, collection=coll, index=index))
            keys = [ref.text(b["k"]) for b in self.docs(ns, coll).values() if "k" in b]
            duplicates = len(keys) != len(set(keys))
            check(f"CreateIndex unique 'k' on {coll!r}", code, "ALREADY_EXISTS" if (ns, coll) in self.unique or duplicates else "OK")
            if code == "OK":
                self.unique.add((ns, coll))
        else:
            code, _ = self.status(self.indexing.DropIndex, pb.DropIndexRequest(namespace=ns, collection=coll, name=name))
            check(f"DropIndex 'uk' on {coll!r}", code, "OK" if (ns, coll) in self.unique else "NOT_FOUND")
            self.unique.discard((ns, coll))

    @rule(i=namespace_index, path=st.sampled_from(sorted(PATHS)))
    def observe(self, i, path):
        self.read(path, self.namespaces[i])

    def read_get(self, ns):
        for coll in COLLECTIONS:
            docs = self.docs(ns, coll)
            for id in sorted({*IDS, *docs}):
                code, answer = self.status(self.basic.Get, pb.GetRequest(namespace=ns, collection=coll, id=id))
                check(f"Get {coll!r} {id!r}", code, "OK" if id in docs else "NOT_FOUND")
                if code == "OK":
                    check(f"Get {coll!r} {id!r}", ref.text(to_json(answer.body)), ref.text(docs[id]))

    def find(self, ns, coll, filter_, sort=(), skip=0, limit=0) -> list[tuple[str, str]]:
        """(id, body as canonical text) of Find's answer."""
        request = pb.FindRequest(
            namespace=ns,
            collection=coll,
            filter=body_struct(filter_),
            sort=[pb.SortField(path=p, descending=d) for p, d in sort],
            skip=skip,
            limit=limit,
        )
        answer = self.answer(f"Find {coll!r} {filter_} sort={list(sort)} skip={skip} limit={limit}", self.query.Find, request)
        return [(d.id, ref.text(to_json(d.body))) for d in answer.documents]

    def read_find(self, ns):
        for coll in COLLECTIONS:
            docs = self.docs(ns, coll)
            check(f"Find {coll!r} {{}}", self.find(ns, coll, {}), [(i, ref.text(docs[i])) for i in sorted(docs)])
        docs = self.docs(ns, "c")
        for filter_ in FILTERS:
            got = [id for id, _ in self.find(ns, "c", filter_)]
            check(f"Find 'c' {filter_}", got, ref.find(docs, filter_))
        for sort in SORTS:
            got = [id for id, _ in self.find(ns, "c", {}, sort=sort, skip=1, limit=3)]
            check(f"Find 'c' sort={sort} skip=1 limit=3", got, ref.find(docs, {}, sort, skip=1, limit=3))

    def read_aggregate(self, ns):
        docs = self.docs(ns, "c")
        for function, name in [(pb.AggregateRequest.COUNT, "count"), (pb.AggregateRequest.AVG, "avg")]:
            request = pb.AggregateRequest(namespace=ns, collection="c", group_by="k", function=function, field="n")
            groups = self.answer(f"Aggregate 'c' {name}(n) by k", self.query.Aggregate, request).groups
            got = {ref.text(to_json(g.key)) if g.HasField("key") else "<missing>": g.value for g in groups}
            check(f"Aggregate 'c' {name}(n) by k", got, ref.aggregate(docs, {}, "k", name, "n"))

    def read_indexes(self, ns):
        for coll in COLLECTIONS:
            request = pb.ListIndexesRequest(namespace=ns, collection=coll)
            indexes = self.answer(f"ListIndexes {coll!r}", self.indexing.ListIndexes, request).indexes
            got = [(i.name, list(i.fields), i.unique) for i in indexes]
            check(f"ListIndexes {coll!r}", got, [(UNIQUE[0], UNIQUE[1], True)] if (ns, coll) in self.unique else [])


@requires.interface("document_basic")  # the machine writes documents with Insert, InsertMany and Update
class DocumentModelTests:
    def test_state_machine(self, plugin, declaration):
        run(lambda: DocumentMachine(plugin, frozenset(declaration.implements), "pa-model-document"))
