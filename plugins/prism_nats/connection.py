"""The NATS plugin's connection: one client (nats-py, asyncio) and its JetStream context, every
request bounded by REQUEST_TIMEOUT_S; DropNamespace deletes every stream (and so every consumer
and KV bucket) the plugin made for the namespace, nothing else: it asks the server for the streams
with subjects under the namespace's (O(namespace)), and deletes those whose names say so."""

from __future__ import annotations

import asyncio
import json
from typing import Any, Callable

import nats
import nats.errors
import nats.js.errors
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import RawStreamMsg, StreamConfig

from prism_nats import names
from prism_plugin.status import failed_precondition, invalid, unavailable
from prism_plugin.urls import redact_text, redacted, refusal

REQUEST_TIMEOUT_S = 2  # each request to the server; below the 5 s gRPC deadline
HEALTH_PING_S = 0.8  # the health probe's round trip, inside the SDK's 1 s budget
CONNECT_TIMEOUT_S = 3
JS_API = "$JS.API"
STORE_CREATE_FAILED = 10049
CREATE_RETRY_BACKOFF_S: tuple[float | None, ...] = (0.02, 0.1, 0.3, None)


def server_identity(info: dict[str, Any]) -> str:
    """The version the INFO line states; NATS's INFO names no product, so a server that is not
    nats-server can only be told by what it adds (its `server_name` is a node name, not a
    product): "nats-server 2.9.10 (go1.19.8)"."""
    version, go = info.get("version") or "?", info.get("go")
    return f"nats-server {version}" + (f" ({go})" if go else "")


