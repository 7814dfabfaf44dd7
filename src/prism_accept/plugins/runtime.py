"""What every Python plugin shares: the gRPC server, handshake, health, lifecycle, error mapping.

A plugin is a `Plugin`: a name, a version, a backend connector, and the servicers of the
interfaces it implements. Services of interfaces it does not implement are not registered, so
every RPC of theirs answers UNIMPLEMENTED.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import threading
from dataclasses import dataclass
from typing import Any, Callable, Protocol

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from prism.plugin.v1 import lifecycle_pb2, lifecycle_pb2_grpc
from prism_accept.plugins import handshake
from prism_accept.plugins.status import StatusError

log = logging.getLogger("prism.plugin")


class Backend(Protocol):
    """The plugin's connection to its backend instance."""

    async def connect(self, settings: dict[str, str]) -> str:
        """Connect using the settings ("url" always present); return a version string.

        Raise StatusError(UNAVAILABLE) when the instance cannot be reached."""

    async def drop_namespace(self, namespace: str) -> None:
        """Delete everything stored under the namespace."""

    async def close(self) -> None: ...


class Servicer(Protocol):
    interface: str  # the interface name in registry/interfaces.yaml

    def add_to_server(self, server: grpc.aio.Server) -> None: ...


@dataclass
class Plugin:
    name: str
    version: str
    backend: Backend
    servicers: list[Servicer]
    # Exceptions of the backend's client that mean "cannot reach the backend" (-> UNAVAILABLE).
    unavailable_errors: tuple[type[BaseException], ...] = ()


class StatusInterceptor(grpc.aio.ServerInterceptor):
    """Turns StatusError into its status, backend connection errors into UNAVAILABLE, and a
    handler that overruns the client's deadline into DEADLINE_EXCEEDED; logs anything else."""

    def __init__(self, unavailable_errors: tuple[type[BaseException], ...]):
        self.unavailable = (asyncio.TimeoutError, ConnectionError, *unavailable_errors)

    async def _map(self, e: BaseException, context: grpc.aio.ServicerContext) -> None:
        if isinstance(e, StatusError):
            await context.abort(e.code, e.message)
        if isinstance(e, self.unavailable):
            await context.abort(grpc.StatusCode.UNAVAILABLE, f"backend unavailable: {type(e).__name__}: {e}")
        log.exception("unexpected error")
        await context.abort(grpc.StatusCode.INTERNAL, f"{type(e).__name__}: {e}")

    async def intercept_service(self, continuation, handler_call_details):
        handler = await continuation(handler_call_details)
        if handler is None:
            return None
        if handler.unary_unary:
            inner_uu = handler.unary_unary

            async def unary_unary(request, context):
                try:
                    return await inner_uu(request, context)
                except (asyncio.CancelledError, grpc.aio.AbortError):
                    raise
                except Exception as e:  # noqa: BLE001 - mapped to a status
                    await self._map(e, context)

            return grpc.unary_unary_rpc_method_handler(
                unary_unary, handler.request_deserializer, handler.response_serializer
            )
        if handler.unary_stream:
            inner_us = handler.unary_stream

            async def unary_stream(request, context):
                try:
                    async for item in inner_us(request, context):
                        yield item
                except (asyncio.CancelledError, grpc.aio.AbortError):
                    raise
                except Exception as e:  # noqa: BLE001 - mapped to a status
                    await self._map(e, context)

            return grpc.unary_stream_rpc_method_handler(
                unary_stream, handler.request_deserializer, handler.response_serializer
            )
        return handler


class LifecycleServicer(lifecycle_pb2_grpc.PluginLifecycleServicer):
    def __init__(self, plugin: Plugin, health_servicer: health.aio.HealthServicer):
        self.plugin = plugin
        self.health = health_servicer

    async def GetInfo(self, request, context):
        return lifecycle_pb2.PluginInfo(
            name=self.plugin.name,
            version=self.plugin.version,
            interfaces=[s.interface for s in self.plugin.servicers],
        )

    async def Initialize(self, request, context):
        settings = dict(request.settings)
        if not settings.get("url"):
            raise StatusError(grpc.StatusCode.INVALID_ARGUMENT, "settings must contain 'url'")
        version = await self.plugin.backend.connect(settings)
        await self.health.set("", health_pb2.HealthCheckResponse.SERVING)
        return lifecycle_pb2.InitializeResponse(backend_version=version)

    async def DropNamespace(self, request, context):
        if not request.namespace:
            raise StatusError(grpc.StatusCode.INVALID_ARGUMENT, "namespace must be a non-empty string")
        await self.plugin.backend.drop_namespace(request.namespace)
        return lifecycle_pb2.DropNamespaceResponse()


def _exit_when_stdin_closes() -> None:
    """The harness holds our stdin open; EOF means it is gone, so we go too."""

    def watch() -> None:
        try:
            while sys.stdin.buffer.read(4096):
                pass
        finally:
            os._exit(0)

    threading.Thread(target=watch, name="stdin-watch", daemon=True).start()


async def serve(plugin: Plugin, host: str = "127.0.0.1", port: int = 0, on_ready: Callable[[str], Any] | None = None) -> None:
    server = grpc.aio.server(interceptors=[StatusInterceptor(plugin.unavailable_errors)])
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    lifecycle_pb2_grpc.add_PluginLifecycleServicer_to_server(LifecycleServicer(plugin, health_servicer), server)
    for servicer in plugin.servicers:
        servicer.add_to_server(server)
    bound = server.add_insecure_port(f"{host}:{port}")
    await server.start()
    await health_servicer.set("", health_pb2.HealthCheckResponse.NOT_SERVING)
    address = f"{host}:{bound}"
    if on_ready:
        on_ready(address)
    try:
        await server.wait_for_termination()
    finally:
        await plugin.backend.close()


def main(plugin_factory: Callable[[], Plugin]) -> None:
    """Entry point of a plugin process: serve, print the handshake, exit with stdin."""
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    _exit_when_stdin_closes()

    def announce(address: str) -> None:
        sys.stdout.write(handshake.format_line(address) + "\n")
        sys.stdout.flush()

    asyncio.run(serve(plugin_factory(), on_ready=announce))
