"""LISTEN/NOTIFY for the plugin: one LISTEN connection per plugin process, shared by every
blocked list pop and every subscription, dispatching each NOTIFY payload to the callbacks
watching its first word (a digest of what it is about: the waiters' keys, the subscribers'
topics). A NOTIFY is delivered when its transaction commits, to every listening session of the
database, so pushes and publishes of other plugin processes wake this one's waiters too.

The connection is health-checked every HEARTBEAT_S; when it is lost, `on_lost` callbacks run
(what was sent meanwhile is gone: a subscription must say so) and it is opened again.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from typing import Callable

import psycopg
from psycopg import sql

from prism_postgres.connection import CONNECT_TIMEOUT_S, PostgresConnection

log = logging.getLogger("prism.postgres")

HEARTBEAT_S = 5.0  # a lost LISTEN connection is noticed within this
RECONNECT_S = 0.5  # between attempts to open it again


def digest(*parts: bytes) -> str:
    """A NOTIFY word for a tuple of byte strings (length-prefixed, so the tuple is unambiguous);
    receivers compare the real names again, so a collision only costs a spurious wake-up."""
    h = hashlib.blake2b(digest_size=16)
    for part in parts:
        h.update(len(part).to_bytes(8, "big"))
        h.update(part)
    return h.hexdigest()


class Listener:
    def __init__(self, conn: PostgresConnection, channel: str):
        self.conn = conn
        self.channel = channel
        self._watchers: dict[str, set[Callable[[str], None]]] = {}
        self.on_lost: list[Callable[[], None]] = []
        self._live = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._connection: psycopg.AsyncConnection | None = None
        conn.closers.append(self.close)

    def watch(self, word: str, callback: Callable[[str], None]) -> None:
        self._watchers.setdefault(word, set()).add(callback)

    def unwatch(self, word: str, callback: Callable[[str], None]) -> None:
        watching = self._watchers.get(word)
        if watching is not None:
            watching.discard(callback)
            if not watching:
                del self._watchers[word]

    async def live(self, timeout_s: float) -> bool:
        """Whether the connection is LISTENing (opened on first use), waiting up to timeout_s:
        a NOTIFY committed after a True answer reaches the watchers."""
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())
        if not self._live.is_set():
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._live.wait(), max(timeout_s, 0.0))
        return self._live.is_set()

    async def _run(self) -> None:
        while True:
            try:
                await self._listen()
            except (psycopg.Error, OSError, asyncio.TimeoutError) as e:
                log.warning("LISTEN %s connection lost: %s", self.channel, type(e).__name__)
            finally:
                was_live = self._live.is_set()
                self._live.clear()
                connection, self._connection = self._connection, None
                if connection is not None:
                    await connection.close()
                if was_live:
                    for lost in list(self.on_lost):
                        lost()
            await asyncio.sleep(RECONNECT_S)  # a pause between reconnection attempts

    async def _listen(self) -> None:
        self._connection = await psycopg.AsyncConnection.connect(self.conn.url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S)
        await asyncio.wait_for(self._connection.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self.channel))), CONNECT_TIMEOUT_S)
        self._live.set()
        while True:
            async for notify in self._connection.notifies(timeout=HEARTBEAT_S):
                for callback in list(self._watchers.get(notify.payload.split(" ", 1)[0], ())):
                    callback(notify.payload)
            await asyncio.wait_for(self._connection.execute("SELECT 1"), CONNECT_TIMEOUT_S)

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, psycopg.Error, OSError):
                await task
        self._live.clear()
