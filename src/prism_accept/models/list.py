"""The list model cell: every declared list interface against Python lists, Redis semantics."""

from __future__ import annotations

import grpc
from hypothesis import strategies as st
from hypothesis.stateful import precondition, rule

from prism.list.v1 import list_pb2 as pb
from prism.list.v1 import list_pb2_grpc as pb_grpc
from prism_accept.models.machine import ModelMachine, declares, namespace_index, run
from prism_accept.suites.base import check, expect_status
from prism_accept.suites.requirements import requires

KEYS = ["l", "L", "l:l", "kv:l", "*", "é"]
keys = st.sampled_from(["l", "l", "l", "l", *KEYS])  # "l" most: lists grow where reads meet them
VALUES = [b"", b"a", b"b", b"c", b"\xff", b"\x00z"]
values = st.sampled_from(VALUES)
BLOCKING_TIMEOUT_MS = 20
indexes = st.integers(-4, 4)
PATHS = {"length": "list_basic", "range": "list_range", "index": "list_indexing"}


def clamp(n: int, start: int, stop: int) -> tuple[int, int]:
    """Redis LRANGE/LTRIM bounds as a Python slice."""
    start = max(0, start + n) if start < 0 else start
    stop = stop + n if stop < 0 else stop
    stop = min(stop, n - 1)
    return (0, 0) if start > stop else (start, stop + 1)


