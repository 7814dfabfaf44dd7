"""The `#conventions` cell: the conventions every RPC of every declared interface keeps,
checked from the proto descriptors (so an RPC added to a proto is covered without a new case).

- an empty namespace, and an empty name (fields marked `(prism.options.v1.name)`), are
  INVALID_ARGUMENT;
- an oversized name is refused up front with a clear status;
- requests generated from the descriptors (Hypothesis) never answer UNKNOWN, INTERNAL or
  UNIMPLEMENTED, never crash or hang the plugin, never overrun the client's deadline;
- an amplifying request (a few KB asking for a GB answer) is refused up front;
- look-alike namespaces and names (joined with a separator, case or Unicode variants, long
  names differing at their end) never see each other's data (compliance/isolation.py);
- the plugin still answers its health check afterwards.
"""

from __future__ import annotations

import importlib
import math
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import grpc
import pytest
from google.protobuf import message_factory
from google.protobuf.descriptor import FieldDescriptor, MethodDescriptor
from google.protobuf.message import Message
from grpc_health.v1 import health_pb2, health_pb2_grpc
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from prism.options.v1 import options_pb2
from prism_accept.catalog import get_interface
from prism_accept.models.profiles import profile_name
from prism_accept.registry import BackendDeclaration
from prism_accept.runtime import isolation
from prism_accept.runtime.requests import message_strategy
from prism_accept.suites.base import InterfaceSuite, check, describe
from prism_accept.suites.requirements import requires
from prism_accept.suites.rows import AllRows

