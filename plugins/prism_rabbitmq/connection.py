"""The RabbitMQ plugin's connection (aio-pika): one AMQP connection, a channel for
declarations and confirmed publishes, and the namespace index DropNamespace reads.

Every broker call is bounded by CALL_TIMEOUT_S, below the harness' 5 s gRPC deadline.
Whatever a namespace creates on the broker (queues, exchanges) is first recorded in the
namespace's index queue (one persistent message per resource, confirmed before the resource is
declared), so DropNamespace deletes exactly what the namespace created, even from a plugin
process other than the one that created it (the journal's sweep after a killed plugin).
"""

from __future__ import annotations

import asyncio
from typing import Any, Awaitable, Callable, TypeVar

import aio_pika
import aiormq
from aio_pika.abc import AbstractChannel, AbstractConnection, ExchangeType

from prism_plugin.status import StatusError, failed_precondition, invalid, unavailable
from prism_plugin.urls import redact_text, redacted, refusal
from prism_rabbitmq import names

CONNECT_TIMEOUT_S = 3.0
CALL_TIMEOUT_S = 4.0
T = TypeVar("T")

# Queues the plugin declares, all alike (a queue may be used through any queue interface):
# durable, classic, with priorities (see queues.py for how int32 priorities map to levels).
MAX_PRIORITY_LEVEL = 31
QUEUE_ARGUMENTS: dict[str, Any] = {"x-max-priority": MAX_PRIORITY_LEVEL, "x-queue-type": "classic"}

# Exceptions of aio-pika/aiormq meaning the broker cannot be reached (-> UNAVAILABLE).
UNAVAILABLE_ERRORS: tuple[type[BaseException], ...] = (
    aiormq.exceptions.AMQPConnectionError,
    aiormq.exceptions.ChannelInvalidStateError,
    aio_pika.exceptions.ChannelClosed,
    ConnectionError,
)

_KIND_QUEUE = "q"
_KIND_EXCHANGE = "x"


def server_identity(properties: dict[str, Any]) -> str:
    """The product and version of Connection.Start's server properties ("RabbitMQ" 3.10.8;
    LavinMQ names itself "LavinMQ")."""

    def text(key: str) -> str:
        value = properties.get(key, b"")
        return (value.decode(errors="replace") if isinstance(value, bytes) else str(value)).strip()

    return f"{(text('product') or 'unknown AMQP broker').lower()} {text('version') or '?'}"


HEALTH_EXCHANGE = "amq.direct"  # exists on every broker (AMQP 0-9-1): declared passively by the health probe


async def bounded(call: Awaitable[T]) -> T:
    return await asyncio.wait_for(call, CALL_TIMEOUT_S)


def _lost(connection: AbstractConnection) -> bool:
    """Closed, by us or by the broker: a broker that closes the connection (a frame_too_large,
    say) closes aiormq's connection underneath while aio-pika's still reads as open."""
    transport = connection.transport
    return connection.is_closed or transport is None or transport.connection.is_closed