class NatsConnection:
    def __init__(self) -> None:
        self._nc: Client | None = None
        self._js: JetStreamContext | None = None
        self._known: set[str] = set()  # streams this connection created or found (saves a request per write)
        self._forgetters: list[Callable[[str], None]] = []  # stores' in-memory state of a namespace

    @property
    def nc(self) -> Client:
        if self._nc is None:
            raise failed_precondition("plugin not initialized: call PluginLifecycle.Initialize")
        return self._nc

    @property
    def js(self) -> JetStreamContext:
        if self._js is None:
            raise failed_precondition("plugin not initialized: call PluginLifecycle.Initialize")
        return self._js

    async def connect(self, settings: dict[str, str]) -> str:
        await self.close()  # a second Initialize replaces the first one's client
        url = settings["url"]
        shown = redacted(url)
        why = refusal(url)
        if why is not None:
            raise invalid(f"bad NATS URL: {why}")
        if not url.startswith(("nats://", "tls://", "ws://", "wss://")):
            raise invalid(f"bad NATS URL {shown}: expected nats://HOST:PORT")
        nc: Client | None = None
        try:
            nc = await asyncio.wait_for(
                nats.connect(
                    url,
                    connect_timeout=CONNECT_TIMEOUT_S / 2,
                    allow_reconnect=True,
                    max_reconnect_attempts=-1,
                    reconnect_time_wait=0.2,
                    error_cb=_ignore,
                    disconnected_cb=_nothing,
                    reconnected_cb=_nothing,
                    closed_cb=_nothing,
                ),
                CONNECT_TIMEOUT_S,
            )
            js = nc.jetstream(timeout=REQUEST_TIMEOUT_S)
            await js.account_info()
        except nats.js.errors.APIError as e:
            await _close(nc)
            raise unavailable(f"NATS at {shown} has no JetStream (start nats-server with -js): {e.description}") from e
        except (nats.errors.Error, OSError, asyncio.TimeoutError) as e:
            await _close(nc)
            raise unavailable(f"cannot reach NATS at {shown}: {type(e).__name__}: {redact_text(str(e))[:200]}") from e
        self._nc, self._js = nc, js
        return server_identity(getattr(nc, "_server_info", {}) or {})

    async def stream_names(self, subject: str) -> list[str]:
        """The streams with subjects in the filter (the JetStream API pages them)."""
        found: list[str] = []
        while True:
            page = await self.api("STREAM.NAMES", {"offset": len(found), "subject": subject})
            found.extend(page.get("streams") or [])
            if not page.get("streams") or len(found) >= page.get("total", 0):
                return found

    async def api(self, verb: str, body: dict[str, Any]) -> dict[str, Any]:
        """A JetStream API request ($JS.API.<verb>) and its answer; its error as an APIError."""
        reply = await self.nc.request(f"{JS_API}.{verb}", json.dumps(body).encode(), timeout=REQUEST_TIMEOUT_S)
        answer = json.loads(reply.data)
        if "error" in answer:
            nats.js.errors.APIError.from_error(answer["error"])
        return answer

    async def last_message(self, stream: str, subject: str) -> RawStreamMsg | None:
        """The subject's last message in the stream; None if there is none (or no stream)."""
        try:
            return await self.js.get_last_msg(stream, subject)
        except nats.js.errors.NotFoundError:
            return None

    async def purge(self, stream: str, subject: str, below_seq: int = 0) -> int:
        """Remove the subject's messages (with below_seq, only those of lower sequence); how many."""
        body: dict[str, Any] = {"filter": subject}
        if below_seq:
            body["seq"] = below_seq
        try:
            return int((await self.api(f"STREAM.PURGE.{stream}", body)).get("purged", 0))
        except nats.js.errors.NotFoundError:
            return 0

    async def ensure_stream(self, config: StreamConfig) -> None:
        """Create the stream unless it exists (NATS accepts an identical re-creation)."""
        assert config.name is not None
        if config.name in self._known:
            return
        for backoff_s in CREATE_RETRY_BACKOFF_S:
            try:
                await self.js.add_stream(config)
                break
            except nats.js.errors.ServerError as e:
                # NATS 2.9 may fail to make a stream's directory while it removes the directory
                # of a stream deleted just before (DropNamespace): "error creating store".
                if e.err_code != STORE_CREATE_FAILED or backoff_s is None:
                    raise
                await asyncio.sleep(backoff_s)
        self._known.add(config.name)

    def forget_stream(self, name: str) -> None:
        """The stream may be gone: the next ensure_stream asks the server again."""
        self._known.discard(name)

    async def delete_stream(self, name: str) -> bool:
        """Delete a stream the plugin made; False if it did not exist."""
        self._known.discard(name)
        try:
            return await self.js.delete_stream(name)
        except nats.js.errors.NotFoundError:
            return False

    def on_drop(self, forget: Callable[[str], None]) -> None:
        """Call `forget(namespace)` when a namespace is dropped."""
        self._forgetters.append(forget)

    async def drop_namespace(self, namespace: str) -> None:
        for forget in self._forgetters:
            forget(namespace)
        for subject in names.subject_filters(namespace):
            for name in await self.stream_names(subject):
                if names.owned_by(name, namespace):
                    await self.delete_stream(name)

    async def healthy(self) -> bool:
        """The server answers a JetStream request now (nats-py reconnects by itself): a
        connection that looks open can lead to a paused or partitioned server, which only a
        round trip tells (round_trip)."""
        if self._nc is None or not self._nc.is_connected:
            return False
        try:
            await self.round_trip(HEALTH_PING_S)
        except (nats.errors.Error, asyncio.TimeoutError, OSError):
            return False
        return True

    async def round_trip(self, timeout: float = REQUEST_TIMEOUT_S) -> None:
        """Return once the server has processed everything this client sent before (it answers
        a client's messages in order): what `flush()` promises, without its bug (a flush that
        times out leaves a cancelled future that the late PONG fails on, which kills nats-py's
        read loop for good; a request's late reply is dropped)."""
        await self.nc.request(f"{JS_API}.INFO", b"", timeout=timeout)

    async def close(self) -> None:
        nc, self._nc, self._js = self._nc, None, None
        self._known.clear()
        await _close(nc)


async def _close(nc: Client | None) -> None:
    if nc is not None:
        try:
            await asyncio.wait_for(nc.close(), REQUEST_TIMEOUT_S)
        except (nats.errors.Error, OSError, asyncio.TimeoutError):
            pass


async def _ignore(e: Exception) -> None:
    """Connection errors reach callers as exceptions of their own requests."""


async def _nothing() -> None:
    pass