CALL_DEADLINE_S = 2.0
LENGTH_DELIMITED = 2  # the protobuf wire type of strings, bytes and messages
NEVER = {"UNKNOWN", "INTERNAL", "UNIMPLEMENTED", "DEADLINE_EXCEEDED"}
REFUSED = {"INVALID_ARGUMENT", "OUT_OF_RANGE", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION"}
OVERSIZED_NAME = "n" * 100_000
EXAMPLES = {"fast": 5, "deep": 200}  # generated requests per RPC
EXTREMES = {  # boundary values for the numeric fields of a request
    "int": [0, -1, 1, 2**31 - 1, -(2**31), 2**63 - 1, -(2**63)],
    "int32": [0, -1, 1, 2**31 - 1, -(2**31)],
    "uint": [0, 1, 2**32 - 1],
    "uint64": [0, 1, 2**64 - 1],
    "float": [0.0, -1.0, math.inf, -math.inf, math.nan, 1e308],
}
_KIND = {
    FieldDescriptor.TYPE_INT64: "int",
    FieldDescriptor.TYPE_SINT64: "int",
    FieldDescriptor.TYPE_SFIXED64: "int",
    FieldDescriptor.TYPE_INT32: "int32",
    FieldDescriptor.TYPE_SINT32: "int32",
    FieldDescriptor.TYPE_SFIXED32: "int32",
    FieldDescriptor.TYPE_UINT32: "uint",
    FieldDescriptor.TYPE_FIXED32: "uint",
    FieldDescriptor.TYPE_UINT64: "uint64",
    FieldDescriptor.TYPE_FIXED64: "uint64",
    FieldDescriptor.TYPE_DOUBLE: "float",
    FieldDescriptor.TYPE_FLOAT: "float",
}


@dataclass(frozen=True)
class Rpc:
    interface: str
    method: MethodDescriptor

    @property
    def path(self) -> str:
        return f"/{self.method.containing_service.full_name}/{self.method.name}"

    def __str__(self) -> str:
        return f"{self.interface}.{self.method.name}"

    def call(self, channel: grpc.Channel, request: Message | bytes, timeout_s: float = CALL_DEADLINE_S) -> str:
        """The status code name of the call (streams are read to their end); `request` may be
        the bytes of a request that does not decode."""
        cls = message_factory.GetMessageClass(self.method.input_type)
        serialize = None if isinstance(request, bytes) else cls.SerializeToString
        try:
            if self.method.server_streaming:
                # A clear answer is a status, or a first message in time: a subscription's ready
                # event, a scan's first entry. Then the stream is cancelled (a subscription never
                # ends by itself).
                stub = channel.unary_stream(self.path, request_serializer=serialize, response_deserializer=bytes)
                call = stub(request, timeout=timeout_s)
                for _ in call:
                    call.cancel()
                    break
            else:
                channel.unary_unary(self.path, request_serializer=serialize, response_deserializer=bytes)(request, timeout=timeout_s)
            return "OK"
        except grpc.RpcError as e:
            return "OK" if e.code() == grpc.StatusCode.CANCELLED else e.code().name


def declared_rpcs(decl: BackendDeclaration) -> list[Rpc]:
    rpcs: list[Rpc] = []
    for name in decl.implements:
        interface = get_interface(name)
        service = importlib.import_module(interface.proto_module).DESCRIPTOR.services_by_name[interface.service]
        rpcs.extend(Rpc(name, m) for m in service.methods)
    return rpcs


def name_fields(rpc: Rpc) -> list[FieldDescriptor]:
    return [
        f
        for f in rpc.method.input_type.fields
        if f.type == FieldDescriptor.TYPE_STRING and f.name != "namespace" and f.GetOptions().Extensions[options_pb2.name]
    ]


def filled(rpc: Rpc, namespace: str) -> Message:
    """A request with the namespace and every name set (other fields at their defaults)."""
    request = message_factory.GetMessageClass(rpc.method.input_type)(namespace=namespace)
    for f in name_fields(rpc):
        if f.label == FieldDescriptor.LABEL_REPEATED:
            getattr(request, f.name).append("n")
        else:
            setattr(request, f.name, "n")
    return request


def undecodable(rpc: Rpc, namespace: str) -> dict[str, bytes]:
    """Requests that do not decode, by what is wrong with them: the namespace given again as
    invalid UTF-8 (proto3 strings must be UTF-8), and, where the request holds a
    google.protobuf.Struct, one nested beyond protobuf's recursion limit (100)."""
    valid = filled(rpc, namespace).SerializeToString()
    number = rpc.method.input_type.fields_by_name["namespace"].number
    assert number < 16, "a one-byte tag"
    requests = {"an invalid UTF-8 namespace": valid + bytes([number << 3 | LENGTH_DELIMITED, 2]) + b"\xff\xfe"}
    for f in rpc.method.input_type.fields:
        if f.message_type is not None and f.message_type.full_name == "google.protobuf.Struct" and f.label != f.LABEL_REPEATED:
            request = filled(rpc, namespace)
            inner = getattr(request, f.name)
            for _ in range(150):
                inner = inner.fields["k"].struct_value
            requests[f"{f.name} nested 150 deep"] = request.SerializeToString()
            break
    return requests


def value_fields(rpc: Rpc) -> list[FieldDescriptor]:
    """The fields that carry caller data, not names: bytes (single or repeated) and maps."""
    fields = rpc.method.input_type.fields
    return [
        f for f in fields if f.type == FieldDescriptor.TYPE_BYTES or (f.message_type is not None and f.message_type.GetOptions().map_entry)
    ]


def with_value(rpc: Rpc, namespace: str, field: FieldDescriptor, size: int, limit_name: str) -> Message:
    """A valid request whose `field` holds `size` bytes: a bytes value, one element of a repeated
    one, or a map of one entry: "k" and a value of `size` bytes (of size - 1, when the limit is
    the map's total, max_attributes_bytes)."""
    request = filled(rpc, namespace)
    if field.message_type is not None:
        n = size - 1 if limit_name == "max_attributes_bytes" else size
        string = field.message_type.fields_by_name["value"].type == FieldDescriptor.TYPE_STRING
        getattr(request, field.name)["k"] = "v" * n if string else b"v" * n
    elif field.label == FieldDescriptor.LABEL_REPEATED:
        getattr(request, field.name).append(b"v" * size)
    else:
        setattr(request, field.name, b"v" * size)
    return request


def field_limit(decl: BackendDeclaration, field: FieldDescriptor) -> tuple[str, int]:
    """The declared limit of a value field: max_attributes_bytes for a map, where declared."""
    name = "max_attributes_bytes" if field.message_type is not None and "max_attributes_bytes" in decl.limits else "max_value_bytes"
    return name, decl.limits[name]


def status_rows(plugin, rows: Iterable[tuple[str, Rpc, Message | bytes]], codes: set[str], outside: bool = False) -> None:
    """Each row's request in turn: its status must be one of `codes` (with `outside`, none of
    them). Every failing row is listed at the end (suites/rows.py). A row answered
    DEADLINE_EXCEEDED or UNAVAILABLE is a failure too, and if the plugin then no longer answers
    its health check, the case ends at once (the cell is broken: no row waits out its deadline)."""
    want = f"a status other than {sorted(codes)}" if outside else (f"one of {sorted(codes)}" if len(codes) > 1 else next(iter(codes)))
    with AllRows() as table:
        for operation, rpc, request in rows:
            code = rpc.call(plugin.channel, request)
            stalled = code in ("DEADLINE_EXCEEDED", "UNAVAILABLE")
            table.require(operation, (code in codes) != outside and not stalled, f"got {code}, want {want}")
            if stalled and not serving(plugin):
                plugin.broken = f"{operation} answered {code}, and then health did not answer SERVING"
                raise AssertionError(f"{operation}: got {code}, want {want}; the plugin stopped answering")


def serving(plugin) -> bool:
    try:
        status = health_pb2_grpc.HealthStub(plugin.channel).Check(health_pb2.HealthCheckRequest(), timeout=2).status
    except grpc.RpcError:
        return False
    return status == health_pb2.HealthCheckResponse.SERVING


class ConventionsTests(InterfaceSuite):
    """Needs `plugin` and `declaration`. The status cases take every declared RPC as a row (`rpcs`);
    the generated-requests case is parametrized over them (`rpc`, params), one Hypothesis run each."""

    interface = "conventions"

    @staticmethod
    def params(decl: BackendDeclaration) -> dict[str, list]:
        rpcs = declared_rpcs(decl)
        models = list(dict.fromkeys(get_interface(name).model for name in decl.implements))
        return {"rpc": rpcs, "valued_rpc": [r for r in rpcs if value_fields(r)], "model": models}

    @pytest.fixture(scope="class")
    def rpcs(self, declaration) -> list[Rpc]:
        """Every RPC of every declared interface, the rows of the status cases."""
        return declared_rpcs(declaration)

    @pytest.fixture(scope="class")
    def status_namespace(self, plugin) -> Iterator[Callable[..., str]]:
        """One namespace per data model, for the cases that look only at status codes and never
        read data back (so they cannot interfere with each other), dropped after the last case:
        a namespace of its own per case was 39% of a case's cost. Per data model, because one
        model's names are not another's (a list `k` and a key `k` are different things)."""
        made: dict[tuple[str, str], str] = {}
        token = uuid.uuid4().hex[:12]

        def of(rpc: Rpc, suffix: str = "") -> str:
            """The namespace of the RPC's data model (`suffix`: the one next to it, its name + suffix)."""
            key = (get_interface(rpc.interface).model, suffix)
            if key not in made:
                made[key] = plugin.track(f"pa-conventions-{key[0]}-{token}{suffix}")
            return made[key]

        yield of
        for ns in made.values():
            try:
                plugin.drop_namespace(ns)
            except grpc.RpcError:
                pass  # clean-up only; the journal keeps it for the next cell's sweep

    # The status cases: every declared RPC is a row of one case (`<Service>.<Rpc> with ...`), so
    # a failure lists every RPC that breaks the convention and a deviation can name one of them.

    def test_empty_namespace_is_invalid(self, plugin, rpcs):
        requests = ((f"{rpc} with an empty namespace", rpc, filled(rpc, "")) for rpc in rpcs)
        status_rows(plugin, requests, {"INVALID_ARGUMENT"})

    def test_empty_names_are_invalid(self, plugin, rpcs, status_namespace):
        def requests():
            for rpc in rpcs:
                for f in name_fields(rpc):
                    request = filled(rpc, status_namespace(rpc))
                    if f.label == FieldDescriptor.LABEL_REPEATED:
                        getattr(request, f.name).append("")
                    else:
                        setattr(request, f.name, "")
                    yield f"{rpc} with an empty {f.name}", rpc, request

        status_rows(plugin, requests(), {"INVALID_ARGUMENT"})

    def test_oversized_names_are_refused(self, plugin, rpcs, status_namespace):
        def requests():
            for rpc in rpcs:
                for f in ["namespace", *(f.name for f in name_fields(rpc))]:
                    request = filled(rpc, status_namespace(rpc))
                    if f != "namespace" and rpc.method.input_type.fields_by_name[f].label == FieldDescriptor.LABEL_REPEATED:
                        getattr(request, f)[0] = OVERSIZED_NAME
                    else:
                        setattr(request, f, OVERSIZED_NAME)
                    yield f"{rpc} with a {len(OVERSIZED_NAME)}-character {f}", rpc, request

        status_rows(plugin, requests(), REFUSED)

    def test_undecodable_requests_are_invalid(self, plugin, rpcs, status_namespace):
        """A request that does not decode is the caller's mistake: INVALID_ARGUMENT, not the
        UNKNOWN grpc-python answers by default."""
        requests = (
            (f"{rpc} with {what}", rpc, request) for rpc in rpcs for what, request in undecodable(rpc, status_namespace(rpc)).items()
        )
        status_rows(plugin, requests, {"INVALID_ARGUMENT"})

    def test_extreme_numbers_get_a_clear_answer_in_time(self, plugin, rpcs, status_namespace):
        """Every numeric field at its boundaries (0, -1, the type's extremes, inf, nan), the
        other fields valid: never UNKNOWN/INTERNAL, never past the deadline."""

        def requests():
            for rpc in rpcs:
                for f in rpc.method.input_type.fields:
                    for value in EXTREMES.get(_KIND.get(f.type, ""), []):
                        request = filled(rpc, status_namespace(rpc))
                        if f.label == FieldDescriptor.LABEL_REPEATED:
                            getattr(request, f.name).append(value)
                        else:
                            setattr(request, f.name, value)
                        yield f"{rpc} with {f.name}={value}", rpc, request

        status_rows(plugin, requests(), NEVER, outside=True)

    @requires.limit("max_value_bytes")
    def test_the_largest_values_leave_the_plugin_serving(self, plugin, declaration, valued_rpc, namespace, related):
        """Each value field at its declared limit is answered clearly, one byte above it is refused
        up front, and afterwards the same RPC from another namespace still answers and health is
        SERVING: a request the backend cannot take must not cost the plugin its connection."""
        rpc = valued_rpc
        for f in value_fields(rpc):
            limit_name, limit = field_limit(declaration, f)
            code = rpc.call(plugin.channel, with_value(rpc, namespace, f, limit, limit_name), timeout_s=10)
            if code in NEVER or code == "UNAVAILABLE":
                raise AssertionError(f"{rpc} with a {limit}-byte {f.name} (limits.{limit_name}): got {code}, want a clear answer")
            code = rpc.call(plugin.channel, with_value(rpc, namespace, f, limit + 1, limit_name), timeout_s=10)
            if code not in REFUSED:
                raise AssertionError(
                    f"{rpc} with a {limit + 1}-byte {f.name} (limits.{limit_name} + 1): got {code}, want one of {sorted(REFUSED)}"
                )
            code = rpc.call(plugin.channel, filled(rpc, related("-after")))
            if code in NEVER or code == "UNAVAILABLE":
                raise AssertionError(f"{rpc} in another namespace after a {limit}-byte {f.name}: got {code}, want a clear answer")
        status = health_pb2_grpc.HealthStub(plugin.channel).Check(health_pb2.HealthCheckRequest(), timeout=2).status
        check(f"health after {rpc} at and above its limits", health_pb2.HealthCheckResponse.ServingStatus.Name(status), "SERVING")

    def test_generated_requests_get_a_clear_answer_in_time(self, plugin, rpc, status_namespace):
        """Never UNKNOWN/INTERNAL/UNIMPLEMENTED, never past the deadline. A plugin that stops
        answering ends the case at once (no replaying or shrinking against it)."""
        namespace = status_namespace(rpc)
        namespaces = st.sampled_from([namespace, namespace, status_namespace(rpc, ":x"), ""])

        @settings(
            max_examples=EXAMPLES[profile_name()],
            deadline=None,
            database=None,
            derandomize=profile_name() == "fast",  # the fast profile is the same run every time
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(message_strategy(rpc.method.input_type, namespaces))
        def answers(request):
            if plugin.broken:
                raise AssertionError(f"plugin stopped answering earlier: {plugin.broken}")
            t0 = time.monotonic()
            code = rpc.call(plugin.channel, request)
            took = time.monotonic() - t0
            if code == "DEADLINE_EXCEEDED" or code == "UNAVAILABLE":
                plugin.broken = f"{rpc} answered {code} after {took:.1f} s"
            if code in NEVER or code == "UNAVAILABLE":
                raise AssertionError(
                    f"{rpc}({describe(request, 300)}): got {code} after {took:.2f} s, want a status other than {sorted(NEVER)}"
                )

        answers()

    def test_look_alike_names_stay_apart(self, plugin, declaration, namespace, model):
        """Pairs that a separator join, a case fold, a Unicode normalization or a cut/hash of a
        long name would merge (isolation.look_alikes): a write to each, then every declared read
        path, subscription and durable resumption of each, before and after DropNamespace of
        one of each pair of namespaces, shows only its own data."""
        cells, dropped = isolation.look_alikes(namespace, declaration.limits.get("max_name_bytes"))
        spaces = list(dict.fromkeys(c.ns for c in cells))
        for ns in spaces:
            plugin.track(ns)
        declared = set(declaration.implements)
        try:
            if model == "pubsub":
                isolation.check_pubsub(plugin.channel, declared, cells, plugin.drop_namespace, dropped)
            else:
                refuses_nul = declaration.behaviours.get(isolation.writer(model), {}).get("nul_in_names") == "invalid_argument"
                isolation.check_model(plugin.channel, model, declared, cells, plugin.drop_namespace, dropped, refuses_nul)
        finally:
            for ns in spaces:
                if ns != namespace:
                    try:
                        plugin.drop_namespace(ns)
                    except grpc.RpcError:
                        pass  # clean-up only

    @requires.interface("keyvalue_basic")
    @requires.interface("keyvalue_batch")
    @requires.limit("max_value_bytes")
    @requires.limit("max_batch_size")
    def test_an_amplifying_batch_get_is_refused(self, plugin, declaration, namespace):
        from prism.keyvalue.v1 import keyvalue_pb2 as pb
        from prism.keyvalue.v1 import keyvalue_pb2_grpc as pb_grpc

        size, count = declaration.limits["max_value_bytes"], declaration.limits["max_batch_size"]
        pb_grpc.KeyValueBasicStub(plugin.channel).Set(pb.SetRequest(namespace=namespace, key="big", value=b"x" * size))
        request = pb.BatchGetRequest(namespace=namespace, keys=["big"] * count)
        (rpc,) = [r for r in declared_rpcs(declaration) if str(r) == "keyvalue_batch.BatchGet"]
        code = rpc.call(plugin.channel, request, timeout_s=10)
        if count * size > 256 * 1024 * 1024 and code not in REFUSED:
            raise AssertionError(
                f"BatchGet of {count} x a {size}-byte key ({count * size} bytes): got {code}, want one of {sorted(REFUSED)}"
            )

    def test_health_answers_afterwards(self, plugin, cell_record):
        cell_record("conventions_requests", str(cell_record.calls()))  # every call of the cell's channels so far
        status = health_pb2_grpc.HealthStub(plugin.channel).Check(health_pb2.HealthCheckRequest(), timeout=2).status
        check("health after every other conventions case", health_pb2.HealthCheckResponse.ServingStatus.Name(status), "SERVING")
