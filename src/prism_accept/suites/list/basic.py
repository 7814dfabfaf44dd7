"""list_basic: PushLeft, PushRight, PopLeft, PopRight, Length."""

from __future__ import annotations

import grpc
import pytest

from prism.list.v1 import list_pb2 as pb
from prism.list.v1 import list_pb2_grpc as pb_grpc
from prism_accept.suites.base import InterfaceSuite, check, expect_status


class ListOps:
    """The list_basic calls, for readable cases (other list suites use it to set up state)."""

    def __init__(self, stub, ns: str):
        self.stub = stub
        self.ns = ns

    def push_left(self, key: str, *values: bytes) -> int:
        return self.stub.PushLeft(pb.PushRequest(namespace=self.ns, key=key, values=values)).length

    def push_right(self, key: str, *values: bytes) -> int:
        return self.stub.PushRight(pb.PushRequest(namespace=self.ns, key=key, values=values)).length

    def pop_left(self, key: str, count: int | None = None) -> list[bytes]:
        return list(self.stub.PopLeft(pb.PopRequest(namespace=self.ns, key=key, count=count)).values)

    def pop_right(self, key: str, count: int | None = None) -> list[bytes]:
        return list(self.stub.PopRight(pb.PopRequest(namespace=self.ns, key=key, count=count)).values)

    def length(self, key: str) -> int:
        return self.stub.Length(pb.LengthRequest(namespace=self.ns, key=key)).length


class ListBasicTests(InterfaceSuite):
    interface = "list_basic"

    @pytest.fixture
    def lists(self, plugin, namespace):
        return ListOps(pb_grpc.ListBasicStub(plugin.channel), namespace)

    def test_push_right_keeps_argument_order(self, lists):
        check("PushRight(a, b, c) length", lists.push_right("k", b"a", b"b", b"c"), 3)
        check("PopLeft(3)", lists.pop_left("k", 3), [b"a", b"b", b"c"])

    def test_push_left_pushes_each_at_the_head(self, lists):
        check("PushLeft(a, b, c) length", lists.push_left("k", b"a", b"b", b"c"), 3)
        check("PopLeft(3) after PushLeft(a, b, c)", lists.pop_left("k", 3), [b"c", b"b", b"a"])

    def test_push_returns_the_new_length(self, lists):
        check("PushRight(a)", lists.push_right("k", b"a"), 1)
        check("PushLeft(b, c)", lists.push_left("k", b"b", b"c"), 3)
        check("PushRight(d, e, f)", lists.push_right("k", b"d", b"e", b"f"), 6)
        check("Length", lists.length("k"), 6)
        check("PopLeft(6)", lists.pop_left("k", 6), [b"c", b"b", b"a", b"d", b"e", b"f"])

    def test_pop_from_both_ends(self, lists):
        lists.push_right("k", b"a", b"b", b"c", b"d", b"e")
        check("PopRight()", lists.pop_right("k"), [b"e"])
        check("PopLeft()", lists.pop_left("k"), [b"a"])
        check("PopRight(2)", lists.pop_right("k", 2), [b"d", b"c"])
        check("Length", lists.length("k"), 1)

    def test_pop_from_empty_or_missing(self, lists):
        check("PopLeft of a missing list", lists.pop_left("missing"), [])
        check("PopRight(5) of a missing list", lists.pop_right("missing", 5), [])
        check("Length of a missing list", lists.length("missing"), 0)
        lists.push_right("k", b"a", b"b")
        check("PopLeft(10) of a 2-element list", lists.pop_left("k", 10), [b"a", b"b"])
        check("PopLeft of the emptied list", lists.pop_left("k"), [])

    def test_a_list_emptied_by_pops_no_longer_exists(self, lists):
        lists.push_right("k", b"a")
        lists.pop_right("k")
        check("Length after popping the last value", lists.length("k"), 0)
        check("PushLeft onto the emptied list", lists.push_left("k", b"z"), 1)
        check("PopRight", lists.pop_right("k", 2), [b"z"])

    def test_binary_values(self, lists):
        values = [bytes(range(256)), b"", b"\x00", b"\xff\xfe"]
        lists.push_right("k", *values)
        check("PopLeft of binary and empty values", lists.pop_left("k", 4), values)

    def test_lists_are_separate(self, lists):
        lists.push_right("a", b"1")
        lists.push_right("a*", b"2")
        lists.push_right("b", b"3")
        check("PopLeft('a')", lists.pop_left("a", 5), [b"1"])
        check("Length('a*')", lists.length("a*"), 1)

    def test_namespace_isolation(self, lists, related):
        other = ListOps(lists.stub, related("-other"))
        lists.push_right("k", b"mine")
        other.push_right("k", b"theirs")
        check("PopLeft in the other namespace", other.pop_left("k", 5), [b"theirs"])
        check("Length in own namespace", lists.length("k"), 1)
        # Namespaces that differ only after a separator: a key encoding that cuts or joins at
        # one would merge them.
        spaces = [ListOps(lists.stub, related(suffix)) for suffix in (":k", ":", ":list:k", "/k")]
        for i, ops in enumerate(spaces):
            ops.push_right("k", f"v{i}".encode())
        check("Length of 'k' in each namespace with a separator", [ops.length("k") for ops in spaces], [1] * len(spaces))
        check("PopLeft of 'k' in each", [ops.pop_left("k", 5) for ops in spaces], [[f"v{i}".encode()] for i in range(len(spaces))])
        check("PopLeft in own namespace after theirs", lists.pop_left("k", 5), [b"mine"])

    def test_invalid_arguments(self, lists):
        for count in (0, -1):
            expect_status(f"PopLeft(count={count})", grpc.StatusCode.INVALID_ARGUMENT, lambda: lists.pop_left("k", count))
            expect_status(f"PopRight(count={count})", grpc.StatusCode.INVALID_ARGUMENT, lambda: lists.pop_right("k", count))
        expect_status("PushRight with no values", grpc.StatusCode.INVALID_ARGUMENT, lambda: lists.push_right("k"))
        expect_status("PushLeft with an empty key", grpc.StatusCode.INVALID_ARGUMENT, lambda: lists.push_left("", b"v"))
        expect_status("Length with an empty namespace", grpc.StatusCode.INVALID_ARGUMENT, lambda: ListOps(lists.stub, "").length("k"))
        check("Length after rejected calls", lists.length("k"), 0)