class ListMachine(ModelMachine):
    PATHS = PATHS

    def __init__(self, plugin, declared, base):
        super().__init__(plugin, declared, base)
        ch = plugin.channel
        self.basic, self.indexing = pb_grpc.ListBasicStub(ch), pb_grpc.ListIndexingStub(ch)
        self.range_stub, self.blocking = pb_grpc.ListRangeStub(ch), pb_grpc.ListBlockingStub(ch)
        self.model: dict[tuple[str, str], list[bytes]] = {}

    def lst(self, ns: str, key: str) -> list[bytes]:
        return self.model.get((ns, key), [])

    def store(self, ns: str, key: str, values: list[bytes]) -> None:
        if values:
            self.model[(ns, key)] = values
        else:
            self.model.pop((ns, key), None)

    @declares("list_basic")
    @rule(i=namespace_index, key=keys, vs=st.lists(values, min_size=1, max_size=3), left=st.booleans())
    def push(self, i, key, vs, left):
        ns = self.namespaces[i]
        new = [*reversed(vs), *self.lst(ns, key)] if left else [*self.lst(ns, key), *vs]
        call = self.basic.PushLeft if left else self.basic.PushRight
        check(
            f"Push{'Left' if left else 'Right'} {key!r} {vs} length",
            self.call(call, pb.PushRequest(namespace=ns, key=key, values=vs)).length,
            len(new),
        )
        self.store(ns, key, new)

    @declares("list_basic")
    @rule(data=st.data(), vs=st.lists(values, min_size=2, max_size=4))
    def grow(self, data, vs):
        """Pushes onto a list the model holds: lists grow as often as other rules shrink them,
        so the rules that need a long list (insert, remove, trim) meet one."""
        ns, key = self.target(data, keys)
        self.push(self.namespaces.index(ns), key, vs, left=False)

    @declares("list_basic")
    @rule(count=st.integers(1, 2), left=st.booleans(), data=st.data())
    def pop(self, count, left, data):
        ns, key = self.target(data, keys)
        lst = self.lst(ns, key)
        want = lst[:count] if left else list(reversed(lst[-count:]))
        rest = lst[count:] if left else lst[: max(0, len(lst) - count)]
        call = self.basic.PopLeft if left else self.basic.PopRight
        check(
            f"Pop{'Left' if left else 'Right'} {key!r} count={count}",
            list(self.call(call, pb.PopRequest(namespace=ns, key=key, count=count)).values),
            want,
        )
        self.store(ns, key, rest)

    @declares("list_indexing")
    @rule(index=indexes, value=values, data=st.data())
    def set_index(self, index, value, data):
        ns, key = self.target(data, keys)
        lst = self.lst(ns, key)
        request = pb.IndexSetRequest(namespace=ns, key=key, index=index, value=value)
        if -len(lst) <= index < len(lst):
            self.call(self.indexing.Set, request)
            lst[index] = value
        else:
            expect_status(
                f"Set {key!r}[{index}] outside a list of {len(lst)}",
                grpc.StatusCode.OUT_OF_RANGE,
                lambda: self.call(self.indexing.Set, request),
            )

    @declares("list_indexing")
    @precondition(lambda self: any(self.model.values()))  # a list to insert into (the rule mostly picks one)
    @rule(before=st.booleans(), data=st.data())
    def insert(self, before, data):
        ns, key = self.target(data, keys)
        lst = list(self.lst(ns, key))
        # Same draws whatever the list holds; mostly a pivot it holds (Hypothesis favours 0).
        held = data.draw(st.integers(0, 4), label="held pivot") < 4
        pick, other = data.draw(st.integers(0, 2**16 - 1), label="pivot index"), data.draw(values, label="pivot")
        pivot = lst[pick % len(lst)] if lst and held else other
        value = data.draw(st.sampled_from([v for v in VALUES if v != pivot]), label="value")
        position = pb.InsertRequest.BEFORE if before else pb.InsertRequest.AFTER
        r = self.call(self.indexing.Insert, pb.InsertRequest(namespace=ns, key=key, position=position, pivot=pivot, value=value))
        at = lst.index(pivot) + (0 if before else 1) if pivot in lst else None
        if at is not None:
            lst.insert(at, value)
        check(
            f"Insert {'before' if before else 'after'} {pivot!r} in {key!r}: (pivot_found, length)",
            (r.pivot_found, r.length),
            (pivot in self.lst(ns, key), len(lst)),
        )
        self.store(ns, key, lst)
        if at is not None:  # where it went, at once (a later read may not tell before from after)
            got = self.call(self.indexing.Get, pb.IndexGetRequest(namespace=ns, key=key, index=at)).value
            check(f"Get {key!r}[{at}] after Insert {'before' if before else 'after'} {pivot!r}", got, value)

    @declares("list_indexing")
    @rule(value=values, count=st.integers(-2, 2), data=st.data())
    def remove(self, value, count, data):
        ns, key = self.target(data, keys)
        lst = self.lst(ns, key)
        order = range(len(lst) - 1, -1, -1) if count < 0 else range(len(lst))
        hits = set([j for j in order if lst[j] == value][: abs(count) or None])
        removed = self.call(self.indexing.Remove, pb.RemoveRequest(namespace=ns, key=key, value=value, count=count)).removed
        check(f"Remove {value!r} count={count} from {key!r}", removed, len(hits))
        self.store(ns, key, [v for j, v in enumerate(lst) if j not in hits])

    @declares("list_range")
    @rule(start=st.sampled_from([0, 1, -3]), stop=st.sampled_from([-1, -2, 3, 0]), data=st.data())
    def trim(self, start, stop, data):
        ns, key = self.target(data, keys)
        lst = self.lst(ns, key)
        lo, hi = clamp(len(lst), start, stop)
        check(
            f"Trim {key!r} {start}..{stop} length",
            self.call(self.range_stub.Trim, pb.TrimRequest(namespace=ns, key=key, start=start, stop=stop)).length,
            hi - lo,
        )
        self.store(ns, key, lst[lo:hi])

    @declares("list_blocking")
    @rule(i=namespace_index, chosen=st.lists(keys, min_size=1, max_size=3, unique=True), left=st.booleans())
    def blocking_pop(self, i, chosen, left):
        ns = self.namespaces[i]
        first = next((k for k in chosen if self.lst(ns, k)), None)
        call = self.blocking.BlockingPopLeft if left else self.blocking.BlockingPopRight
        # A short timeout: the answer on empty lists is the state check here (the timeout itself
        # is list_blocking's), and every empty pop waits it out (most of a deep run's wall time).
        r = self.call(call, pb.BlockingPopRequest(namespace=ns, keys=chosen, timeout_ms=BLOCKING_TIMEOUT_MS))
        if first is None:
            check(f"BlockingPop {chosen} on empty lists .found", r.found, False)
            return
        lst = self.lst(ns, first)
        check(f"BlockingPop {chosen}: (key, value)", (r.found, r.key, r.value), (True, first, lst[0] if left else lst[-1]))
        self.store(ns, first, lst[1:] if left else lst[:-1])

    @declares("keyvalue_basic")
    @rule(i=namespace_index, key=keys, value=values)
    def a_key_under_the_same_name(self, i, key, value):
        """Another model's data under the same namespace and name must not show in a list."""
        from prism.keyvalue.v1 import keyvalue_pb2, keyvalue_pb2_grpc

        self.call(
            keyvalue_pb2_grpc.KeyValueBasicStub(self.plugin.channel).Set,
            keyvalue_pb2.SetRequest(namespace=self.namespaces[i], key=key, value=value),
        )

    @rule(i=namespace_index, path=st.sampled_from(sorted(PATHS)))
    def observe(self, i, path):
        self.read(path, self.namespaces[i])

    def read_length(self, ns):
        for key in KEYS:
            check(f"Length {key!r}", self.call(self.basic.Length, pb.LengthRequest(namespace=ns, key=key)).length, len(self.lst(ns, key)))

    def read_range(self, ns):
        for key in KEYS:
            got = list(self.call(self.range_stub.GetRange, pb.GetRangeRequest(namespace=ns, key=key, start=0, stop=-1)).values)
            check(f"GetRange {key!r} 0..-1", got, self.lst(ns, key))

    def read_index(self, ns):
        for key in KEYS:
            lst = self.lst(ns, key)
            got = [self.call(self.indexing.Get, pb.IndexGetRequest(namespace=ns, key=key, index=j)).value for j in range(len(lst))]
            check(f"Get {key!r}[0..{len(lst) - 1}]", got, lst)
            request = pb.IndexGetRequest(namespace=ns, key=key, index=len(lst))
            expect_status(
                f"Get {key!r}[{len(lst)}] past the end", grpc.StatusCode.OUT_OF_RANGE, lambda: self.call(self.indexing.Get, request)
            )


@requires.interface("list_basic")  # the machine builds lists with pushes
class ListModelTests:
    def test_state_machine(self, plugin, declaration):
        run(lambda: ListMachine(plugin, frozenset(declaration.implements), "pa-model-list"))
