"""What every Python plugin shares: the gRPC server, handshake, health, lifecycle, request
conventions and error mapping.

A plugin is a `Plugin`: a name, a version, a connector to its backend, and one servicer per
interface it implements (`contracts/`), each over the store that serves it. Services of the
interfaces it does not implement are not registered, so their RPCs answer UNIMPLEMENTED.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from prism.plugin.v1 import lifecycle_pb2, lifecycle_pb2_grpc
from prism_plugin import deadlines, handshake
from prism_plugin.contract import InterfaceServicer
from prism_plugin.conventions import Limits, check_request
from prism_plugin.status import StatusError, shown
from prism_plugin.urls import bad_port, redact_text

log = logging.getLogger("prism.plugin")


class Connector(Protocol):
    """The plugin's connection to its backend instance."""

    async def connect(self, settings: dict[str, str]) -> str:
        """Connect using the settings ("url" always present); return the server's version.
        Called again on a second Initialize: release what the first one held.

        Raise StatusError(UNAVAILABLE) when the instance cannot be reached."""

    async def drop_namespace(self, namespace: str) -> None:
        """Delete everything stored under the namespace."""

    async def close(self) -> None:
        ...

    # Optional: `async def healthy(self) -> bool`, whether the backend can be used now; a
    # connection found lost is opened again there (the plugin reconnects by itself). Health
    # answers NOT_SERVING while it is False (BackendHealth). A connector without it is always
    # healthy once initialized (memstore's engine is inside the plugin).


HEALTH_PROBE_S = 1.0  # a backend that does not answer the health probe in this time is unhealthy


def _retrieved(task: asyncio.Future) -> None:
    """Read a background probe's outcome, so that its failure is not reported as never retrieved."""
    if not task.cancelled():
        task.exception()


class BackendHealth(health.aio.HealthServicer):
    """The standard health service, whose overall status follows the backend connection: once
    Initialize has succeeded, each Check asks the connector (`healthy()`), so health is
    NOT_SERVING while the backend is lost and SERVING again once the plugin has reconnected."""

    def __init__(self, connector: Connector):
        super().__init__()
        self.connector = connector
        self.initialized = False
        self._probe: asyncio.Future | None = None  # the probe in flight, shared by concurrent Checks

    async def _healthy(self) -> bool:
        """The connector's answer within HEALTH_PROBE_S, else False. A probe that overruns is
        left to finish in the background, not cancelled and awaited: cancelling a client's call
        may itself wait on the unreachable backend (psycopg sends a cancel request), which would
        make Check overrun its deadline. One probe at a time: later Checks wait on the same one."""
        probe = getattr(self.connector, "healthy", None)
        if probe is None:
            return True
        task: asyncio.Future = self._probe if self._probe is not None and not self._probe.done() else asyncio.ensure_future(probe())
        if task is not self._probe:
            task.add_done_callback(_retrieved)
            self._probe = task
        done, _ = await asyncio.wait({task}, timeout=HEALTH_PROBE_S)
        if not done:
            return False
        try:
            return bool(task.result())
        except Exception:  # noqa: BLE001 - any failure to answer is "not healthy"
            log.warning("health probe failed", exc_info=True)
            return False

    async def Check(self, request, context):
        if self.initialized and not request.service:
            up = await self._healthy()
            await self.set("", health_pb2.HealthCheckResponse.SERVING if up else health_pb2.HealthCheckResponse.NOT_SERVING)
        return await super().Check(request, context)


@dataclass
class Plugin:
    name: str
    version: str
    connector: Connector
    servicers: list[InterfaceServicer[Any]]
    limits: Limits = field(default_factory=Limits)
    # Exceptions of the backend's client that mean "cannot reach the backend" (-> UNAVAILABLE).
    unavailable_errors: tuple[type[BaseException], ...] = ()


@dataclass(frozen=True)
class _Undecodable:
    """What a request that does not decode (invalid UTF-8 in a string, nesting beyond protobuf's
    recursion limit) becomes, so its handler answers INVALID_ARGUMENT instead of grpc-python's
    UNKNOWN "Unexpected DecodeError"."""

    error: str


def _tolerant(deserializer: Callable[[bytes], Any] | None) -> Callable[[bytes], Any] | None:
    if deserializer is None:
        return None
    decode: Callable[[bytes], Any] = deserializer

    def deserialize(data: bytes) -> Any:
        try:
            return decode(data)
        except Exception as e:  # noqa: BLE001 - DecodeError, RecursionError...: the request is malformed
            return _Undecodable(f"{type(e).__name__}: {shown(str(e))}")

    return deserialize


