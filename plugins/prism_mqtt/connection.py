"""The MQTT plugin's connection to the broker (MQTT 5 through aiomqtt): one shared publishing
client, a client per subscription, and reads of retained messages. Every broker round trip is bounded by
CALL_TIMEOUT_S, and the whole of what one RPC asks of the broker by OPERATION_TIMEOUT_S, below
the 5 s gRPC deadline (a timeout answers UNAVAILABLE)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Awaitable, Callable, TypeVar
from urllib.parse import urlsplit

import aiomqtt
import aiomqtt.exceptions

# paho-mqtt is aiomqtt's own dependency (in the lockfile through it), not a requirement of its own.
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

from prism_plugin.status import failed_precondition, invalid, unavailable
from prism_plugin.urls import redact_text, redacted, refusal

CALL_TIMEOUT_S = 1.5  # a CONNACK, SUBACK, PUBACK or UNSUBACK arrives within this
OPERATION_TIMEOUT_S = 4.0  # everything one RPC asks of the broker is done within this
KEEPALIVE_S = 30
DEFAULT_SESSION_EXPIRY_S = 7 * 24 * 3600  # a durable session nobody resumes is gone after this
MARKER_ROOT = "prism-marker"
HEALTH_TOPIC = "prism-health"  # the health probe's publishes (no namespace's topic: topics.py)
HEALTH_PUBACK_S = 0.8  # inside the SDK's 1 s health budget

Dropper = Callable[[str], Awaitable[None]]
T = TypeVar("T")


async def bounded(operation: Awaitable[T]) -> T:
    """An RPC's broker work, within OPERATION_TIMEOUT_S."""
    return await asyncio.wait_for(operation, OPERATION_TIMEOUT_S)


def properties(packet: int, **values: object) -> Properties:
    props = Properties(packet)
    for name, value in values.items():
        setattr(props, name, value)
    return props


def server_identity(stated: str) -> str:
    """The broker's own words ($SYS/broker/version: "mosquitto version 2.0.11") as product and
    version; a broker that publishes no such topic is named as such, never as Mosquitto."""
    words = stated.split()
    if len(words) == 3 and words[1].lower() == "version":
        return f"{words[0].lower()} {words[2]}"
    return stated.strip() or "an MQTT 5 broker that names no version ($SYS/broker/version)"


