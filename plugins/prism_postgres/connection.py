"""The PostgreSQL plugin's connection: a psycopg async pool whose every statement is bounded
(statement_timeout and lock_timeout on the server, an asyncio timeout around each call), and
the plugin's schema, created on Initialize."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, Awaitable, Callable

import psycopg
import psycopg_pool
from psycopg import sql

from prism_plugin.status import StatusError, failed_precondition, invalid, unavailable
from prism_plugin.urls import redact_text, redacted, refusal

CONNECT_TIMEOUT_S = 3
# Below the harness' default call deadline (5 s), so a slow statement answers before it.
STATEMENT_TIMEOUT_MS = 3500
CALL_TIMEOUT_S = 4.0
POOL_MAX = 8
SCHEMA = "prism"  # every table lives in it (the statements name it literally)
SCHEMA_LOCK = 0x707269736D  # pg_advisory_xact_lock key: one schema creation at a time


@dataclass(frozen=True)
class Schema:
    """One data model's part of the schema: idempotent DDL, and the tables whose rows carry a
    `namespace` column (DropNamespace deletes those rows). `on_drop(conn, namespace)` removes
    what a namespace owns beyond rows (e.g. indexes created for it), before the rows go: it
    finds that in the rows, so it works for whatever a plugin that died left behind."""

    ddl: str
    tables: tuple[str, ...]
    on_drop: Callable[[psycopg.AsyncConnection[Any], bytes], Awaitable[None]] | None = None


class PostgresConnection:
    def __init__(self, *schemas: Schema) -> None:
        self.schemas = schemas
        self._pool: psycopg_pool.AsyncConnectionPool | None = None
        self.url = ""  # of the instance connected to (LISTEN opens a connection of its own)
        # What holds connections of its own (the transactions' pool): closed with this one.
        self.closers: list[Callable[[], Awaitable[None]]] = []

    @property
    def pool(self) -> psycopg_pool.AsyncConnectionPool:
        if self._pool is None:
            raise failed_precondition("plugin not initialized: call PluginLifecycle.Initialize")
        return self._pool

    async def run(self, work, *args):
        """`await work(conn, *args)` on a pooled connection in autocommit mode (each statement
        commits by itself: every operation is one statement, or statements each correct alone),
        bounded by CALL_TIMEOUT_S."""

        async def go():
            async with self.pool.connection(timeout=CALL_TIMEOUT_S) as conn:
                return await work(conn, *args)

        return await asyncio.wait_for(go(), CALL_TIMEOUT_S)

    async def connect(self, settings: dict[str, str]) -> str:
        await self.close()  # a second Initialize replaces the first one's pool
        url = settings["url"]
        shown = redacted(url)
        why = refusal(url)
        if why is not None:
            raise invalid(f"bad PostgreSQL URL: {why}")
        try:
            psycopg.conninfo.conninfo_to_dict(url)
        except psycopg.ProgrammingError as e:
            raise invalid(f"bad PostgreSQL URL {shown}: {type(e).__name__}") from e
        pool = psycopg_pool.AsyncConnectionPool(
            url,
            min_size=1,
            max_size=POOL_MAX,
            open=False,
            timeout=CALL_TIMEOUT_S,
            kwargs={
                "autocommit": True,
                "connect_timeout": CONNECT_TIMEOUT_S,
                "options": f"-c statement_timeout={STATEMENT_TIMEOUT_MS} -c lock_timeout={STATEMENT_TIMEOUT_MS}",
            },
        )
        try:
            # One connection first: the pool would only say PoolTimeout, not what the server said
            # (a wrong password, a missing database or role).
            first = await psycopg.AsyncConnection.connect(url, connect_timeout=CONNECT_TIMEOUT_S)
            await first.close()
        except psycopg.OperationalError as e:
            raise unavailable(f"PostgreSQL at {shown} refused the connection: {redact_text(server_said(e))}") from None
        try:
            await pool.open(wait=True, timeout=CONNECT_TIMEOUT_S)
            self._pool = pool
            version = await self.run(_create_schema, self.schemas)
            self.url = url
        except (psycopg.Error, psycopg_pool.PoolTimeout, asyncio.TimeoutError, OSError) as e:
            self._pool = None
            await pool.close()
            raise unavailable(f"cannot use PostgreSQL at {shown}: {type(e).__name__}") from e
        return version

    async def drop_namespace(self, namespace: str) -> None:
        await self.run(_drop, self.schemas, namespace.encode("utf-8", "surrogatepass"))

    async def healthy(self) -> bool:
        """A pooled connection answers (the pool replaces connections it lost)."""
        if self._pool is None:
            return False
        try:
            await self.run(lambda conn: conn.execute("SELECT 1"))
        except (psycopg.Error, psycopg_pool.PoolTimeout, asyncio.TimeoutError, OSError, StatusError):
            return False
        return True

    async def close(self) -> None:
        for close in self.closers:
            await close()
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()


def server_said(e: psycopg.Error) -> str:
    """What the server (or libpq) said, on one line, without libpq's "connection failed:" preamble."""
    text = " ".join(str(e).split())
    return text.rsplit("failed: ", 1)[-1][:300]


async def _create_schema(conn: psycopg.AsyncConnection[Any], schemas: tuple[Schema, ...]) -> str:
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
        await conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(SCHEMA)))
        for schema in schemas:
            for statement in filter(str.strip, schema.ddl.split(";")):
                await conn.execute(statement)
    row = await (await conn.execute("SELECT version()")).fetchone()
    return server_identity(row[0] if row else "")


def server_identity(version: str) -> str:
    """The product and version `version()` states ("PostgreSQL 15.19 (Debian ...) on x86_64...",
    "CockroachDB CCL v23.1.11 ..."): an emulation names itself there, never reported as PostgreSQL."""
    words = version.split()
    if not words:
        return "unknown server (version() answered nothing)"
    at = next((i for i, w in enumerate(words) if w[:1].isdigit() or (w[:1] in "vV" and w[1:2].isdigit())), len(words))
    product = " ".join(words[:at]) or "unknown"
    return f"{product.lower()} {words[at] if at < len(words) else '?'}"


async def _drop(conn: psycopg.AsyncConnection[Any], schemas: tuple[Schema, ...], ns: bytes) -> None:
    for schema in schemas:
        if schema.on_drop is not None:
            await schema.on_drop(conn, ns)
        for table in schema.tables:
            await conn.execute(sql.SQL("DELETE FROM {} WHERE namespace = %s").format(sql.Identifier(SCHEMA, table)), (ns,))
