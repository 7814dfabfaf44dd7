"""Queues as rows of prism.queue_messages: a message is visible when visible_at has passed,
ordered by (priority DESC, available_at, id); a consumer takes the head with FOR UPDATE SKIP
LOCKED, so competing consumers never share one. Namespaces and names are stored as UTF-8
bytea (a name may hold any character, NUL included).

A delivered message keeps its receipt until SWEEP settles it, before every read of its queue
(and after Release): once visible again it moves to the dead-letter queue if it used up its
deliveries, else it just loses the receipt; only settled messages are delivered. Statements run
in autocommit mode: each is correct on its own, and SWEEP is idempotent.
"""

from __future__ import annotations

import re
import uuid
from typing import Any, TypeAlias

import psycopg

from prism_plugin.contracts.queue.basic import Delivered
from prism_postgres.connection import PostgresConnection, Schema

TABLES = Schema(
    ddl="""
CREATE TABLE IF NOT EXISTS prism.queue_messages (
  id bigserial PRIMARY KEY,
  namespace bytea NOT NULL,
  queue bytea NOT NULL,
  payload bytea NOT NULL,
  priority integer NOT NULL,
  available_at timestamptz NOT NULL,
  visible_at timestamptz NOT NULL,
  deliveries integer NOT NULL DEFAULT 0,
  receipt text
);
CREATE INDEX IF NOT EXISTS queue_messages_order ON prism.queue_messages (namespace, queue, priority DESC, available_at, id);
CREATE INDEX IF NOT EXISTS queue_messages_receipt ON prism.queue_messages (receipt) WHERE receipt IS NOT NULL;
CREATE INDEX IF NOT EXISTS queue_messages_delivered ON prism.queue_messages (namespace, queue, visible_at) WHERE receipt IS NOT NULL;
CREATE TABLE IF NOT EXISTS prism.queue_dead_letters (
  namespace bytea NOT NULL,
  queue bytea NOT NULL,
  target bytea NOT NULL,
  max_deliveries integer NOT NULL,
  moved bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (namespace, queue)
);
""",
    tables=("queue_messages", "queue_dead_letters"),
)

RECEIPT = re.compile(r"[0-9a-f]{32}")

# Settles the queue's messages that became visible again since their delivery (timeout passed,
# or released): those that used up their deliveries move to the dead-letter queue, the others
# just lose their receipt. Run before every read of the queue, and after Release.
SWEEP = """
WITH config AS (
  SELECT target, max_deliveries FROM prism.queue_dead_letters WHERE namespace = %(ns)s AND queue = %(q)s FOR UPDATE
), settled AS (
  UPDATE prism.queue_messages m
  SET queue = CASE WHEN c.max_deliveries <= m.deliveries THEN c.target ELSE m.queue END,
      available_at = CASE WHEN c.max_deliveries <= m.deliveries THEN statement_timestamp() ELSE m.available_at END,
      visible_at = CASE WHEN c.max_deliveries <= m.deliveries THEN statement_timestamp() ELSE m.visible_at END,
      receipt = NULL
  FROM (SELECT 1) AS one LEFT JOIN config c ON true
  WHERE m.namespace = %(ns)s AND m.queue = %(q)s AND m.receipt IS NOT NULL AND m.visible_at <= statement_timestamp()
  RETURNING coalesce(c.max_deliveries <= m.deliveries, false) AS moved
)
UPDATE prism.queue_dead_letters SET moved = moved + (SELECT count(*) FROM settled WHERE moved)
WHERE namespace = %(ns)s AND queue = %(q)s AND EXISTS (SELECT 1 FROM settled WHERE moved)
"""

# Only settled messages (receipt NULL): one that became visible after the SWEEP before it waits
# for the next SWEEP, so it is never delivered past its maximum.
HEAD = """
SELECT id FROM prism.queue_messages
WHERE namespace = %(ns)s AND queue = %(q)s AND visible_at <= statement_timestamp() AND receipt IS NULL
ORDER BY priority DESC, available_at, id LIMIT 1
"""

TAKE = f"""
UPDATE prism.queue_messages
SET deliveries = deliveries + 1, receipt = %(receipt)s,
    visible_at = statement_timestamp() + %(ms)s::float8 * interval '1 millisecond'
WHERE id = ({HEAD} FOR UPDATE SKIP LOCKED)
RETURNING id, payload, deliveries, priority
"""

REMOVE = f"""
DELETE FROM prism.queue_messages WHERE id = ({HEAD} FOR UPDATE SKIP LOCKED)
RETURNING id, payload, deliveries + 1, priority
"""

PEEK = """
SELECT id, payload, deliveries, priority FROM prism.queue_messages
WHERE namespace = %(ns)s AND queue = %(q)s AND visible_at <= statement_timestamp() AND receipt IS NULL
ORDER BY priority DESC, available_at, id LIMIT 1
"""

ENQUEUE = """
INSERT INTO prism.queue_messages (namespace, queue, payload, priority, available_at, visible_at)
SELECT %(ns)s, %(q)s, %(payload)s, %(priority)s, t, t
FROM (SELECT statement_timestamp() + %(ms)s::float8 * interval '1 millisecond' AS t) due
RETURNING id
"""