class RabbitConnection:
    def __init__(self) -> None:
        self._connection: AbstractConnection | None = None
        self._url = ""
        self._ops: AbstractChannel | None = None
        self._ops_lock = asyncio.Lock()
        self._connect_lock = asyncio.Lock()
        self._known: set[str] = set()  # broker names declared (and indexed) by this process
        self._index_declared: set[str] = set()
        self.on_drop: list[Callable[[str], None]] = []  # stores forget a dropped namespace's state

    @property
    def connection(self) -> AbstractConnection:
        if self._connection is None:
            raise failed_precondition("plugin not initialized: call PluginLifecycle.Initialize")
        return self._connection

    async def connect(self, settings: dict[str, str]) -> str:
        await self.close()  # a second Initialize replaces the first one's connection
        url = settings["url"]
        shown = redacted(url)
        why = refusal(url)
        if why is not None:
            raise invalid(f"bad RabbitMQ URL: {why}")
        if not url.startswith(("amqp://", "amqps://")):
            raise invalid(f"bad RabbitMQ URL {shown}: want amqp://USER:PASSWORD@HOST:PORT/VHOST")
        try:
            connection = await asyncio.wait_for(aio_pika.connect(url, timeout=CONNECT_TIMEOUT_S), CONNECT_TIMEOUT_S + 1)
        except (asyncio.TimeoutError, OSError, aiormq.exceptions.AMQPError) as e:
            raise unavailable(f"cannot use RabbitMQ at {shown}: {type(e).__name__}: {redact_text(str(e))[:200]}") from None
        except ValueError as e:  # the client's URL parser (yarl): never its traceback, which may quote the URL
            raise invalid(f"bad RabbitMQ URL {shown}: {type(e).__name__}") from None
        self._connection, self._url = connection, url
        properties = connection.transport.connection.server_properties if connection.transport else {}
        return server_identity(properties)

    async def channel(self, confirms: bool = True) -> AbstractChannel:
        """A new channel (the caller closes it). With confirms, a mandatory publish the broker
        returns (no queue of that name) raises DeliveryError."""
        connection = await self._connected()
        return await bounded(connection.channel(publisher_confirms=confirms, on_return_raises=confirms))

    async def _connected(self) -> AbstractConnection:
        """The connection, opened again when it was lost (a broker restart): the plugin comes
        back by itself, without a second Initialize."""
        async with self._connect_lock:
            connection = self.connection
            if not _lost(connection):
                return connection
            try:
                connection = await asyncio.wait_for(aio_pika.connect(self._url, timeout=CONNECT_TIMEOUT_S), CONNECT_TIMEOUT_S + 1)
            except (asyncio.TimeoutError, OSError, aiormq.exceptions.AMQPError) as e:
                raise unavailable(f"lost RabbitMQ at {redacted(self._url)} and cannot reconnect: {type(e).__name__}") from None
            self._connection = connection
            self._known.clear()  # declare everything again: the broker may have lost it
            self._index_declared.clear()
            return connection

    async def ops(self) -> AbstractChannel:
        """The shared channel for declarations, bindings, deletions and confirmed publishes;
        reopened when a channel error closed it."""
        async with self._ops_lock:
            if self._ops is None or self._ops.is_closed:
                self._ops = await self.channel()
            return self._ops

    async def call(self, work: Callable[[AbstractChannel], Awaitable[T]]) -> T:
        """`work(ops channel)`, bounded; a channel error (the broker closed the channel) is
        FAILED_PRECONDITION with the broker's reason, and the channel is reopened next time."""
        channel = await self.ops()
        try:
            return await bounded(work(channel))
        except aio_pika.exceptions.ChannelPreconditionFailed as e:
            raise failed_precondition(f"RabbitMQ refused: {e}") from None

    # -- resources of a namespace -------------------------------------------------------

    async def _record(self, ns: str, kind: str, broker_name: str) -> None:
        """Record a resource in the namespace's index (confirmed) before it is created."""
        index = names.broker_name(names.INDEX, ns)

        async def go(channel: AbstractChannel) -> None:
            if index not in self._index_declared:
                await channel.declare_queue(index, durable=True, arguments={"x-queue-type": "classic"})
                self._index_declared.add(index)
            message = aio_pika.Message(f"{kind}:{broker_name}".encode(), delivery_mode=aio_pika.DeliveryMode.PERSISTENT)
            await channel.default_exchange.publish(message, routing_key=index, mandatory=True)

        try:
            await self.call(go)
        except aio_pika.exceptions.DeliveryError:  # the index was dropped by another plugin
            self._index_declared.discard(index)
            await self.call(go)

    async def queue(self, ns: str, kind: str, name: str, arguments: dict[str, Any] | None = None) -> str:
        """The broker name of the namespace's queue, declared (and indexed) on first use."""
        broker_name = names.broker_name(kind, ns, name)
        if broker_name not in self._known:
            await self._record(ns, _KIND_QUEUE, broker_name)
            await self.call(lambda ch: ch.declare_queue(broker_name, durable=True, arguments=arguments or QUEUE_ARGUMENTS))
            self._known.add(broker_name)
        return broker_name

    async def exchange(self, ns: str, kind: str, type_: ExchangeType) -> str:
        """The broker name of the namespace's exchange of this kind, declared on first use."""
        broker_name = names.broker_name(kind, ns)
        if broker_name not in self._known:
            await self._record(ns, _KIND_EXCHANGE, broker_name)
            await self.call(lambda ch: ch.declare_exchange(broker_name, type_, durable=True))
            self._known.add(broker_name)
        return broker_name

    def known(self, broker_name: str) -> bool:
        return broker_name in self._known

    def forget(self, broker_name: str) -> None:
        """Declare it again on next use (the broker lost it: deleted elsewhere)."""
        self._known.discard(broker_name)

    async def drop_namespace(self, namespace: str) -> None:
        for forget in self.on_drop:
            forget(namespace)
        index = names.broker_name(names.INDEX, namespace)
        channel = await self.channel(confirms=False)
        try:
            queue = await bounded(channel.declare_queue(index, durable=True, arguments={"x-queue-type": "classic"}))
            while (entry := await bounded(queue.get(no_ack=False, fail=False))) is not None:
                kind, _, broker_name = entry.body.decode().partition(":")
                try:
                    if kind == _KIND_QUEUE:
                        await bounded(channel.queue_delete(broker_name))
                    elif kind == _KIND_EXCHANGE:
                        await bounded(channel.exchange_delete(broker_name))
                except ValueError:
                    pass  # a name the client refuses to send: it was never created
                self._known.discard(broker_name)
            await bounded(channel.queue_delete(index))  # its entries (unacked until now) with it
            self._index_declared.discard(index)
        finally:
            await channel.close()

    async def healthy(self) -> bool:
        """The broker answers now, on the connection (opened again if it was lost): a passive
        declare of a built-in exchange is a round trip, which a connection that looks open but
        leads to a partitioned broker does not complete (AMQP heartbeats notice only after a
        minute). Bounded by the SDK's health probe."""
        if self._connection is None:
            return False
        try:
            await self._connected()
            await self.call(lambda channel: channel.declare_exchange(HEALTH_EXCHANGE, passive=True))
        except (StatusError, asyncio.TimeoutError, aiormq.exceptions.AMQPError, aio_pika.exceptions.AMQPException, OSError):
            return False
        return True

    async def close(self) -> None:
        connection, self._connection, self._ops = self._connection, None, None
        self._known.clear()
        self._index_declared.clear()
        if connection is not None:
            await asyncio.wait_for(connection.close(), CALL_TIMEOUT_S)
