"""The set model cell: every declared set interface against Python sets."""

from __future__ import annotations

from hypothesis import strategies as st
from hypothesis.stateful import rule

from prism.set.v1 import set_pb2 as pb
from prism.set.v1 import set_pb2_grpc as pb_grpc
from prism_accept.models.machine import ModelMachine, declares, namespace_index, run
from prism_accept.suites.base import check
from prism_accept.suites.requirements import requires

KEYS = ["s", "S", "s:s", "set:s", "*", "é"]
keys = st.sampled_from(["s", "s", "s", "s", *KEYS])  # "s" most: sets grow where reads meet them
VALUES = [b"", b"a", b"b", b"c", b"\xff", b"\x00z"]
values = st.sampled_from(VALUES)
PATHS = {"members": "set_basic", "cardinality": "set_cardinality", "operations": "set_operations"}


class SetMachine(ModelMachine):
    PATHS = PATHS

    def __init__(self, plugin, declared, base):
        super().__init__(plugin, declared, base)
        ch = plugin.channel
        self.basic, self.ops = pb_grpc.SetBasicStub(ch), pb_grpc.SetOperationsStub(ch)
        self.card, self.rnd = pb_grpc.SetCardinalityStub(ch), pb_grpc.SetRandomStub(ch)
        self.model: dict[tuple[str, str], set[bytes]] = {}

    def members(self, ns: str, key: str) -> set[bytes]:
        return self.model.get((ns, key), set())

    def store(self, ns: str, key: str, members: set[bytes]) -> None:
        if members:
            self.model[(ns, key)] = members
        else:
            self.model.pop((ns, key), None)

    @declares("set_basic")
    @rule(i=namespace_index, key=keys, vs=st.lists(values, min_size=1, max_size=3))
    def add(self, i, key, vs):
        ns = self.namespaces[i]
        current = self.members(ns, key)
        got = self.call(self.basic.Add, pb.MembersRequest(namespace=ns, set=key, members=vs)).count
        check(f"Add {key!r} {vs}", got, len(set(vs) - current))
        self.store(ns, key, current | set(vs))

    @declares("set_basic")
    @rule(vs=st.lists(values, min_size=1, max_size=3), data=st.data())
    def remove(self, vs, data):
        ns, key = self.target(data, keys)
        current = self.members(ns, key)
        got = self.call(self.basic.Remove, pb.MembersRequest(namespace=ns, set=key, members=vs)).count
        check(f"Remove {key!r} {vs}", got, len(set(vs) & current))
        self.store(ns, key, current - set(vs))

    @declares("set_random")
    @rule(count=st.integers(1, 4), pop=st.booleans(), data=st.data())
    def random(self, count, pop, data):
        ns, key = self.target(data, keys)
        current = self.members(ns, key)
        call = self.rnd.PopRandomMember if pop else self.rnd.GetRandomMember
        got = list(self.call(call, pb.RandomRequest(namespace=ns, set=key, count=count)).members)
        what = f"{'Pop' if pop else 'Get'}RandomMember {key!r} count={count}"
        check(f"{what}: members outside the set", sorted(set(got) - current), [])
        check(f"{what}: how many distinct", (len(got), len(set(got))), (min(count, len(current)),) * 2)
        if pop:
            self.store(ns, key, current - set(got))

    @declares("sortedset_basic")
    @rule(i=namespace_index, key=keys, value=values)
    def a_sorted_set_under_the_same_name(self, i, key, value):
        """Another model's data under the same namespace and name must not show in a set."""
        from prism.sortedset.v1 import sortedset_pb2, sortedset_pb2_grpc

        member = sortedset_pb2.ScoredMember(member=value + b"-z", score=1.0)
        self.call(
            sortedset_pb2_grpc.SortedSetBasicStub(self.plugin.channel).Add,
            sortedset_pb2.AddRequest(namespace=self.namespaces[i], key=key, members=[member]),
        )

    @rule(i=namespace_index, path=st.sampled_from(sorted(PATHS)))
    def observe(self, i, path):
        self.read(path, self.namespaces[i])

    def read_members(self, ns):
        for key in KEYS:
            got = sorted(self.call(self.basic.GetMembers, pb.SetRequest(namespace=ns, set=key)).members)
            check(f"GetMembers {key!r}", got, sorted(self.members(ns, key)))
        for value in VALUES[:2]:
            got = self.call(self.basic.Contains, pb.ContainsRequest(namespace=ns, set="s", member=value)).contains
            check(f"Contains 's' {value!r}", got, value in self.members(ns, "s"))

    def read_cardinality(self, ns):
        for key in KEYS:
            size = self.call(self.card.GetSize, pb.SetRequest(namespace=ns, set=key)).count
            check(f"GetSize {key!r}", size, len(self.members(ns, key)))
        got = list(self.call(self.card.IsMember, pb.MembersRequest(namespace=ns, set="s", members=VALUES)).is_member)
        check(f"IsMember 's' {VALUES}", got, [v in self.members(ns, "s") for v in VALUES])

    def read_operations(self, ns):
        every = [self.members(ns, k) for k in KEYS]
        answers = {
            "Union": set().union(*every),
            "Intersection": every[0].intersection(*every[2:]),
            "Difference": every[0].difference(*every[2:]),
        }
        for name, want in answers.items():
            chosen = KEYS if name == "Union" else [KEYS[0], *KEYS[2:]]
            got = sorted(self.call(getattr(self.ops, name), pb.SetsRequest(namespace=ns, sets=chosen)).members)
            check(f"{name} {chosen}", got, sorted(want))


@requires.interface("set_basic")  # the machine builds sets with Add
class SetModelTests:
    def test_state_machine(self, plugin, declaration):
        run(lambda: SetMachine(plugin, frozenset(declaration.implements), "pa-model-set"))
