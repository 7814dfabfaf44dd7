"""Queues as rows of queue_messages (times in ms since the epoch): a message is visible when
visible_at has passed, ordered by (priority DESC, available_at, id). Every operation is one
IMMEDIATE transaction on the plugin's writer connection (SQLite has one writer at a time), so
competing consumers never take one message twice. Namespaces and names are UTF-8 BLOBs.

A delivered message keeps its receipt until the sweep settles it, before every read of its
queue (and after Release): once visible again it moves to the dead-letter queue if it used up its
deliveries, else it just loses the receipt; only settled messages are delivered.
"""

from __future__ import annotations

import re
import sqlite3
import time
import uuid
from typing import Any

from prism_plugin.contracts.queue.basic import Delivered
from prism_sqlite.connection import Schema, SqliteConnection, text, utf8

TABLES = Schema(
    ddl="""
CREATE TABLE IF NOT EXISTS queue_messages (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  namespace BLOB NOT NULL,
  queue BLOB NOT NULL,
  payload BLOB NOT NULL,
  priority INTEGER NOT NULL,
  available_at INTEGER NOT NULL,
  visible_at INTEGER NOT NULL,
  deliveries INTEGER NOT NULL DEFAULT 0,
  receipt TEXT
);
CREATE INDEX IF NOT EXISTS queue_messages_order ON queue_messages (namespace, queue, priority DESC, available_at, id);
CREATE INDEX IF NOT EXISTS queue_messages_receipt ON queue_messages (receipt) WHERE receipt IS NOT NULL;
CREATE TABLE IF NOT EXISTS queue_dead_letters (
  namespace BLOB NOT NULL,
  queue BLOB NOT NULL,
  target BLOB NOT NULL,
  max_deliveries INTEGER NOT NULL,
  moved INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (namespace, queue)
) WITHOUT ROWID
""",
    drop=("DELETE FROM queue_messages WHERE namespace = ?1", "DELETE FROM queue_dead_letters WHERE namespace = ?1"),
)

RECEIPT = re.compile(r"[0-9a-f]{32}")
QUEUE = "namespace = :ns AND queue = :q"
DUE_BACK = f"{QUEUE} AND receipt IS NOT NULL AND visible_at <= :now"
HEAD = f"""
SELECT id, payload, deliveries, priority FROM queue_messages
WHERE {QUEUE} AND visible_at <= :now AND receipt IS NULL
ORDER BY priority DESC, available_at, id LIMIT 1
"""
CURRENT = f"{QUEUE} AND receipt = :receipt AND visible_at > :now"


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def _params(ns: str, queue: str, **more: Any) -> dict[str, Any]:
    return {"ns": utf8(ns), "q": utf8(queue), "now": now_ms(), **more}


def _sweep(conn: sqlite3.Connection, p: dict[str, Any]) -> None:
    """Settle the queue's messages that became visible again since their delivery: those that
    used up their deliveries move to the dead-letter queue, the others lose their receipt."""
    config = conn.execute(f"SELECT target, max_deliveries FROM queue_dead_letters WHERE {QUEUE}", p).fetchone()
    if config is not None:
        moved = conn.execute(
            "UPDATE queue_messages SET queue = :target, available_at = :now, visible_at = :now, receipt = NULL"
            f" WHERE {DUE_BACK} AND deliveries >= :max",
            {**p, "target": config[0], "max": config[1]},
        ).rowcount
        if moved:
            conn.execute(f"UPDATE queue_dead_letters SET moved = moved + :n WHERE {QUEUE}", {**p, "n": moved})
    conn.execute(f"UPDATE queue_messages SET receipt = NULL WHERE {DUE_BACK}", p)


def _delivered(row: Any, receipt: str = "") -> Delivered | None:
    return None if row is None else Delivered(str(row[0]), bytes(row[1]), row[2], row[3], receipt)


