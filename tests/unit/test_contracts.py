"""The protos: every generated module imports, and the services match the catalog."""

from __future__ import annotations

import pytest
from google.protobuf.descriptor import FieldDescriptor

from prism.document.v1 import document_pb2, document_pb2_grpc
from prism.graph.v1 import graph_pb2, graph_pb2_grpc
from prism.keyvalue.v1 import keyvalue_pb2, keyvalue_pb2_grpc
from prism.list.v1 import list_pb2, list_pb2_grpc
from prism.plugin.v1 import lifecycle_pb2, lifecycle_pb2_grpc
from prism.pubsub.v1 import pubsub_pb2, pubsub_pb2_grpc
from prism.queue.v1 import queue_pb2, queue_pb2_grpc
from prism.set.v1 import set_pb2, set_pb2_grpc
from prism.sortedset.v1 import sortedset_pb2, sortedset_pb2_grpc
from prism.stream.v1 import stream_pb2, stream_pb2_grpc
from prism.timeseries.v1 import timeseries_pb2, timeseries_pb2_grpc
from prism_accept.catalog import load_catalog

MODEL_MODULES = [document_pb2, graph_pb2, keyvalue_pb2, list_pb2, pubsub_pb2, queue_pb2, set_pb2, sortedset_pb2, stream_pb2, timeseries_pb2]
GRPC_MODULES = [
    document_pb2_grpc,
    graph_pb2_grpc,
    keyvalue_pb2_grpc,
    list_pb2_grpc,
    lifecycle_pb2_grpc,
    pubsub_pb2_grpc,
    queue_pb2_grpc,
    set_pb2_grpc,
    sortedset_pb2_grpc,
    stream_pb2_grpc,
    timeseries_pb2_grpc,
]


def proto_services() -> dict[str, object]:
    return {s.full_name: s for m in MODEL_MODULES for s in m.DESCRIPTOR.services_by_name.values()}


def test_every_generated_module_has_its_services():
    want = {f"{i.proto_module}_grpc" for i in load_catalog()} | {lifecycle_pb2_grpc.__name__}
    assert {m.__name__ for m in GRPC_MODULES} == want, "one gRPC module per data model of the catalog, and the lifecycle's"
    for module in GRPC_MODULES:
        stubs = [n for n in dir(module) if n.endswith("Stub")]
        assert stubs, f"{module.__name__} has no stubs"
    assert "PluginLifecycle" in lifecycle_pb2.DESCRIPTOR.services_by_name


def test_catalog_and_protos_name_the_same_45_services():
    catalog = {i.full_service_name for i in load_catalog()}
    assert catalog == set(proto_services())
    assert len(catalog) == 45


@pytest.mark.parametrize("interface", [i.name for i in load_catalog()])
def test_every_request_carries_a_namespace(interface):
    by_name = {i.name: i for i in load_catalog()}
    service = proto_services()[by_name[interface].full_service_name]
    for method in service.methods:
        assert carries_namespace(method.input_type), f"{service.full_name}.{method.name}({method.input_type.name}) has no string namespace"


def carries_namespace(message, depth: int = 3) -> bool:
    """A string `namespace` field, or a wrapped request that has one (e.g. RollupRequest.aggregate.query)."""
    field = message.fields_by_name.get("namespace")
    if field is not None:
        return field.type == FieldDescriptor.TYPE_STRING
    return depth > 0 and any(
        carries_namespace(f.message_type, depth - 1)
        for f in message.fields
        if f.type == FieldDescriptor.TYPE_MESSAGE and f.label != FieldDescriptor.LABEL_REPEATED
    )
