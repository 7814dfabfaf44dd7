"""graph_query's SQL sandbox on the local PostgreSQL: one namespace's query cannot read another
namespace's running query text (pg_stat_activity) nor cancel or terminate it, since each
namespace's queries log in as a role of their own; DropNamespace drops that role."""

from __future__ import annotations

import os
import threading
import uuid

import grpc
import pytest

from prism.graph.v1 import graph_pb2 as pb
from prism.graph.v1 import graph_pb2_grpc as pb_grpc
from prism.plugin.v1 import lifecycle_pb2, lifecycle_pb2_grpc
from prism_accept.harness.net import reachable
from prism_plugin.runtime import InProcessServer

URL = "postgresql://postgres@127.0.0.1:5432/test"  # the local service (registry/backends/postgres.yaml)
SLEEPER = "SELECT 1 AS slept FROM pg_sleep(1.5)"
TERMINATE_OTHERS = (
    "SELECT bool_or(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE usename LIKE 'prism_graph_ns_%' AND pid <> pg_backend_pid()"
)


@pytest.fixture
def plugin():
    if not reachable(URL):
        if os.environ.get("CI") == "true":
            pytest.fail(f"no PostgreSQL at {URL} (CI=true)")
        pytest.skip(f"no PostgreSQL at {URL}: start it to run this test")
    import prism_postgres

    server = InProcessServer(prism_postgres.build_plugin)
    channel = grpc.insecure_channel(server.start())
    lifecycle = lifecycle_pb2_grpc.PluginLifecycleStub(channel)
    lifecycle.Initialize(lifecycle_pb2.InitializeRequest(settings={"url": URL}), timeout=10)
    namespaces = [f"pa-sandbox-{uuid.uuid4().hex[:8]}-{side}" for side in "ab"]
    yield pb_grpc.GraphQueryStub(channel), namespaces
    for ns in namespaces:
        lifecycle.DropNamespace(lifecycle_pb2.DropNamespaceRequest(namespace=ns), timeout=10)
    channel.close()
    server.stop()


def query(stub, ns: str, text: str):
    return stub.Query(pb.QueryRequest(namespace=ns, language="sql", text=text), timeout=10)


def test_a_namespace_neither_sees_nor_stops_another_namespaces_query(plugin):
    stub, (a, b) = plugin
    answers: dict[str, object] = {}
    sleeper = threading.Thread(target=lambda: answers.setdefault("a", query(stub, a, SLEEPER)))
    sleeper.start()
    seen = [0]
    for _ in range(50):  # until A's query runs (its own role sees it), then B looks
        seen = [int(r.cells[0]) for r in query(stub, a, "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(1.5)%'").rows]
        if seen[0] >= 2:  # A's sleeper and this very query
            break
    visible = query(stub, b, "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(1.5)%' AND pid <> pg_backend_pid()")
    assert [r.cells for r in visible.rows] == [["0"]], "namespace B read the text of A's running query"
    with pytest.raises(grpc.RpcError) as refused:
        query(
            stub,
            b,
            TERMINATE_OTHERS,
        )
    assert (
        refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "must be a member of the role" in refused.value.details()
    ), refused.value
    sleeper.join(10)
    assert [r.cells for r in answers["a"].rows] == [["1"]], "A's query was stopped"
