"""The same workloads through the backend's own client, no plugin in between, in the same run:
the plugin's overhead is the ratio of the two. Chosen by the instance URL's scheme (what the
backend speaks), never by backend name; a workload with no direct counterpart here has none.

redis-py (keyvalue YCSB A/B/C/F, list, pubsub), psycopg (keyvalue YCSB A/B/C on a temporary
table: session-local, gone with the connection), nats-py (pubsub), aiomqtt (pubsub), aio-pika
(queue enqueue), confluent-kafka (stream append). Every call has a timeout."""

from __future__ import annotations

import asyncio
import random
import threading
import uuid
from contextlib import contextmanager
from typing import Any, Callable, Coroutine, Iterator
from urllib.parse import urlsplit

from prism_accept.perf.measure import Sample, closed_loop, fixed_rate_end_to_end
from prism_accept.perf.workloads import CALL_TIMEOUT_S, PUBLISH_RATE, RECORDS, VALUE_BYTES, key, seq_of, seq_payload
from prism_accept.perf.zipfian import ScrambledZipfian

Direct = Callable[[str, float, int], list[Sample]]  # (url, duration of one repeat, repeats) -> samples


class LoopThread:
    """An asyncio loop on a thread of its own, for async clients driven by the sync measure loops."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="perf-direct-loop", daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, Any], timeout: float = CALL_TIMEOUT_S) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        async def cancel_the_rest() -> None:  # e.g. a client's heartbeat task
            rest = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in rest:
                task.cancel()
            await asyncio.gather(*rest, return_exceptions=True)

        try:
            self.run(cancel_the_rest())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(CALL_TIMEOUT_S)


def _ycsb_ops(get: Callable[[str], Any], put: Callable[[str, bytes], Any], read_share: float) -> Callable[[], None]:
    rng = random.Random(42)
    zipf = ScrambledZipfian(RECORDS, rng=rng)
    payload = rng.randbytes(VALUE_BYTES)

    def op() -> None:
        k = key(zipf.next())
        if rng.random() < read_share:
            get(k)
        else:
            put(k, payload)

    return op


YCSB_READS = {"ycsb-a": 0.5, "ycsb-b": 0.95, "ycsb-c": 1.0}


# --- Redis ---------------------------------------------------------------------------------------


@contextmanager
def _redis(url: str) -> Iterator[tuple[Any, str]]:
    import redis

    client = redis.Redis.from_url(url, socket_timeout=CALL_TIMEOUT_S, socket_connect_timeout=CALL_TIMEOUT_S)
    prefix = f"prism-perf:{uuid.uuid4().hex}:"
    try:
        yield client, prefix
    finally:
        keys = list(client.scan_iter(match=prefix + "*", count=1000))
        for start in range(0, len(keys), 500):
            client.delete(*keys[start : start + 500])
        client.close()


def redis_ycsb(read_share: float) -> Direct:
    def run(url: str, duration_s: float, repeats: int) -> list[Sample]:
        with _redis(url) as (r, prefix):
            rng = random.Random(1)
            pipe = r.pipeline(transaction=False)
            for i in range(RECORDS):
                pipe.set(prefix + key(i), rng.randbytes(VALUE_BYTES))
            pipe.execute()
            op = _ycsb_ops(lambda k: r.get(prefix + k), lambda k, v: r.set(prefix + k, v), read_share)
            return [closed_loop(op, duration_s) for _ in range(repeats)]

    return run


def redis_ycsb_f(url: str, duration_s: float, repeats: int) -> list[Sample]:
    """Read-modify-write as Redis clients do it: GET, then WATCH/GET/MULTI/SET/EXEC (optimistic CAS)."""
    with _redis(url) as (r, prefix):
        rng = random.Random(1)
        for i in range(RECORDS):
            r.set(prefix + key(i), rng.randbytes(VALUE_BYTES))
        zipf, payload = ScrambledZipfian(RECORDS, rng=rng), rng.randbytes(VALUE_BYTES)

        def op() -> None:
            k = prefix + key(zipf.next())
            r.get(k)
            if rng.random() < 0.5:
                with r.pipeline() as p:
                    p.watch(k)
                    p.get(k)
                    p.multi()
                    p.set(k, payload)
                    p.execute()

        return [closed_loop(op, duration_s) for _ in range(repeats)]


def redis_list(url: str, duration_s: float, repeats: int) -> list[Sample]:
    with _redis(url) as (r, prefix):
        rng, item = random.Random(1), b"x" * 128

        def op() -> None:
            k = f"{prefix}l{rng.randrange(16)}"
            r.rpush(k, item) if rng.random() < 0.5 else r.lpop(k)

        return [closed_loop(op, duration_s) for _ in range(repeats)]


def redis_pubsub(url: str, duration_s: float, repeats: int) -> list[Sample]:
    with _redis(url) as (r, prefix):
        out = []
        for n in range(repeats):
            channel = f"{prefix}perf{n}"
            sub = r.pubsub(ignore_subscribe_messages=True)
            sub.subscribe(channel)
            sub.get_message(timeout=CALL_TIMEOUT_S)  # the subscribe confirmation
            stop, finished = threading.Event(), threading.Event()

            def read(on_delivery: Callable[[int], None], sub: Any = sub, stop: Any = stop, finished: Any = finished) -> None:
                try:
                    while not stop.is_set():
                        m = sub.get_message(timeout=0.2)
                        if m and m["type"] == "message":
                            on_delivery(seq_of(m["data"]))
                finally:
                    finished.set()

            def send(i: int, channel: str = channel) -> None:
                r.publish(channel, seq_payload(i))

            out.append(fixed_rate_end_to_end(send, read, PUBLISH_RATE, duration_s))
            stop.set()
            finished.wait(CALL_TIMEOUT_S)  # the reader is out of get_message before its connection closes
            sub.close()
        return out


# --- PostgreSQL ----------------------------------------------------------------------------------


def postgres_ycsb(read_share: float) -> Direct:
    def run(url: str, duration_s: float, repeats: int) -> list[Sample]:
        import psycopg

        with psycopg.connect(url, autocommit=True, connect_timeout=int(CALL_TIMEOUT_S)) as conn:
            conn.execute(f"SET statement_timeout = {int(CALL_TIMEOUT_S * 1000)}")
            conn.execute("CREATE TEMPORARY TABLE perf_kv (key text PRIMARY KEY, value bytea NOT NULL)")
            rng = random.Random(1)
            with conn.cursor() as cur:
                cur.executemany("INSERT INTO perf_kv VALUES (%s, %s)", [(key(i), rng.randbytes(VALUE_BYTES)) for i in range(RECORDS)])

            def get(k: str) -> None:
                conn.execute("SELECT value FROM perf_kv WHERE key = %s", (k,), prepare=True).fetchone()

            def put(k: str, v: bytes) -> None:
                conn.execute(
                    "INSERT INTO perf_kv VALUES (%s, %s) ON CONFLICT (key) DO UPDATE SET value = excluded.value", (k, v), prepare=True
                )

            return [closed_loop(_ycsb_ops(get, put, read_share), duration_s) for _ in range(repeats)]

    return run


# --- NATS, MQTT, RabbitMQ, Kafka -----------------------------------------------------------------


def nats_pubsub(url: str, duration_s: float, repeats: int) -> list[Sample]:
    import nats

    loop = LoopThread()
    try:
        nc = loop.run(nats.connect(url, connect_timeout=CALL_TIMEOUT_S))
        out = []
        for n in range(repeats):
            subject = f"prism-perf.{uuid.uuid4().hex}.{n}"
            box: dict[str, Callable[[int], None]] = {}

            async def handler(msg: Any) -> None:
                if "f" in box:
                    box["f"](seq_of(msg.data))

            sub = loop.run(nc.subscribe(subject, cb=handler))
            loop.run(nc.flush(timeout=CALL_TIMEOUT_S))
            done = threading.Event()

            def read(on_delivery: Callable[[int], None]) -> None:
                box["f"] = on_delivery
                done.wait(duration_s + 5)

            def send(i: int, subject: str = subject) -> None:
                loop.run(nc.publish(subject, seq_payload(i)))

            out.append(fixed_rate_end_to_end(send, read, PUBLISH_RATE, duration_s))
            done.set()
            loop.run(sub.unsubscribe())
        loop.run(nc.close())
        return out
    finally:
        loop.close()


def mqtt_pubsub(url: str, duration_s: float, repeats: int) -> list[Sample]:
    import aiomqtt

    parts = urlsplit(url)
    loop = LoopThread()
    try:
        out = []
        for n in range(repeats):
            topic = f"prism-perf/{uuid.uuid4().hex}/{n}"

            async def connected() -> Any:  # aiomqtt binds its client to the running loop
                client = aiomqtt.Client(parts.hostname or "127.0.0.1", parts.port or 1883, timeout=CALL_TIMEOUT_S)
                await client.__aenter__()
                return client

            client = loop.run(connected())
            loop.run(client.subscribe(topic, qos=1))
            box: dict[str, Callable[[int], None]] = {}

            async def pump(client: Any = client) -> None:
                async for message in client.messages:
                    if "f" in box:
                        box["f"](seq_of(bytes(message.payload)))

            task = asyncio.run_coroutine_threadsafe(pump(), loop.loop)
            done = threading.Event()

            def read(on_delivery: Callable[[int], None]) -> None:
                box["f"] = on_delivery
                done.wait(duration_s + 5)

            def send(i: int, client: Any = client, topic: str = topic) -> None:
                loop.run(client.publish(topic, seq_payload(i), qos=1))

            out.append(fixed_rate_end_to_end(send, read, PUBLISH_RATE, duration_s))
            done.set()
            task.cancel()
            loop.run(client.__aexit__(None, None, None))
        return out
    finally:
        loop.close()


def rabbitmq_enqueue(url: str, duration_s: float, repeats: int) -> list[Sample]:
    """basic.publish with publisher confirms to a durable queue (what the plugin's Enqueue does)."""
    import aio_pika

    loop = LoopThread()
    payload = seq_payload(0, 256)
    opened: dict[str, Any] = {}

    async def open_queue() -> None:  # aio-pika binds what it makes to the running loop
        opened["conn"] = await aio_pika.connect_robust(url, timeout=CALL_TIMEOUT_S)
        opened["channel"] = await opened["conn"].channel(publisher_confirms=True)
        opened["queue"] = await opened["channel"].declare_queue(f"prism-perf-{uuid.uuid4().hex}", durable=True, auto_delete=False)

    async def publish() -> None:
        message = aio_pika.Message(payload, delivery_mode=aio_pika.DeliveryMode.PERSISTENT)
        await opened["channel"].default_exchange.publish(message, routing_key=opened["queue"].name, timeout=CALL_TIMEOUT_S)

    async def close() -> None:
        if "queue" in opened:
            await opened["queue"].delete(if_unused=False, if_empty=False)
        if "conn" in opened:
            await opened["conn"].close()

    try:
        loop.run(open_queue(), timeout=CALL_TIMEOUT_S * 2)
        return [closed_loop(lambda: loop.run(publish()), duration_s) for _ in range(repeats)]
    finally:
        try:
            loop.run(close(), timeout=CALL_TIMEOUT_S * 2)
        finally:
            loop.close()


def kafka_append(url: str, duration_s: float, repeats: int) -> list[Sample]:
    """produce + flush of one record (acks=all), the synchronous append the plugin's Append does."""
    from confluent_kafka import Producer
    from confluent_kafka.admin import AdminClient

    server = urlsplit(url).netloc
    topic = f"prism-perf-{uuid.uuid4().hex}"
    producer = Producer({"bootstrap.servers": server, "acks": "all", "message.timeout.ms": int(CALL_TIMEOUT_S * 1000)})
    payload = seq_payload(0)

    def op() -> None:
        producer.produce(topic, payload)
        if producer.flush(CALL_TIMEOUT_S) != 0:
            raise TimeoutError("kafka produce not acknowledged within the deadline")

    try:
        return [closed_loop(op, duration_s) for _ in range(repeats)]
    finally:
        AdminClient({"bootstrap.servers": server}).delete_topics([topic], operation_timeout=CALL_TIMEOUT_S)


# scheme -> workload name -> direct run
DIRECT: dict[str, dict[str, Direct]] = {
    "redis": {
        **{name: redis_ycsb(share) for name, share in YCSB_READS.items()},
        "ycsb-f": redis_ycsb_f,
        "list-push-pop": redis_list,
        "pubsub-fixed-rate": redis_pubsub,
    },
    "postgresql": {name: postgres_ycsb(share) for name, share in YCSB_READS.items()},
    "nats": {"pubsub-fixed-rate": nats_pubsub},
    "mqtt": {"pubsub-fixed-rate": mqtt_pubsub},
    "amqp": {"queue-enqueue": rabbitmq_enqueue},
    "kafka": {"stream-max-rate": kafka_append},
}


def direct_for(url: str, workload: str) -> Direct | None:
    return DIRECT.get(urlsplit(url).scheme, {}).get(workload)
