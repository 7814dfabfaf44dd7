"""The Redis plugin's Scan, Count and DropNamespace read the namespace's index, never SCAN the
database: their cost grows with the namespace, not with what else the server holds."""

from __future__ import annotations

import uuid

import pytest
import redis

from prism.keyvalue.v1 import keyvalue_pb2 as pb
from prism.keyvalue.v1 import keyvalue_pb2_grpc as pb_grpc
from prism_accept.harness.inprocess import InProcessPlugin

URL = "redis://127.0.0.1:6379/0"


def scans(client: redis.Redis) -> int:
    return int(client.info("commandstats").get("cmdstat_scan", {}).get("calls", 0))


@pytest.fixture
def server():
    client = redis.Redis.from_url(URL, socket_timeout=2)
    try:
        client.ping()
    except redis.exceptions.ConnectionError:
        pytest.skip(f"no Redis at {URL}: start it (see README)")
    yield client
    client.close()


def test_scan_count_and_drop_never_scan_the_database(server):
    plugin = InProcessPlugin("prism_redis").start({"url": URL})
    ns = f"pa-index-{uuid.uuid4().hex[:8]}"
    try:
        basic, scan = pb_grpc.KeyValueBasicStub(plugin.channel), pb_grpc.KeyValueScanStub(plugin.channel)
        for key in ("a1", "a2", "b1"):
            basic.Set(pb.SetRequest(namespace=ns, key=key, value=b"v"))
        before = scans(server)
        assert sorted(e.key for e in scan.ScanKeys(pb.ScanRequest(namespace=ns, prefix="a"))) == ["a1", "a2"]
        assert scan.Count(pb.CountRequest(namespace=ns, prefix="")).count == 3
        # every model's data goes to the index too, or DropNamespace would leave it behind
        from prism.list.v1 import list_pb2, list_pb2_grpc
        from prism.set.v1 import set_pb2, set_pb2_grpc
        from prism.sortedset.v1 import sortedset_pb2, sortedset_pb2_grpc

        list_pb2_grpc.ListBasicStub(plugin.channel).PushRight(list_pb2.PushRequest(namespace=ns, key="l", values=[b"x"]))
        set_pb2_grpc.SetBasicStub(plugin.channel).Add(set_pb2.MembersRequest(namespace=ns, set="s", members=[b"x"]))
        sortedset_pb2_grpc.SortedSetBasicStub(plugin.channel).Add(
            sortedset_pb2.AddRequest(namespace=ns, key="z", members=[sortedset_pb2.ScoredMember(member=b"x", score=1)])
        )
        plugin.drop_namespace(ns)
        assert scan.Count(pb.CountRequest(namespace=ns, prefix="")).count == 0
        assert scans(server) == before, "the plugin sent SCAN: its cost grows with the database"
        assert not server.keys(f"prism:{len(ns)}:{ns}:*"), "DropNamespace left keys behind"
    finally:
        plugin.stop()