# A receipt is current while its delivery's visibility timeout has not passed.
CURRENT = "namespace = %(ns)s AND queue = %(q)s AND receipt = %(receipt)s AND visible_at > statement_timestamp()"
EXTEND = f"""
UPDATE prism.queue_messages SET visible_at = statement_timestamp() + %(ms)s::float8 * interval '1 millisecond'
WHERE {CURRENT} RETURNING id
"""
RELEASE = f"UPDATE prism.queue_messages SET visible_at = statement_timestamp() WHERE {CURRENT} RETURNING id"
ACK = f"DELETE FROM prism.queue_messages WHERE {CURRENT} RETURNING id"

CONFIGURE = """
INSERT INTO prism.queue_dead_letters (namespace, queue, target, max_deliveries) VALUES (%(ns)s, %(q)s, %(target)s, %(max)s)
ON CONFLICT (namespace, queue) DO UPDATE SET target = excluded.target, max_deliveries = excluded.max_deliveries
"""
CONFIG = "SELECT target, max_deliveries, moved FROM prism.queue_dead_letters WHERE namespace = %(ns)s AND queue = %(q)s"
SCHEDULED = """
SELECT count(*) FROM prism.queue_messages
WHERE namespace = %(ns)s AND queue = %(q)s AND deliveries = 0 AND visible_at > statement_timestamp()
"""

Conn: TypeAlias = "psycopg.AsyncConnection[Any]"


def _utf8(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


def _where(ns: str, queue: str, **more: Any) -> dict[str, Any]:
    return {"ns": _utf8(ns), "q": _utf8(queue), **more}


async def _one(conn: Conn, sql: Any, params: dict[str, Any]) -> tuple[Any, ...] | None:
    return await (await conn.execute(sql, params)).fetchone()


class PostgresQueues:
    def __init__(self, conn: PostgresConnection):
        self.conn = conn

    # queue_basic, queue_priority, queue_delayed
    async def enqueue(self, ns: str, queue: str, payload: bytes, priority: int, delay_ms: int) -> str:
        async def work(conn: Conn) -> str:
            row = await _one(conn, ENQUEUE, _where(ns, queue, payload=bytes(payload), priority=priority, ms=delay_ms))
            assert row is not None
            return str(row[0])

        return await self.conn.run(work)

    async def dequeue(self, ns: str, queue: str, visibility_ms: int | None) -> Delivered | None:
        async def work(conn: Conn) -> Delivered | None:
            receipt = "" if visibility_ms is None else uuid.uuid4().hex
            async with conn.pipeline():  # one round trip for both
                await conn.execute(SWEEP, _where(ns, queue))
                if visibility_ms is None:
                    row = await _one(conn, REMOVE, _where(ns, queue))
                else:
                    row = await _one(conn, TAKE, _where(ns, queue, receipt=receipt, ms=visibility_ms))
            return None if row is None else Delivered(str(row[0]), bytes(row[1]), row[2], row[3], receipt)

        return await self.conn.run(work)

    async def peek(self, ns: str, queue: str) -> Delivered | None:
        async def work(conn: Conn) -> Delivered | None:
            await conn.execute(SWEEP, _where(ns, queue))
            row = await _one(conn, PEEK, _where(ns, queue))
            return None if row is None else Delivered(str(row[0]), bytes(row[1]), row[2], row[3])

        return await self.conn.run(work)

    # queue_visibility
    async def _by_receipt(self, sql: Any, ns: str, queue: str, receipt: str, sweep: bool = False, **more: Any) -> bool:
        if not RECEIPT.fullmatch(receipt):
            return False  # not one this plugin issued

        async def work(conn: Conn) -> bool:
            done = await _one(conn, sql, _where(ns, queue, receipt=receipt, **more)) is not None
            if done and sweep:
                await conn.execute(SWEEP, _where(ns, queue))
            return done

        return await self.conn.run(work)

    async def extend(self, ns: str, queue: str, receipt: str, visibility_ms: int) -> bool:
        return await self._by_receipt(EXTEND, ns, queue, receipt, ms=visibility_ms)

    async def release(self, ns: str, queue: str, receipt: str) -> bool:
        """Visible now (settled at once: dead-lettered when that was its last delivery)."""
        return await self._by_receipt(RELEASE, ns, queue, receipt, sweep=True)

    async def ack(self, ns: str, queue: str, receipt: str) -> bool:
        return await self._by_receipt(ACK, ns, queue, receipt)

    # queue_dead_letter
    async def configure_dead_letter(self, ns: str, queue: str, dead_letter_queue: str, max_deliveries: int) -> None:
        async def work(conn: Conn) -> None:
            await conn.execute(SWEEP, _where(ns, queue))  # timeouts passed so far fall under the old configuration
            await conn.execute(CONFIGURE, _where(ns, queue, target=_utf8(dead_letter_queue), max=max_deliveries))

        await self.conn.run(work)

    async def dead_letter(self, ns: str, queue: str) -> tuple[str, int, int] | None:
        async def work(conn: Conn) -> tuple[str, int, int] | None:
            await conn.execute(SWEEP, _where(ns, queue))
            row = await _one(conn, CONFIG, _where(ns, queue))
            return None if row is None else (bytes(row[0]).decode("utf-8", "surrogatepass"), row[1], row[2])

        return await self.conn.run(work)

    # queue_delayed
    async def scheduled_count(self, ns: str, queue: str) -> int:
        async def work(conn: Conn) -> int:
            row = await _one(conn, SCHEDULED, _where(ns, queue))
            return int(row[0]) if row else 0

        return await self.conn.run(work)
