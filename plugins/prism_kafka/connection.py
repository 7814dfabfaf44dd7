"""The Kafka plugin's connection: one producer, one admin client (topics, groups, committed
offsets) and one metadata consumer (watermarks, offsets by time) shared by every call, and a
pool of consumers for reads and subscriptions (feed.py), told of every record produced.

confluent-kafka's calls block: each runs on the plugin's own thread pool (not asyncio's default
one, which a few live subscriptions would fill), with a client timeout below the gRPC deadline
(CALL_TIMEOUT_S) and asyncio.wait_for around it.

The instance URL is `kafka://host:port[,host:port...]` (or the bare bootstrap list).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import logging
import struct
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Awaitable, Callable, TypeVar

from confluent_kafka import Consumer, ConsumerGroupTopicPartitions, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from prism_kafka import names, protocol
from prism_kafka.feed import ConsumerPool, Tails
from prism_plugin.status import StatusError, failed_precondition, invalid, unavailable
from prism_plugin.urls import redact_text, redacted, refusal

CALL_TIMEOUT_S = 3.0  # every client call; below the 5 s gRPC deadline
CONNECT_TIMEOUT_S = 3.0
HEALTH_S = 0.8  # the health probe's metadata request, inside the SDK's 1 s budget
THREADS = 64
GROUP_DELETE_S = 3.0
GROUP_RETRY_S = 0.05
UNKNOWN = (KafkaError._UNKNOWN_PARTITION, KafkaError._UNKNOWN_TOPIC, KafkaError.UNKNOWN_TOPIC_OR_PART)
T = TypeVar("T")
log = logging.getLogger("prism.kafka")


def bootstrap_servers(url: str) -> str:
    """`kafka://a:9092,b:9092` (or `a:9092,b:9092`) -> `a:9092,b:9092`. Credentials have no place
    in it (SASL is not configured through the URL): user info is refused, never sent to a broker."""
    why = refusal(url)
    if why is not None:
        raise invalid(f"bad Kafka URL: {why}")
    servers = url.split("://", 1)[1] if "://" in url else url
    servers = servers.split("/", 1)[0]
    if not servers or "@" in servers or any(":" not in s for s in servers.split(",")):
        raise invalid(f"bad Kafka URL {redacted(url)}: want kafka://HOST:PORT[,HOST:PORT...]")
    return servers


def client_config(servers: str) -> dict[str, Any]:
    """What every client of the plugin shares: short timeouts, no topic created implicitly."""
    return {
        "bootstrap.servers": servers,
        "allow.auto.create.topics": False,
        "socket.timeout.ms": int(CALL_TIMEOUT_S * 1000),
        "socket.connection.setup.timeout.ms": int(CONNECT_TIMEOUT_S * 1000),
        # a broker that restarted is connected again within a second (librdkafka's defaults back
        # off to 10 s, longer than a call's deadline)
        "reconnect.backoff.ms": 50,
        "reconnect.backoff.max.ms": 1000,
        "log_level": 2,  # critical only: a broker going away at the end of a cell is expected
    }


def consumer_config(servers: str, group: str | None = None) -> dict[str, Any]:
    """A consumer that never commits by itself; without a group it is only assigned partitions
    (its group id is unique and never joined)."""
    return {
        **client_config(servers),
        "group.id": group or f"prism-unjoined-{uuid.uuid4().hex}",
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "auto.offset.reset": "earliest",  # a trimmed offset reads from the earliest retained record
        "fetch.wait.max.ms": 50,
        "queued.max.messages.kbytes": 8192,  # what librdkafka prefetches per consumer
        "fetch.error.backoff.ms": 50,
        "session.timeout.ms": 6000,
        "enable.partition.eof": True,  # a feed at the end of its partition pauses it (feed.py)
    }


def code(e: BaseException) -> int | None:
    if isinstance(e, KafkaException) and e.args and isinstance(e.args[0], KafkaError):
        return e.args[0].code()
    return None


class KafkaConnection:
    def __init__(self) -> None:
        self.pool = ThreadPoolExecutor(THREADS, thread_name_prefix="prism-kafka")
        self.servers: str | None = None
        self._producer: Producer | None = None
        self._admin: AdminClient | None = None
        self._meta: Consumer | None = None
        self._readers: ConsumerPool | None = None
        self.tails = Tails()  # feeds and group members waiting for records this plugin writes
        self._known: set[str] = set()  # topics this plugin created or saw
        self.on_drop: list[Callable[[str], Awaitable[None]]] = []  # what else lets go of a dropped namespace

    @property
    def producer(self) -> Producer:
        if self._producer is None:
            raise failed_precondition("plugin not initialized: call PluginLifecycle.Initialize")
        return self._producer

    @property
    def admin(self) -> AdminClient:
        if self._admin is None:
            raise failed_precondition("plugin not initialized: call PluginLifecycle.Initialize")
        return self._admin

    @property
    def meta(self) -> Consumer:
        if self._meta is None:
            raise failed_precondition("plugin not initialized: call PluginLifecycle.Initialize")
        return self._meta

    @property
    def readers(self) -> ConsumerPool:
        if self._readers is None:
            raise failed_precondition("plugin not initialized: call PluginLifecycle.Initialize")
        return self._readers

    async def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a blocking client call on the pool, bounded by CALL_TIMEOUT_S (+ a margin)."""
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(self.pool, functools.partial(fn, *args, **kwargs))
        try:
            return await asyncio.wait_for(future, CALL_TIMEOUT_S + 0.5)
        except asyncio.TimeoutError:
            raise unavailable(f"Kafka did not answer {getattr(fn, '__name__', 'a call')} within {CALL_TIMEOUT_S} s") from None

    async def connect(self, settings: dict[str, str]) -> str:
        await self.close()
        url = settings["url"]
        servers = bootstrap_servers(url)
        admin = AdminClient(client_config(servers))
        try:
            cluster = await self.call(lambda: admin.describe_cluster(request_timeout=CONNECT_TIMEOUT_S).result(CONNECT_TIMEOUT_S))
        except KafkaException as e:
            raise unavailable(f"cannot reach Kafka at {redacted(url)}: {redact_text(str(e))}") from None
        self.servers = servers
        self._admin = admin
        self._producer = Producer({**client_config(servers), "linger.ms": 0, "acks": "all", "enable.idempotence": False})
        self._meta = Consumer(consumer_config(servers))
        self._readers = ConsumerPool(functools.partial(Consumer, consumer_config(servers)))
        self._known = set()
        brokers = len(cluster.nodes)
        host, _, port = servers.split(",")[0].rpartition(":")
        try:
            apis = protocol.describe(await protocol.api_versions(host, int(port), CONNECT_TIMEOUT_S))
        except (OSError, ValueError, struct.error, asyncio.TimeoutError, asyncio.IncompleteReadError) as e:
            apis = f"ApiVersions unanswered: {type(e).__name__}"
        # The Kafka protocol names no broker product or release: say what the cluster answered.
        return f"Kafka-protocol broker ({apis}); cluster {cluster.cluster_id}, {brokers} broker{'s' if brokers != 1 else ''}"

    async def healthy(self) -> bool:
        """A broker answers a metadata request now (DescribeCluster: a round trip, never the
        client's cache), within the health probe's budget."""
        if self._admin is None:
            return False
        admin = self._admin
        try:
            await self.call(lambda: admin.describe_cluster(request_timeout=HEALTH_S).result(HEALTH_S))
        except (KafkaException, StatusError, concurrent.futures.TimeoutError):
            return False
        return True

    # topics
    async def ensure_topic(self, topic: str, partitions: int) -> None:
        """Create the topic unless it exists (created here before anything is produced to it)."""
        if topic in self._known:
            return
        futures = self.admin.create_topics(
            [NewTopic(topic, partitions, 1)], operation_timeout=CALL_TIMEOUT_S, request_timeout=CALL_TIMEOUT_S
        )
        try:
            await self.call(futures[topic].result, CALL_TIMEOUT_S)
        except KafkaException as e:
            if code(e) != KafkaError.TOPIC_ALREADY_EXISTS:
                raise
        self._known.add(topic)

    async def watermarks(self, topic: str, partition: int) -> tuple[int, int] | None:
        """(low, high) of a partition; None when the topic does not exist."""
        query = functools.partial(self.meta.get_watermark_offsets, TopicPartition(topic, partition), timeout=CALL_TIMEOUT_S, cached=False)
        try:
            return await self.call(query)
        except KafkaException as e:
            if code(e) not in UNKNOWN:
                raise
        # The consumer's metadata cache may predate the topic: refresh it (a consumer's metadata
        # request never creates a topic), then ask again.
        metadata = await self.call(self.meta.list_topics, topic, timeout=CALL_TIMEOUT_S)
        found = metadata.topics.get(topic)
        if found is None or found.error is not None or partition not in found.partitions:
            return None
        try:
            return await self.call(query)
        except KafkaException as e:
            if code(e) in UNKNOWN:
                return None
            raise

    async def offset_for_time(self, topic: str, partition: int, timestamp_ms: int) -> int:
        """The first offset whose timestamp is >= timestamp_ms; -1 when there is none."""
        (found,) = await self.call(self.meta.offsets_for_times, [TopicPartition(topic, partition, timestamp_ms)], timeout=CALL_TIMEOUT_S)
        if found.error is not None:
            raise KafkaException(found.error)
        return found.offset

    async def delete_records(self, topic: str, partition: int, before: int) -> None:
        """DeleteRecords: the partition's log start offset becomes `before`."""
        futures = self.admin.delete_records(
            [TopicPartition(topic, partition, before)], request_timeout=CALL_TIMEOUT_S, operation_timeout=CALL_TIMEOUT_S
        )
        for future in futures.values():
            await self.call(future.result, CALL_TIMEOUT_S)

    async def committed(self, group: str, topic: str) -> int | None:
        """The group's committed offset of the topic's partition 0; None when it has none."""
        futures = self.admin.list_consumer_group_offsets(
            [ConsumerGroupTopicPartitions(group, [TopicPartition(topic, 0)])], request_timeout=CALL_TIMEOUT_S
        )
        listed = await self.call(futures[group].result, CALL_TIMEOUT_S)
        (found,) = listed.topic_partitions
        if found.error is not None:
            raise KafkaException(found.error)
        return found.offset if found.offset >= 0 else None

    async def commit(self, group: str, topic: str, offset: int) -> None:
        """Commit the group's offset of the topic's partition 0 (AlterConsumerGroupOffsets: the
        group has no member here; Kafka refuses it while the group has members)."""
        futures = self.admin.alter_consumer_group_offsets(
            [ConsumerGroupTopicPartitions(group, [TopicPartition(topic, 0, offset)])], request_timeout=CALL_TIMEOUT_S
        )
        altered = await self.call(futures[group].result, CALL_TIMEOUT_S)
        for found in altered.topic_partitions:
            if found.error is not None:
                raise KafkaException(found.error)

    async def produce(
        self, topic: str, partition: int | None, key: bytes | None, value: bytes, headers: list[tuple[str, bytes]] | None
    ) -> tuple[int, int, int]:
        """Produce one record and wait for the broker's acknowledgement: (partition, offset, timestamp_ms)."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[Any] = loop.create_future()

        def delivered(err: KafkaError | None, msg: Any) -> None:
            def settle() -> None:
                if done.done():
                    return
                if err is not None:
                    done.set_exception(KafkaException(err))
                else:
                    done.set_result((msg.partition(), msg.offset(), msg.timestamp()[1]))

            loop.call_soon_threadsafe(settle)

        kwargs: dict[str, Any] = {"value": value, "key": key, "headers": headers or None, "on_delivery": delivered}
        if partition is not None:
            kwargs["partition"] = partition
        try:
            self.producer.produce(topic, **kwargs)
            await self.call(self.producer.flush, CALL_TIMEOUT_S)
            try:
                written = await asyncio.wait_for(done, CALL_TIMEOUT_S)
            except asyncio.TimeoutError:
                raise unavailable(f"Kafka did not acknowledge a record within {CALL_TIMEOUT_S} s") from None
        except BaseException:
            # the topic may be gone (a broker that lost it in a crash): the next call asks the
            # broker again (ensure_topic) instead of producing into a topic that is no more
            self._known.discard(topic)
            raise
        self.tails.written(topic, written[0], written[1] + 1)
        return written

    # namespaces
    async def drop_namespace(self, namespace: str) -> None:
        """Delete the namespace's topics and consumer groups (names.py: one prefix), once this
        process's consumers of them have left (Kafka deletes only empty groups)."""
        prefix = names.namespace_prefix(namespace)
        for let_go in self.on_drop:
            await let_go(namespace)
        metadata = await self.call(self.admin.list_topics, timeout=CALL_TIMEOUT_S)
        topics = [t for t in metadata.topics if t.startswith(prefix)]
        if topics:
            futures = self.admin.delete_topics(topics, operation_timeout=CALL_TIMEOUT_S, request_timeout=CALL_TIMEOUT_S)
            for future in futures.values():
                try:
                    await self.call(future.result, CALL_TIMEOUT_S)
                except KafkaException as e:
                    if code(e) != KafkaError.UNKNOWN_TOPIC_OR_PART:
                        raise
        self._known = {t for t in self._known if not t.startswith(prefix)}
        await self._delete_groups(prefix)

    async def _delete_groups(self, prefix: str) -> None:
        """Delete the groups whose id starts with prefix; a group whose members are still
        leaving (NON_EMPTY_GROUP) is tried again until GROUP_DELETE_S has passed."""
        deadline = asyncio.get_running_loop().time() + GROUP_DELETE_S
        while True:
            listed = await self.call(lambda: self.admin.list_consumer_groups(request_timeout=CALL_TIMEOUT_S).result(CALL_TIMEOUT_S))
            groups = [g.group_id for g in listed.valid if g.group_id.startswith(prefix)]
            if not groups:
                return
            busy = []
            for group, future in self.admin.delete_consumer_groups(groups, request_timeout=CALL_TIMEOUT_S).items():
                try:
                    await self.call(future.result, CALL_TIMEOUT_S)
                except KafkaException as e:
                    if code(e) == KafkaError.NON_EMPTY_GROUP:
                        busy.append(group)
                    elif code(e) != KafkaError.GROUP_ID_NOT_FOUND:
                        raise
            if not busy:
                return
            if asyncio.get_running_loop().time() > deadline:
                raise unavailable(f"{len(busy)} consumer group(s) of the namespace still have members after {GROUP_DELETE_S} s")
            await asyncio.sleep(GROUP_RETRY_S)  # polling members that are leaving, with a deadline

    async def close(self) -> None:
        meta, producer, readers = self._meta, self._producer, self._readers
        self._meta = self._producer = self._admin = None
        self._readers = None
        if readers is not None:
            await asyncio.get_running_loop().run_in_executor(self.pool, readers.close)
        if producer is not None:
            await asyncio.get_running_loop().run_in_executor(self.pool, producer.flush, 1.0)
        if meta is not None:
            await asyncio.get_running_loop().run_in_executor(self.pool, meta.close)
