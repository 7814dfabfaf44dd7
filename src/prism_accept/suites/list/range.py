"""list_range: GetRange, Trim (inclusive ends, negative indexes, clamping like Redis)."""

from __future__ import annotations

import grpc
import pytest

from prism.list.v1 import list_pb2 as pb
from prism.list.v1 import list_pb2_grpc as pb_grpc
from prism_accept.suites.base import InterfaceSuite, check, expect_status
from prism_accept.suites.list.basic import ListOps
from prism_accept.suites.requirements import requires
from prism_accept.suites.rows import AllRows

ITEMS = [bytes([c]) for c in b"abcdef"]
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
# Ends around the 6-element list's edges: below -size, -size, inside, size - 1, size, above size.
# (test_every_small_range_matches_the_reference covers every pair in [-8, 8).)
EDGES = [INT64_MIN, -100, -7, -6, -1, 0, 5, 6, 100, INT64_MAX]
TRIM_EDGES = [INT64_MIN, -7, -6, -1, 0, 5, 6, INT64_MAX]
LARGE = 5000


def reference_slice(n: int, start: int, stop: int) -> slice:
    """The inclusive, clamped range the contract describes, as a Python slice."""
    start = max(0, start + n) if start < 0 else start
    stop = stop + n if stop < 0 else min(stop, n - 1)
    return slice(start, stop + 1) if start <= stop else slice(0, 0)


