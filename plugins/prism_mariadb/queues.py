"""Queues as rows of prism_queue_messages: a message is visible when visible_at (ms since the
epoch, the server's clock) has passed, ordered by (priority DESC, available_at, id); a consumer
takes the head with `FOR UPDATE SKIP LOCKED`, so competing consumers never share one.
Namespaces and names are UTF-8 VARBINARY (byte-exact, any character).

A delivered message keeps its receipt until SWEEP settles it, before every read of its queue
(and after Release): once visible again it moves to the dead-letter queue if it used up its
deliveries, else it just loses its receipt; only settled messages are delivered. MariaDB has no
UPDATE ... RETURNING, so a delivery is a short READ COMMITTED transaction: lock the head, then
update (or delete) it by id.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from prism_mariadb.connection import NOW_MS, MariaDBConnection, Schema, Session
from prism_plugin.contracts.queue.basic import Delivered

TABLES = Schema(
    ddl="""
CREATE TABLE IF NOT EXISTS prism_queue_messages (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  namespace VARBINARY(1024) NOT NULL,
  queue VARBINARY(1024) NOT NULL,
  payload LONGBLOB NOT NULL,
  priority INT NOT NULL,
  available_at BIGINT NOT NULL,
  visible_at BIGINT NOT NULL,
  deliveries INT NOT NULL DEFAULT 0,
  receipt CHAR(32) CHARACTER SET ascii NULL,
  KEY prism_queue_order (namespace, queue, priority DESC, available_at, id),
  KEY prism_queue_receipt (receipt),
  KEY prism_queue_visible (namespace, queue, visible_at)
) ENGINE=InnoDB;
CREATE TABLE IF NOT EXISTS prism_queue_dead_letters (
  namespace VARBINARY(1024) NOT NULL,
  queue VARBINARY(1024) NOT NULL,
  target VARBINARY(1024) NOT NULL,
  max_deliveries INT NOT NULL,
  moved BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (namespace, queue)
) ENGINE=InnoDB
""",
    tables=("prism_queue_messages", "prism_queue_dead_letters"),
)

RECEIPT = re.compile(r"[0-9a-f]{32}")
QUEUE = "namespace = %(ns)s AND queue = %(q)s"
DUE = f"{NOW_MS} + %(ms)s"

# SWEEP: the messages of the queue that became visible again since their delivery (timeout
# passed, or released) are settled, under the queue's dead-letter configuration (locked).
CONFIG_LOCKED = f"SELECT target, max_deliveries FROM prism_queue_dead_letters WHERE {QUEUE} FOR UPDATE"
UNSETTLED = f"{QUEUE} AND receipt IS NOT NULL AND visible_at <= {NOW_MS}"
ANY_UNSETTLED = f"SELECT 1 FROM prism_queue_messages WHERE {UNSETTLED} LIMIT 1"
COUNT_DUE = f"SELECT COUNT(*) FROM prism_queue_messages WHERE {UNSETTLED} AND deliveries >= %(max)s"
# The assignments run left to right; each condition reads `deliveries`, which none changes.
SETTLE_UNDER_CONFIG = f"""
UPDATE prism_queue_messages
SET queue = IF(deliveries >= %(max)s, %(target)s, queue),
    available_at = IF(deliveries >= %(max)s, {NOW_MS}, available_at),
    visible_at = IF(deliveries >= %(max)s, {NOW_MS}, visible_at),
    receipt = NULL
