"""The SDK's health service follows the plugin's backend connection (`Connector.healthy`)."""

from __future__ import annotations

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from prism.plugin.v1 import lifecycle_pb2, lifecycle_pb2_grpc
from prism_plugin.runtime import InProcessServer, Plugin

SERVING, NOT_SERVING = health_pb2.HealthCheckResponse.SERVING, health_pb2.HealthCheckResponse.NOT_SERVING


class FlakyBackend:
    """A connector whose backend comes and goes as the test says."""

    def __init__(self) -> None:
        self.up = True

    async def connect(self, settings: dict[str, str]) -> str:
        return "flaky 1.0"

    async def healthy(self) -> bool:
        if self.up is None:
            raise ConnectionError("the probe itself fails")
        return self.up

    async def drop_namespace(self, namespace: str) -> None:
        pass

    async def close(self) -> None:
        pass


def test_health_is_not_serving_while_the_backend_is_lost_and_serving_once_it_is_back():
    backend = FlakyBackend()
    server = InProcessServer(lambda: Plugin(name="flaky", version="1", connector=backend, servicers=[]))
    channel = grpc.insecure_channel(server.start())
    try:
        health = health_pb2_grpc.HealthStub(channel)

        def status() -> int:
            return health.Check(health_pb2.HealthCheckRequest(), timeout=5).status

        assert status() == NOT_SERVING, "before Initialize"
        lifecycle_pb2_grpc.PluginLifecycleStub(channel).Initialize(lifecycle_pb2.InitializeRequest(settings={"url": "x://y"}), timeout=5)
        assert status() == SERVING
        for up, want in ((False, NOT_SERVING), (True, SERVING), (None, NOT_SERVING), (True, SERVING)):
            backend.up = up
            got = status()
            assert got == want, f"health with the backend {'up' if up else 'down'}: got {got}, want {want}"
    finally:
        channel.close()
        server.stop()