class StatusInterceptor(grpc.aio.ServerInterceptor):
    """Checks every request against the conventions before its handler runs; turns StatusError
    into its status and backend connection errors into UNAVAILABLE; logs anything else."""

    def __init__(self, limits: Limits, unavailable_errors: tuple[type[BaseException], ...]):
        self.limits = limits
        self.unavailable: tuple[type[BaseException], ...] = (asyncio.TimeoutError, ConnectionError, *unavailable_errors)
        self._wrapped: dict[str, tuple[grpc.RpcMethodHandler, grpc.RpcMethodHandler]] = {}

    async def _map(self, e: BaseException, context: grpc.aio.ServicerContext) -> None:
        if isinstance(e, StatusError):
            await context.abort(e.code, e.message)
        if isinstance(e, self.unavailable):
            await context.abort(grpc.StatusCode.UNAVAILABLE, f"backend unavailable: {type(e).__name__}: {shown(redact_text(str(e)))}")
        log.exception("unexpected error")
        await context.abort(grpc.StatusCode.INTERNAL, f"{type(e).__name__}: {shown(redact_text(str(e)))}")

    def _check(self, request: Any) -> None:
        if isinstance(request, _Undecodable):
            raise StatusError(grpc.StatusCode.INVALID_ARGUMENT, f"the request does not decode: {request.error}")
        check_request(request, self.limits)

    async def intercept_service(self, continuation, handler_call_details):
        handler = await continuation(handler_call_details)
        if handler is None:
            return None
        # A method's handler is the same object on every call: wrap it once, not per call (one
        # entry per method name, so a handler that is new on every call costs a wrap, never memory).
        method = handler_call_details.method
        cached = self._wrapped.get(method)
        if cached is None or cached[0] is not handler:
            cached = self._wrapped[method] = (handler, self._wrap(handler))
        return cached[1]

    def _wrap(self, handler: grpc.RpcMethodHandler) -> grpc.RpcMethodHandler:
        if handler.unary_unary:
            inner_uu = handler.unary_unary

            async def unary_unary(request, context):
                try:
                    deadlines.record(context.time_remaining())
                    self._check(request)
                    return await inner_uu(request, context)
                except (asyncio.CancelledError, grpc.aio.AbortError):
                    raise
                except Exception as e:  # noqa: BLE001 - mapped to a status
                    await self._map(e, context)

            return grpc.unary_unary_rpc_method_handler(unary_unary, _tolerant(handler.request_deserializer), handler.response_serializer)
        if handler.unary_stream:
            inner_us = handler.unary_stream

            async def unary_stream(request, context):
                try:
                    deadlines.record(context.time_remaining())
                    self._check(request)
                    async for item in inner_us(request, context):
                        yield item
                except (asyncio.CancelledError, grpc.aio.AbortError):
                    raise
                except Exception as e:  # noqa: BLE001 - mapped to a status
                    await self._map(e, context)

            return grpc.unary_stream_rpc_method_handler(unary_stream, _tolerant(handler.request_deserializer), handler.response_serializer)
        return handler


class LifecycleServicer(lifecycle_pb2_grpc.PluginLifecycleServicer):
    def __init__(self, plugin: Plugin, health_servicer: BackendHealth):
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
        why = bad_port(settings["url"])
        if why is not None:
            raise StatusError(grpc.StatusCode.INVALID_ARGUMENT, f"bad URL: {why}")
        # Not serving until this Initialize succeeds: a failed second one leaves no stale SERVING.
        self.health.initialized = False
        await self.health.set("", health_pb2.HealthCheckResponse.NOT_SERVING)
        version = await self.plugin.connector.connect(settings)
        await self.health.set("", health_pb2.HealthCheckResponse.SERVING)
        self.health.initialized = True
        return lifecycle_pb2.InitializeResponse(backend_version=version)

    async def DropNamespace(self, request, context):
        if not request.namespace:
            raise StatusError(grpc.StatusCode.INVALID_ARGUMENT, "namespace must be a non-empty string")
        await self.plugin.connector.drop_namespace(request.namespace)
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


async def start(plugin: Plugin, host: str = "127.0.0.1", port: int = 0) -> tuple[grpc.aio.Server, str]:
    """A started server for the plugin and its address; NOT_SERVING until Initialize."""
    server = grpc.aio.server(
        interceptors=[StatusInterceptor(plugin.limits, plugin.unavailable_errors)],
        options=[
            ("grpc.max_receive_message_length", 2 * plugin.limits.max_response_bytes),
            ("grpc.max_send_message_length", 2 * plugin.limits.max_response_bytes),
        ],
    )
    health_servicer = BackendHealth(plugin.connector)
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    lifecycle_pb2_grpc.add_PluginLifecycleServicer_to_server(LifecycleServicer(plugin, health_servicer), server)
    for servicer in plugin.servicers:
        servicer.limits = plugin.limits
        servicer.add_to_server(server)
    bound = server.add_insecure_port(f"{host}:{port}")
    await server.start()
    await health_servicer.set("", health_pb2.HealthCheckResponse.NOT_SERVING)
    return server, f"{host}:{bound}"


async def serve(plugin: Plugin, on_ready: Callable[[str], Any] | None = None) -> None:
    server, address = await start(plugin)
    if on_ready:
        on_ready(address)
    try:
        await server.wait_for_termination()
    finally:
        await plugin.connector.close()


class InProcessServer:
    """A plugin served on loopback from a thread of the calling process (its own event loop):
    the same gRPC surface as a subprocess, without an interpreter start per cell."""

    def __init__(self, plugin_factory: Callable[[], Plugin]):
        self._factory = plugin_factory
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="plugin-loop", daemon=True)
        self._server: grpc.aio.Server | None = None
        self._plugin: Plugin | None = None
        self.address = ""

    def start(self, timeout_s: float = 10.0) -> str:
        self._thread.start()

        async def go() -> str:
            self._plugin = self._factory()
            self._server, address = await start(self._plugin)
            return address

        self.address = asyncio.run_coroutine_threadsafe(go(), self._loop).result(timeout_s)
        return self.address

    def stop(self, timeout_s: float = 5.0) -> None:
        async def halt() -> None:
            if self._server is not None:
                await self._server.stop(grace=None)
            if self._plugin is not None:
                await self._plugin.connector.close()

        if self._thread.is_alive():
            try:
                asyncio.run_coroutine_threadsafe(halt(), self._loop).result(timeout_s)
            finally:
                self._loop.call_soon_threadsafe(self._loop.stop)
                self._thread.join(timeout_s)


def main(plugin_factory: Callable[[], Plugin]) -> None:
    """Entry point of a plugin process: serve, print the handshake, exit with stdin."""
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    _exit_when_stdin_closes()

    def announce(address: str) -> None:
        sys.stdout.write(handshake.format_line(address) + "\n")
        sys.stdout.flush()

    asyncio.run(serve(plugin_factory(), on_ready=announce))
