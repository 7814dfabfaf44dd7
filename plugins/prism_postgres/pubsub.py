"""Pub/sub over LISTEN/NOTIFY. A NOTIFY payload holds at most 8000 bytes of text, so a message
is a row of prism.pubsub_messages (payload and attributes as bytea, any size up to the plugin's
limits) and the publish notifies channel CHANNEL with "<digest of namespace and topic> <id>" in
the same statement: delivered on commit, in commit order, to every listening session.

Each plugin process LISTENs on one connection (notifications.py); a subscription watches its
topic's digest, reads the notified rows by id and checks their namespace and topic (a digest
collision delivers nothing) and, for SubscribeFiltered, their attributes with the SDK's
`accepts`. Ready is sent once a marker the subscription notified came back through the live
LISTEN connection: a message published after Ready is delivered, one published before it was
notified ahead of the marker (notifications come in commit order) and is dropped. When that
connection is lost, what was notified meanwhile is gone: live subscriptions end with
UNAVAILABLE rather than silently miss messages. Rows are kept RETAIN_S (a subscriber reads
them within milliseconds) and swept by publishes.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, AsyncIterator, TypeAlias

import psycopg

from prism_plugin.contracts.pubsub.basic import Event, Published, Ready
from prism_plugin.contracts.pubsub.filtering import Condition, accepts
from prism_plugin.status import unavailable
from prism_postgres.connection import PostgresConnection, Schema
from prism_postgres.keyvalue import from_utf8, utf8
from prism_postgres.notifications import Listener, digest

TABLES = Schema(
    ddl="""
CREATE TABLE IF NOT EXISTS prism.pubsub_messages (
  id bigserial PRIMARY KEY,
  namespace bytea NOT NULL,
  topic bytea NOT NULL,
  payload bytea NOT NULL,
  attribute_names bytea[] NOT NULL,
  attribute_values bytea[] NOT NULL,
  published_at timestamptz NOT NULL DEFAULT statement_timestamp()
);
CREATE INDEX IF NOT EXISTS pubsub_messages_age ON prism.pubsub_messages (published_at);
""",
    tables=("pubsub_messages",),
)

CHANNEL = "prism_pubsub_published"
CONFIRM_S = 5.0  # the LISTEN connection is live within this, or Subscribe answers UNAVAILABLE
RETAIN_S = 60
SWEEP_EVERY_S = 5.0

PUBLISH = """
WITH m AS (
  INSERT INTO prism.pubsub_messages (namespace, topic, payload, attribute_names, attribute_values)
  VALUES (%(ns)s, %(topic)s, %(payload)s, %(names)s::bytea[], %(values)s::bytea[])
  RETURNING id
)
SELECT id, pg_notify(%(channel)s, %(word)s || ' ' || id) FROM m
"""
READ = """
SELECT id, namespace, topic, payload, attribute_names, attribute_values,
       floor(extract(epoch FROM published_at) * 1000)::bigint
