"""list_indexing: Get, Set, Insert, Remove. Lists are built and read back through list_basic."""

from __future__ import annotations

import grpc
import pytest

from prism.list.v1 import list_pb2 as pb
from prism.list.v1 import list_pb2_grpc as pb_grpc
from prism_accept.suites.base import InterfaceSuite, check, expect_status
from prism_accept.suites.list.basic import ListOps
from prism_accept.suites.requirements import requires

BEFORE, AFTER = pb.InsertRequest.BEFORE, pb.InsertRequest.AFTER


@requires.interface("list_basic")  # lists are built with PushRight
class ListIndexingTests(InterfaceSuite):
    interface = "list_indexing"

    @pytest.fixture
    def lists(self, plugin, namespace):
        return ListOps(pb_grpc.ListBasicStub(plugin.channel), namespace)

    @pytest.fixture
    def idx(self, plugin):
        return pb_grpc.ListIndexingStub(plugin.channel)

    def contents(self, idx, lists: ListOps, key: str) -> list[bytes]:
        return [self.get(idx, lists.ns, key, i) for i in range(lists.length(key))]

    @staticmethod
    def get(idx, ns: str, key: str, index: int) -> bytes:
        return idx.Get(pb.IndexGetRequest(namespace=ns, key=key, index=index)).value

    def insert(self, idx, ns: str, key: str, position, pivot: bytes, value: bytes):
        r = idx.Insert(pb.InsertRequest(namespace=ns, key=key, position=position, pivot=pivot, value=value))
        return r.pivot_found, r.length

    def remove(self, idx, ns: str, key: str, value: bytes, count: int) -> int:
        return idx.Remove(pb.RemoveRequest(namespace=ns, key=key, value=value, count=count)).removed

    def test_get_with_positive_and_negative_indexes(self, idx, lists):
        lists.push_right("k", b"a", b"b", b"c")
        check("Get 0, 1, 2", [self.get(idx, lists.ns, "k", i) for i in range(3)], [b"a", b"b", b"c"])
        check("Get -1, -2, -3", [self.get(idx, lists.ns, "k", i) for i in (-1, -2, -3)], [b"c", b"b", b"a"])

    def test_get_outside_the_list_is_out_of_range(self, idx, lists):
        lists.push_right("k", b"a", b"b", b"c")
        for i in (3, 100, -4, -100):
            expect_status(f"Get index {i} of a 3-element list", grpc.StatusCode.OUT_OF_RANGE, lambda: self.get(idx, lists.ns, "k", i))
        expect_status("Get index 0 of a missing list", grpc.StatusCode.OUT_OF_RANGE, lambda: self.get(idx, lists.ns, "missing", 0))

    def test_set(self, idx, lists):
        lists.push_right("k", b"a", b"b", b"c")
        idx.Set(pb.IndexSetRequest(namespace=lists.ns, key="k", index=1, value=b"B"))
        idx.Set(pb.IndexSetRequest(namespace=lists.ns, key="k", index=-1, value=b"C"))
        idx.Set(pb.IndexSetRequest(namespace=lists.ns, key="k", index=-3, value=b""))
        check("list after Set 1, -1, -3", self.contents(idx, lists, "k"), [b"", b"B", b"C"])

    def test_set_outside_the_list_is_out_of_range(self, idx, lists):
        lists.push_right("k", b"a")
        for i in (1, -2):
            expect_status(
                f"Set index {i} of a 1-element list",
                grpc.StatusCode.OUT_OF_RANGE,
                lambda: idx.Set(pb.IndexSetRequest(namespace=lists.ns, key="k", index=i, value=b"x")),
            )
        check("list after rejected Sets", self.contents(idx, lists, "k"), [b"a"])
        expect_status(
            "Set index 0 of a missing list",
            grpc.StatusCode.OUT_OF_RANGE,
            lambda: idx.Set(pb.IndexSetRequest(namespace=lists.ns, key="missing", index=0, value=b"x")),
        )
        check("Length of the missing list after Set", lists.length("missing"), 0)

    def test_insert_before_and_after_the_first_pivot(self, idx, lists):
        lists.push_right("k", b"a", b"p", b"b", b"p")
        check("Insert BEFORE p", self.insert(idx, lists.ns, "k", BEFORE, b"p", b"x"), (True, 5))
        check("list", self.contents(idx, lists, "k"), [b"a", b"x", b"p", b"b", b"p"])
        check("Insert AFTER p", self.insert(idx, lists.ns, "k", AFTER, b"p", b"y"), (True, 6))
        check("list", self.contents(idx, lists, "k"), [b"a", b"x", b"p", b"y", b"b", b"p"])

    def test_insert_with_a_missing_pivot_changes_nothing(self, idx, lists):
        lists.push_right("k", b"a", b"b")
        check("Insert BEFORE a missing pivot", self.insert(idx, lists.ns, "k", BEFORE, b"zz", b"x"), (False, 2))
        check("list after a missing pivot", self.contents(idx, lists, "k"), [b"a", b"b"])
        check("Insert into a missing list", self.insert(idx, lists.ns, "missing", AFTER, b"a", b"x"), (False, 0))
        check("Length of the missing list after Insert", lists.length("missing"), 0)
        expect_status(
            "Insert with no position",
            grpc.StatusCode.INVALID_ARGUMENT,
            lambda: self.insert(idx, lists.ns, "k", pb.InsertRequest.POSITION_UNSPECIFIED, b"a", b"x"),
        )

    def test_remove_from_the_head(self, idx, lists):
        lists.push_right("k", b"x", b"a", b"x", b"b", b"x")
        check("Remove(x, 2)", self.remove(idx, lists.ns, "k", b"x", 2), 2)
        check("list after Remove(x, 2)", self.contents(idx, lists, "k"), [b"a", b"b", b"x"])

    def test_remove_from_the_tail(self, idx, lists):
        lists.push_right("k", b"x", b"a", b"x", b"b", b"x")
        check("Remove(x, -2)", self.remove(idx, lists.ns, "k", b"x", -2), 2)
        check("list after Remove(x, -2)", self.contents(idx, lists, "k"), [b"x", b"a", b"b"])

    def test_remove_all(self, idx, lists):
        lists.push_right("k", b"x", b"a", b"x", b"b", b"x")
        check("Remove(x, 0)", self.remove(idx, lists.ns, "k", b"x", 0), 3)
        check("list after Remove(x, 0)", self.contents(idx, lists, "k"), [b"a", b"b"])
        check("Remove(missing value, 0)", self.remove(idx, lists.ns, "k", b"zz", 0), 0)
        check("Remove(a, 5) with one a", self.remove(idx, lists.ns, "k", b"a", 5), 1)
        check("Remove from a missing list", self.remove(idx, lists.ns, "missing", b"a", 0), 0)

    def test_removing_every_value_deletes_the_list(self, idx, lists):
        lists.push_right("k", b"x", b"x")
        self.remove(idx, lists.ns, "k", b"x", 0)
        check("Length after removing every value", lists.length("k"), 0)
        expect_status("Get 0 after removing every value", grpc.StatusCode.OUT_OF_RANGE, lambda: self.get(idx, lists.ns, "k", 0))

    def test_empty_names_are_invalid(self, idx, lists):
        expect_status("Get with an empty key", grpc.StatusCode.INVALID_ARGUMENT, lambda: self.get(idx, lists.ns, "", 0))
        expect_status("Remove with an empty namespace", grpc.StatusCode.INVALID_ARGUMENT, lambda: self.remove(idx, "", "k", b"x", 0))