@requires.interface("list_basic")  # lists are built with PushRight
class ListRangeTests(InterfaceSuite):
    interface = "list_range"

    @pytest.fixture
    def lists(self, plugin, namespace):
        ops = ListOps(pb_grpc.ListBasicStub(plugin.channel), namespace)
        ops.push_right("k", *ITEMS)
        return ops

    @pytest.fixture
    def rng(self, plugin):
        return pb_grpc.ListRangeStub(plugin.channel)

    @staticmethod
    def get_range(rng, ns: str, key: str, start: int, stop: int) -> list[bytes]:
        return list(rng.GetRange(pb.GetRangeRequest(namespace=ns, key=key, start=start, stop=stop)).values)

    @staticmethod
    def trim(rng, ns: str, key: str, start: int, stop: int) -> int:
        return rng.Trim(pb.TrimRequest(namespace=ns, key=key, start=start, stop=stop)).length

    def test_full_range(self, rng, lists):
        check("GetRange(0, -1)", self.get_range(rng, lists.ns, "k", 0, -1), ITEMS)
        check("GetRange(0, 5)", self.get_range(rng, lists.ns, "k", 0, 5), ITEMS)

    def test_inclusive_ends(self, rng, lists):
        check("GetRange(1, 3)", self.get_range(rng, lists.ns, "k", 1, 3), ITEMS[1:4])
        check("GetRange(2, 2)", self.get_range(rng, lists.ns, "k", 2, 2), [ITEMS[2]])

    def test_negative_ranges(self, rng, lists):
        with AllRows() as rows:
            for start, stop in ((-3, -1), (-6, -6), (-2, 5), (1, -2), (-100, 1)):
                rows.check(
                    f"GetRange({start}, {stop})", self.get_range(rng, lists.ns, "k", start, stop), ITEMS[reference_slice(6, start, stop)]
                )

    def test_empty_ranges(self, rng, lists):
        with AllRows() as rows:
            for start, stop in ((3, 2), (6, 10), (-1, -2), (5, -3), (100, 200)):
                rows.check(f"GetRange({start}, {stop})", self.get_range(rng, lists.ns, "k", start, stop), [])
        check("GetRange of a missing list", self.get_range(rng, lists.ns, "missing", 0, -1), [])

    def test_out_of_range_ends_clamp(self, rng, lists):
        check("GetRange(0, 100)", self.get_range(rng, lists.ns, "k", 0, 100), ITEMS)
        check("GetRange(-100, 100)", self.get_range(rng, lists.ns, "k", -100, 100), ITEMS)
        check("GetRange(4, 100)", self.get_range(rng, lists.ns, "k", 4, 100), ITEMS[4:])

    def test_every_small_range_matches_the_reference(self, rng, lists):
        wrong = []
        for start in range(-8, 8):
            for stop in range(-8, 8):
                got = self.get_range(rng, lists.ns, "k", start, stop)
                want = ITEMS[reference_slice(6, start, stop)]
                if got != want:
                    wrong.append(((start, stop), got, want))
        check("GetRange(start, stop) for every start, stop in [-8, 8) that differs from the reference (range, got, want)", wrong[:5], [])

    def test_far_ends_match_the_reference(self, rng, lists):
        """Every start, stop among ends below -size, at the edges and above size (int64 limits
        included), start > stop too, against the clamping reference."""
        wrong = []
        for start in EDGES:
            for stop in EDGES:
                got = self.get_range(rng, lists.ns, "k", start, stop)
                want = ITEMS[reference_slice(6, start, stop)]
                if got != want:
                    wrong.append(((start, stop), got, want))
        check("GetRange(start, stop) over the far ends that differs from the reference (range, got, want)", wrong[:5], [])

    def test_the_whole_of_a_large_list(self, rng, lists, capabilities):
        """5,000 values (PushRights of max_batch_size values, one if no limit is declared):
        GetRange 0..-1 answers all of them, in order (a silent cap or one backend page answered
        as the whole would show here)."""
        values = [f"v{i}".encode() for i in range(LARGE)]
        size = capabilities.decl.limits.get("max_batch_size", LARGE)  # optional: no @requires
        with AllRows() as rows:
            for i in range(0, LARGE, size):
                end = min(i + size, LARGE)
                rows.check(f"PushRight of values {i}..{end - 1}", lists.push_right("large", *values[i:end]), end)
        with AllRows() as rows:
            for start, stop in ((0, -1), (INT64_MIN, INT64_MAX), (-LARGE, LARGE)):
                got = self.get_range(rng, lists.ns, "large", start, stop)
                summary = (len(got), got[:1], got[-1:])
                rows.check(f"GetRange({start}, {stop}) of {LARGE} values: (length, first, last)", summary, (LARGE, [b"v0"], [b"v4999"]))
                rows.check(f"GetRange({start}, {stop}) of {LARGE} values equal to what was pushed", got == values, True)
        check(f"Trim(1, -2) of {LARGE} values", self.trim(rng, lists.ns, "large", 1, -2), LARGE - 2)
        check("GetRange(0, -1) after Trim(1, -2) equal to the middle", self.get_range(rng, lists.ns, "large", 0, -1) == values[1:-1], True)

    def test_trim_to_the_middle(self, rng, lists):
        check("Trim(1, 3) length", self.trim(rng, lists.ns, "k", 1, 3), 3)
        check("list after Trim(1, 3)", self.get_range(rng, lists.ns, "k", 0, -1), ITEMS[1:4])
        check("Length after Trim(1, 3)", lists.length("k"), 3)

    def test_trim_with_negative_indexes(self, rng, lists):
        check("Trim(-2, -1) length", self.trim(rng, lists.ns, "k", -2, -1), 2)
        check("list after Trim(-2, -1)", self.get_range(rng, lists.ns, "k", 0, -1), ITEMS[-2:])

    def test_trim_to_nothing_deletes_the_list(self, rng, lists):
        check("Trim(3, 1) length", self.trim(rng, lists.ns, "k", 3, 1), 0)
        check("Length after an empty Trim", lists.length("k"), 0)
        check("PushRight onto the trimmed-away list", lists.push_right("k", b"z"), 1)

    def test_trim_that_keeps_everything(self, rng, lists):
        check("Trim(-100, 100) length", self.trim(rng, lists.ns, "k", -100, 100), 6)
        check("list after Trim(-100, 100)", self.get_range(rng, lists.ns, "k", 0, -1), ITEMS)

    def test_trim_at_far_ends_matches_the_reference(self, rng, lists):
        """Trim of a fresh copy of the list for every start, stop among ends below -size, at the
        edges and above size (start > stop too): the length and what is left, against the
        clamping reference."""
        wrong = []
        for i, (start, stop) in enumerate((a, b) for a in TRIM_EDGES for b in TRIM_EDGES):
            key = f"t{i}"
            lists.push_right(key, *ITEMS)
            want = ITEMS[reference_slice(6, start, stop)]
            got = (self.trim(rng, lists.ns, key, start, stop), self.get_range(rng, lists.ns, key, 0, -1))
            if got != (len(want), want):
                wrong.append(((start, stop), got, (len(want), want)))
        check("Trim(start, stop) over the far ends that differs from the reference (range, (length, left), want)", wrong[:5], [])

    def test_empty_names_are_invalid(self, rng, lists):
        expect_status("GetRange with an empty key", grpc.StatusCode.INVALID_ARGUMENT, lambda: self.get_range(rng, lists.ns, "", 0, -1))
        expect_status("Trim with an empty namespace", grpc.StatusCode.INVALID_ARGUMENT, lambda: self.trim(rng, "", "k", 0, -1))