FROM prism.pubsub_messages WHERE id = ANY(%(ids)s::bigint[])
"""
NOTIFY = "SELECT pg_notify(%(channel)s, %(payload)s)"
SWEEP = f"DELETE FROM prism.pubsub_messages WHERE published_at < statement_timestamp() - interval '{RETAIN_S} seconds'"

Conn: TypeAlias = "psycopg.AsyncConnection[Any]"
LOST = -1  # queued instead of an id: the LISTEN connection was lost
STOP = -2  # queued by Unsubscribe


async def _execute(conn: Conn, statement: Any, params: dict[str, Any]) -> None:
    await conn.execute(statement, params)


async def _fetchall(conn: Conn, statement: Any, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    return await (await conn.execute(statement, params)).fetchall()


@dataclass
class _Live:
    """A subscription's queue of notified ids. Notifications arrive in commit order, so those
    before its own `ready` marker (notified once watching) were published before it was live:
    they are dropped, and everything after the marker is delivered."""

    word: str
    token: str = field(default_factory=lambda: uuid.uuid4().hex)
    ids: asyncio.Queue[int] = field(default_factory=asyncio.Queue)
    started: asyncio.Event = field(default_factory=asyncio.Event)
    ended: asyncio.Future[None] = field(default_factory=lambda: asyncio.get_running_loop().create_future())

    @property
    def marker(self) -> str:
        return f"{self.word} ready {self.token}"

    def heard(self, payload: str) -> None:
        if payload == self.marker:
            self.started.set()
            return
        message_id = payload.partition(" ")[2]
        if self.started.is_set() and message_id.isdigit():  # a foreign NOTIFY on the channel is no message
            self.ids.put_nowait(int(message_id))


class PostgresPubSub:
    def __init__(self, conn: PostgresConnection):
        self.conn = conn
        self.published = Listener(conn, CHANNEL)
        self.published.on_lost.append(self._lost)
        self._live: dict[tuple[str, str], _Live] = {}
        self._swept_at = 0.0

    # pubsub_basic, pubsub_filtering
    async def publish(self, ns: str, topic: str, payload: bytes) -> str:
        return await self.publish_with_attributes(ns, topic, payload, {})

    async def publish_with_attributes(self, ns: str, topic: str, payload: bytes, attributes: dict[str, str]) -> str:
        n, t = utf8(ns), utf8(topic)
        params = {
            "ns": n,
            "topic": t,
            "payload": bytes(payload),
            "names": [utf8(k) for k in attributes],
            "values": [utf8(v) for v in attributes.values()],
            "channel": CHANNEL,
            "word": digest(n, t),
        }
        rows = await self.conn.run(_fetchall, PUBLISH, params)
        if time.monotonic() - self._swept_at >= SWEEP_EVERY_S:
            self._swept_at = time.monotonic()
            await self.conn.run(lambda conn: conn.execute(SWEEP))
        return str(rows[0][0])

    def subscribe(self, ns: str, topic: str) -> AsyncIterator[Event]:
        return self._subscription(ns, topic, ())

    def subscribe_filtered(self, ns: str, topic: str, filter_: tuple[Condition, ...]) -> AsyncIterator[Event]:
        return self._subscription(ns, topic, filter_)

    async def unsubscribe(self, ns: str, subscription_id: str) -> bool:
        live = self._live.pop((ns, subscription_id), None)
        if live is None:
            return False
        self.published.unwatch(live.word, live.heard)  # nothing published from now on reaches it
        live.ids.put_nowait(STOP)
        try:
            await asyncio.wait_for(asyncio.shield(live.ended), CONFIRM_S)
        except asyncio.TimeoutError:
            raise unavailable(f"the subscription did not end within {CONFIRM_S} s") from None
        return True

    def _lost(self) -> None:
        for live in self._live.values():
            live.ids.put_nowait(LOST)

    async def _subscription(self, ns: str, topic: str, filter_: tuple[Condition, ...]) -> AsyncIterator[Event]:
        n, t = utf8(ns), utf8(topic)
        live = _Live(digest(n, t))
        subscription_id = uuid.uuid4().hex
        self.published.watch(live.word, live.heard)
        self._live[(ns, subscription_id)] = live
        try:
            if not await self.published.live(CONFIRM_S):
                raise unavailable(f"PostgreSQL did not accept LISTEN {CHANNEL} within {CONFIRM_S} s")
            await self.conn.run(_execute, NOTIFY, {"channel": CHANNEL, "payload": live.marker})
            try:
                await asyncio.wait_for(live.started.wait(), CONFIRM_S)
            except asyncio.TimeoutError:
                raise unavailable(f"the subscription's marker did not come back through LISTEN within {CONFIRM_S} s") from None
            yield Ready(subscription_id)
            while True:
                ids = [await live.ids.get()]
                while not live.ids.empty():
                    ids.append(live.ids.get_nowait())
                wanted = [i for i in ids if i >= 0]
                rows = {row[0]: row for row in await self.conn.run(_fetchall, READ, {"ids": wanted})} if wanted else {}
                for i in ids:
                    if i == STOP:
                        return
                    if i == LOST:
                        raise unavailable("the LISTEN connection to PostgreSQL was lost: messages published meanwhile were missed")
                    row = rows.get(i)
                    if row is None:
                        raise unavailable(f"message {i} was gone before this subscription read it (kept {RETAIN_S} s)")
                    _, row_ns, row_topic, payload, names, values, published_ms = row
                    if bytes(row_ns) != n or bytes(row_topic) != t:
                        continue  # another topic whose digest is the same
                    attributes = {from_utf8(k): from_utf8(v) for k, v in zip(names, values)}
                    if accepts(filter_, attributes):
                        yield Published(topic, bytes(payload), str(i), attributes, publish_time_ms=int(published_ms))
        finally:
            self.published.unwatch(live.word, live.heard)
            self._live.pop((ns, subscription_id), None)
            if not live.ended.done():
                live.ended.set_result(None)