WHERE {UNSETTLED}
"""
SETTLE = f"UPDATE prism_queue_messages SET receipt = NULL WHERE {UNSETTLED}"
COUNT_MOVED = f"UPDATE prism_queue_dead_letters SET moved = moved + %(n)s WHERE {QUEUE}"

# Only settled messages (receipt NULL): one that became visible after the SWEEP before it waits
# for the next SWEEP, so it is never delivered past its maximum.
HEAD = f"""
SELECT id, payload, deliveries, priority FROM prism_queue_messages
WHERE {QUEUE} AND visible_at <= {NOW_MS} AND receipt IS NULL
ORDER BY priority DESC, available_at, id LIMIT 1
"""
TAKE = f"UPDATE prism_queue_messages SET deliveries = deliveries + 1, receipt = %(receipt)s, visible_at = {DUE} WHERE id = %(id)s"
REMOVE = "DELETE FROM prism_queue_messages WHERE id = %(id)s"

ENQUEUE = f"""
INSERT INTO prism_queue_messages (namespace, queue, payload, priority, available_at, visible_at)
VALUES (%(ns)s, %(q)s, %(payload)s, %(priority)s, {DUE}, {DUE}) RETURNING id
"""

# A receipt is current while its delivery's visibility timeout has not passed.
CURRENT = f"{QUEUE} AND receipt = %(receipt)s AND visible_at > {NOW_MS}"
EXTEND = f"UPDATE prism_queue_messages SET visible_at = {DUE} WHERE {CURRENT}"
RELEASE = f"UPDATE prism_queue_messages SET visible_at = {NOW_MS} WHERE {CURRENT}"
ACK = f"DELETE FROM prism_queue_messages WHERE {CURRENT}"

CONFIGURE = """
INSERT INTO prism_queue_dead_letters (namespace, queue, target, max_deliveries) VALUES (%(ns)s, %(q)s, %(target)s, %(max)s)
ON DUPLICATE KEY UPDATE target = VALUES(target), max_deliveries = VALUES(max_deliveries)
"""
CONFIG = f"SELECT target, max_deliveries, moved FROM prism_queue_dead_letters WHERE {QUEUE}"
SCHEDULED = f"SELECT COUNT(*) FROM prism_queue_messages WHERE {QUEUE} AND deliveries = 0 AND visible_at > {NOW_MS}"


def _utf8(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


def _where(ns: str, queue: str, **more: Any) -> dict[str, Any]:
    return {"ns": _utf8(ns), "q": _utf8(queue), **more}


async def _sweep(s: Session, params: dict[str, Any]) -> None:
    """Settle what became visible again since its delivery (one transaction, when there is any)."""
    if await s.fetchone(ANY_UNSETTLED, params) is None:
        return

    async def work(t: Session) -> None:
        config = await t.fetchone(CONFIG_LOCKED, params)
        if config is None:
            await t.execute(SETTLE, params)
            return
        under = {**params, "target": bytes(config[0]), "max": config[1]}
        row = await t.fetchone(COUNT_DUE + " FOR UPDATE", under)
        moved = int(row[0]) if row else 0
        await t.execute(SETTLE_UNDER_CONFIG, under)
        if moved:
            await t.execute(COUNT_MOVED, {**params, "n": moved})

    await s.transaction(work)


class MariaDBQueues:
    def __init__(self, conn: MariaDBConnection):
        self.conn = conn

    # queue_basic, queue_priority, queue_delayed
    async def enqueue(self, ns: str, queue: str, payload: bytes, priority: int, delay_ms: int) -> str:
        params = _where(ns, queue, payload=bytes(payload), priority=priority, ms=delay_ms)
        row = await self.conn.run(lambda s: s.fetchone(ENQUEUE, params))
        return str(row[0])

    async def dequeue(self, ns: str, queue: str, visibility_ms: int | None) -> Delivered | None:
        params = _where(ns, queue, ms=visibility_ms or 0, receipt=None if visibility_ms is None else uuid.uuid4().hex)

        async def take(t: Session) -> Delivered | None:
            row = await t.fetchone(HEAD + " FOR UPDATE SKIP LOCKED", params)
            if row is None:
                return None
            mid, payload, deliveries, priority = row
            await t.execute(REMOVE if visibility_ms is None else TAKE, {**params, "id": mid})
            return Delivered(str(mid), bytes(payload), deliveries + 1, priority, params["receipt"] or "")

        async def work(s: Session) -> Delivered | None:
            await _sweep(s, params)
            return await s.transaction(take)

        return await self.conn.run(work)

    async def peek(self, ns: str, queue: str) -> Delivered | None:
        params = _where(ns, queue)

        async def work(s: Session) -> Delivered | None:
            await _sweep(s, params)
            row = await s.fetchone(HEAD, params)
            return None if row is None else Delivered(str(row[0]), bytes(row[1]), row[2], row[3])

        return await self.conn.run(work)

    # queue_visibility
    async def _by_receipt(self, sql: str, ns: str, queue: str, receipt: str, sweep: bool = False, **more: Any) -> bool:
        if not RECEIPT.fullmatch(receipt):
            return False  # not one this plugin issued
        params = _where(ns, queue, receipt=receipt, **more)

        async def work(s: Session) -> bool:
            done = await s.execute(sql, params) > 0
            if done and sweep:
                await _sweep(s, params)
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
        params = _where(ns, queue, target=_utf8(dead_letter_queue), max=max_deliveries)

        async def work(s: Session) -> None:
            await _sweep(s, params)  # timeouts passed so far fall under the old configuration
            await s.execute(CONFIGURE, params)

        await self.conn.run(work)

    async def dead_letter(self, ns: str, queue: str) -> tuple[str, int, int] | None:
        params = _where(ns, queue)

        async def work(s: Session) -> tuple[str, int, int] | None:
            await _sweep(s, params)
            row = await s.fetchone(CONFIG, params)
            return None if row is None else (bytes(row[0]).decode("utf-8", "surrogatepass"), row[1], int(row[2]))

        return await self.conn.run(work)

    # queue_delayed
    async def scheduled_count(self, ns: str, queue: str) -> int:
        row = await self.conn.run(lambda s: s.fetchone(SCHEDULED, _where(ns, queue)))
        return int(row[0]) if row else 0