class MqttConnection:
    def __init__(self) -> None:
        self._settings: dict[str, str] | None = None
        self._publisher: aiomqtt.Client | None = None
        self._publisher_lock = asyncio.Lock()
        self.session_expiry_s = DEFAULT_SESSION_EXPIRY_S
        self.droppers: list[Dropper] = []  # what each store deletes of a dropped namespace

    async def connect(self, settings: dict[str, str]) -> str:
        await self.close()  # a second Initialize replaces the first one's clients
        url = settings["url"]
        why = refusal(url)
        if why is not None:
            raise invalid(f"bad MQTT URL: {why}")
        try:
            parts = urlsplit(url)
            port = parts.port or 1883
        except ValueError as e:
            raise invalid(f"bad MQTT URL {redacted(url)}: {redact_text(str(e))}") from None
        if parts.scheme not in ("mqtt", "tcp") or not parts.hostname:
            raise invalid(f"bad MQTT URL {redacted(url)}: want mqtt://[user[:password]@]host[:port]")
        if "session_expiry_s" in settings:
            try:
                self.session_expiry_s = int(settings["session_expiry_s"])
            except ValueError as e:
                raise invalid("session_expiry_s must be an integer number of seconds") from e
        self._settings = {"host": parts.hostname, "port": str(port), "user": parts.username or "", "password": parts.password or ""}
        try:
            await self.publisher()
            version = await bounded(self.retained("$SYS/broker/version"))
        except aiomqtt.exceptions.MqttConnectError as e:  # it answered, and refused: say what it said
            self._settings = None
            await self.close()
            raise unavailable(f"the MQTT broker at {redacted(url)} refused the connection: {redact_text(str(e))[:200]}") from None
        except (aiomqtt.MqttError, asyncio.TimeoutError, OSError) as e:
            self._settings = None
            await self.close()
            raise unavailable(f"cannot reach the MQTT broker at {redacted(url)}: {type(e).__name__}: {redact_text(str(e))[:200]}") from None
        return server_identity(version[0].payload.decode("utf-8", "replace") if version else "")

    def client(self, identifier: str | None = None, persistent: bool = False) -> aiomqtt.Client:
        """A new (not yet connected) MQTT 5 client. persistent: a session the broker keeps
        (clean start off, session expiry) under the fixed identifier."""
        if self._settings is None:
            raise failed_precondition("plugin not initialized: call PluginLifecycle.Initialize")
        s = self._settings
        expiry = self.session_expiry_s if persistent else 0
        return aiomqtt.Client(
            s["host"],
            int(s["port"]),
            username=s["user"] or None,
            password=s["password"] or None,
            identifier=identifier,
            protocol=aiomqtt.ProtocolVersion.V5,
            clean_start=not persistent,
            properties=properties(PacketTypes.CONNECT, SessionExpiryInterval=expiry),
            timeout=CALL_TIMEOUT_S,
            keepalive=KEEPALIVE_S,
        )

    async def publisher(self) -> aiomqtt.Client:
        """The shared publishing client: one connection, so one publisher's messages keep
        their order across topics. Reconnected on the next call after a failure."""
        async with self._publisher_lock:
            if self._publisher is None:
                client = self.client()
                await asyncio.wait_for(client.__aenter__(), CALL_TIMEOUT_S)
                self._publisher = client
            return self._publisher

    async def healthy(self) -> bool:
        """The broker acknowledges a QoS 1 publish now, through the shared publisher (connected
        again if it was lost): a round trip, which a connection that looks open but leads to a
        paused or partitioned broker does not complete (keepalive notices only after a minute).
        The topic is outside every namespace's (topics.py), so no subscription hears it."""
        if self._settings is None:
            return False
        try:
            client = await self.publisher()
            await client.publish(HEALTH_TOPIC, b"", qos=1, timeout=HEALTH_PUBACK_S)
        except (aiomqtt.MqttError, asyncio.TimeoutError, OSError):
            return False
        return True

    async def publish(self, topic: str, payload: bytes, props: Properties | None = None, retain: bool = False) -> None:
        """Publish at QoS 1 and return once the broker acknowledged (PUBACK)."""
        client = await self.publisher()
        try:
            await client.publish(topic, payload, qos=1, retain=retain, properties=props, timeout=CALL_TIMEOUT_S)
        except aiomqtt.MqttError:
            await self._reset_publisher(client)
            raise

    async def _reset_publisher(self, client: aiomqtt.Client) -> None:
        async with self._publisher_lock:
            if self._publisher is client:
                self._publisher = None
        await close(client)

    async def open(self, client: aiomqtt.Client, *filters: str) -> None:
        """Connect the client and subscribe it at QoS 1 (SUBACK received); closed if that fails."""
        try:
            await asyncio.wait_for(client.__aenter__(), CALL_TIMEOUT_S)
            await client.subscribe([(f, SubscribeOptions(qos=1)) for f in filters], timeout=CALL_TIMEOUT_S)
        except BaseException:
            await close(client)
            raise

    async def retained(self, filter_: str) -> list[aiomqtt.Message]:
        """The retained messages of the topics the filter matches. The broker sends them after
        the SUBACK; a marker this client publishes right after comes behind them, so reading
        up to the marker reads them all, without waiting for a silence."""
        marker = f"{MARKER_ROOT}/{uuid.uuid4().hex}"
        found: list[aiomqtt.Message] = []
        client = self.client()
        await self.open(client, filter_, marker)
        try:
            await client.publish(marker, b"", qos=1, timeout=CALL_TIMEOUT_S)

            async def read() -> None:
                async for message in client.messages:
                    if message.topic.value == marker:
                        return
                    if message.retain and message.payload:
                        found.append(message)

            await asyncio.wait_for(read(), CALL_TIMEOUT_S)
        finally:
            await close(client)
        return found

    async def delete_session(self, client_id: str) -> None:
        """Make the broker forget the session of a client id (clean start, session expiry 0)."""
        client = self.client(client_id)
        await asyncio.wait_for(client.__aenter__(), CALL_TIMEOUT_S)
        await close(client)

    async def drop_namespace(self, namespace: str) -> None:
        for drop in self.droppers:
            await bounded(drop(namespace))

    async def close(self) -> None:
        client, self._publisher = self._publisher, None
        if client is not None:
            await close(client)


async def close(client: aiomqtt.Client) -> None:
    """Disconnect (bounded, shielded from the caller's cancellation); errors mean it is gone."""
    try:
        await asyncio.shield(asyncio.wait_for(client.__aexit__(None, None, None), CALL_TIMEOUT_S))
    except (aiomqtt.MqttError, asyncio.TimeoutError, OSError):
        pass