class SqliteQueues:
    def __init__(self, conn: SqliteConnection):
        self.conn = conn

    # queue_basic, queue_priority, queue_delayed
    async def enqueue(self, ns: str, queue: str, payload: bytes, priority: int, delay_ms: int) -> str:
        p = _params(ns, queue, payload=bytes(payload), priority=priority)
        p["due"] = p["now"] + delay_ms

        def work(conn: sqlite3.Connection) -> str:
            cursor = conn.execute(
                "INSERT INTO queue_messages (namespace, queue, payload, priority, available_at, visible_at)"
                " VALUES (:ns, :q, :payload, :priority, :due, :due)",
                p,
            )
            return str(cursor.lastrowid)

        return await self.conn.run(work)

    async def dequeue(self, ns: str, queue: str, visibility_ms: int | None) -> Delivered | None:
        p = _params(ns, queue)

        def work(conn: sqlite3.Connection) -> Delivered | None:
            _sweep(conn, p)
            row = conn.execute(HEAD, p).fetchone()
            if row is None:
                return None
            if visibility_ms is None:
                conn.execute("DELETE FROM queue_messages WHERE id = ?", (row[0],))
                return Delivered(str(row[0]), bytes(row[1]), row[2] + 1, row[3])
            receipt = uuid.uuid4().hex
            conn.execute(
                "UPDATE queue_messages SET deliveries = deliveries + 1, receipt = ?, visible_at = ? WHERE id = ?",
                (receipt, p["now"] + visibility_ms, row[0]),
            )
            return Delivered(str(row[0]), bytes(row[1]), row[2] + 1, row[3], receipt)

        return await self.conn.run(work)

    async def peek(self, ns: str, queue: str) -> Delivered | None:
        p = _params(ns, queue)

        def work(conn: sqlite3.Connection) -> Delivered | None:
            _sweep(conn, p)
            return _delivered(conn.execute(HEAD, p).fetchone())

        return await self.conn.run(work)

    # queue_visibility
    async def _by_receipt(self, statement: str, ns: str, queue: str, receipt: str, sweep: bool = False, **more: Any) -> bool:
        if not RECEIPT.fullmatch(receipt):
            return False  # not one this plugin issued
        p = _params(ns, queue, receipt=receipt, **more)

        def work(conn: sqlite3.Connection) -> bool:
            done = conn.execute(statement, p).rowcount > 0
            if done and sweep:
                _sweep(conn, p)
            return done

        return await self.conn.run(work)

    async def extend(self, ns: str, queue: str, receipt: str, visibility_ms: int) -> bool:
        return await self._by_receipt(
            f"UPDATE queue_messages SET visible_at = :now + :ms WHERE {CURRENT}", ns, queue, receipt, ms=visibility_ms
        )

    async def release(self, ns: str, queue: str, receipt: str) -> bool:
        """Visible now (settled at once: dead-lettered when that was its last delivery)."""
        return await self._by_receipt(f"UPDATE queue_messages SET visible_at = :now WHERE {CURRENT}", ns, queue, receipt, sweep=True)

    async def ack(self, ns: str, queue: str, receipt: str) -> bool:
        return await self._by_receipt(f"DELETE FROM queue_messages WHERE {CURRENT}", ns, queue, receipt)

    # queue_dead_letter
    async def configure_dead_letter(self, ns: str, queue: str, dead_letter_queue: str, max_deliveries: int) -> None:
        p = _params(ns, queue, target=utf8(dead_letter_queue), max=max_deliveries)

        def work(conn: sqlite3.Connection) -> None:
            _sweep(conn, p)  # timeouts passed so far fall under the old configuration
            conn.execute(
                "INSERT INTO queue_dead_letters (namespace, queue, target, max_deliveries) VALUES (:ns, :q, :target, :max)"
                " ON CONFLICT (namespace, queue) DO UPDATE SET target = excluded.target, max_deliveries = excluded.max_deliveries",
                p,
            )

        await self.conn.run(work)

    async def dead_letter(self, ns: str, queue: str) -> tuple[str, int, int] | None:
        p = _params(ns, queue)

        def work(conn: sqlite3.Connection) -> Any:
            _sweep(conn, p)
            return conn.execute(f"SELECT target, max_deliveries, moved FROM queue_dead_letters WHERE {QUEUE}", p).fetchone()

        row = await self.conn.run(work)
        return None if row is None else (text(row[0]), row[1], row[2])

    # queue_delayed
    async def scheduled_count(self, ns: str, queue: str) -> int:
        p = _params(ns, queue)

        def work(conn: sqlite3.Connection) -> Any:
            return conn.execute(f"SELECT count(*) FROM queue_messages WHERE {QUEUE} AND deliveries = 0 AND visible_at > :now", p).fetchone()

        row = await self.conn.run(work, transaction="")
        return int(row[0]) if row else 0
