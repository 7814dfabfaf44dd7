"""The MariaDB plugin's connection: an aiomysql pool (aio-libs' asyncio client over PyMySQL, the
one SQLAlchemy's asyncio MySQL dialect uses), every statement bounded by what is left of the
call's deadline (server-side `SET STATEMENT max_statement_time=... FOR`, which also interrupts
lock waits; client-side an asyncio timeout that drops the connection), and the plugin's tables,
created on Initialize in the URL's database (all named `prism_*`)."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Sequence
from urllib.parse import unquote, urlsplit

import aiomysql
import grpc
import pymysql
from pymysql.constants import CLIENT
from pymysql.converters import escape_bytes

from prism_mariadb import deadlines
from prism_plugin.status import StatusError, aborted, failed_precondition, invalid, unavailable
from prism_plugin.urls import redact_text, redacted, refusal

CONNECT_TIMEOUT_S = 3
POOL_MAX = 8
DEFAULT_PORT = 3306
SCHEMES = ("mysql", "mariadb")
SCHEMA_LOCK = "prism_accept.schema"  # GET_LOCK name: one plugin creates the tables at a time
# The client gives up this long after the server's own bound (max_statement_time) has passed.
CLIENT_SLACK_S = 0.1
# Every session: UTC (so UNIX_TIMESTAMP(NOW(3)) is exact), binary-safe utf8mb4, READ COMMITTED
# for the one-statement operations (no gap locks); a transaction sets its own level. A graph
# traversal's recursive CTE iterates once per level of the walk: max_recursive_iterations (1000
# by default) would cut a long chain short, so the bound is the traversal's row cap instead.
INIT = (
    "SET time_zone = '+00:00', tx_isolation = 'READ-COMMITTED', sql_mode = 'STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION',"
    " lock_wait_timeout = 10, sql_notes = 0, max_recursive_iterations = 100001"
)
SESSION_LEVEL = "READ COMMITTED"  # INIT's tx_isolation
NOW_MS = "CAST(UNIX_TIMESTAMP(NOW(3)) * 1000 AS SIGNED)"  # the statement's start, ms since the epoch

OWN_SETTINGS = "SET STATEMENT "
STATEMENT_TIMED_OUT = 1969  # ER_STATEMENT_TIMEOUT: max_statement_time passed
CONFLICTS = (1213, 1205)  # ER_LOCK_DEADLOCK, ER_LOCK_WAIT_TIMEOUT: lost to another writer
DEADLOCK = 1213
DEADLOCK_RETRIES = 4  # a deadlock victim's transaction is run again at most this often in all
DEADLOCK_RETRY_MIN_S = 0.2  # and only while the call's deadline leaves this much


class Deadlocked(StatusError):
    """ABORTED: InnoDB rolled the transaction back as a deadlock's victim (it may be run again)."""


class BinaryCursor(aiomysql.Cursor):
    """aiomysql's cursor, escaping bytes as PyMySQL does (a hex literal, `_binary X'...'`):
    aiomysql 0.3.2 escapes bytes with PyMySQL's `escape_bytes_prefixed`, which PyMySQL 1.1
    replaced by a placeholder string (calling it raises TypeError)."""

    def _escape_args(self, args: Any, conn: Any) -> Any:
        def literal(value: Any) -> Any:
            return escape_bytes(value) if isinstance(value, (bytes, bytearray)) else conn.escape(value)

        if isinstance(args, (tuple, list)):
            return tuple(literal(arg) for arg in args)
        if isinstance(args, dict):
            return {key: literal(value) for key, value in args.items()}
        return literal(args)


@dataclass(frozen=True)
class Schema:
    """One data model's part of the schema: idempotent DDL, and the tables whose rows carry a
    `namespace` column (DropNamespace deletes those rows). `on_drop(session, namespace)`
    removes what a namespace owns beyond rows (its indexes), before the rows go."""

    ddl: str
    tables: tuple[str, ...]
    on_drop: Callable[["Session", bytes], Awaitable[None]] | None = None


@dataclass(frozen=True)
class Target:
    """What a mysql:// URL names; the password is never shown (`shown` is the redacted URL)."""

    host: str
    port: int
    user: str
    password: str
    database: str
    shown: str


def parse_url(url: str) -> Target:
    """mysql://[user[:password]@]host[:port]/database (or mariadb://); INVALID_ARGUMENT naming
    the redacted URL for anything else (a query: no option is understood)."""
    shown = redacted(url)
    why = refusal(url)
    if why is not None:
        raise invalid(f"bad MariaDB URL: {why}")
    try:
        parts = urlsplit(url)
        port = parts.port or DEFAULT_PORT
    except ValueError as e:
        raise invalid(f"bad MariaDB URL {shown}: {e}") from None
    if parts.scheme.lower() not in SCHEMES:
        raise invalid(f"bad MariaDB URL {shown}: the scheme must be one of {', '.join(s + '://' for s in SCHEMES)}")
    if not parts.hostname:
        raise invalid(f"bad MariaDB URL {shown}: no host")
    if parts.query or parts.fragment:
        raise invalid(f"bad MariaDB URL {shown}: no query options are understood")
    database = unquote(parts.path.lstrip("/"))
    if not database or "/" in database:
        raise invalid(f"bad MariaDB URL {shown}: name one database as its path (mysql://HOST:PORT/DB)")
    return Target(
        host=parts.hostname,
        port=port,
        user=unquote(parts.username or "root"),
        password=unquote(parts.password or ""),
        database=database,
        shown=shown,
    )


def bounded(statement: str, seconds: float) -> str:
    """The statement under MariaDB's per-statement limit (which counts lock waits too); a
    statement with settings of its own (`SET STATEMENT x=1 FOR ...`) keeps them."""
    limit = f"max_statement_time={max(seconds, 0.001):.3f}"
    if statement.startswith(OWN_SETTINGS):
        return f"SET STATEMENT {limit}, {statement[len(OWN_SETTINGS):]}"
    return f"SET STATEMENT {limit} FOR {statement}"


def server_identity(version: str, comment: str = "") -> str:
    """The product and version VERSION() and @@version_comment state: MariaDB names itself in
    VERSION() ("10.11.19-MariaDB-0+deb12u1"), as do MySQL-protocol emulations ("8.0.11-TiDB-v7.5.0");
    a bare number is MySQL or a build of it that names itself in the comment (Percona Server)."""
    number, _, rest = version.partition("-")
    if not number:
        return "unknown server (VERSION() answered nothing)"
    if rest.startswith("MariaDB"):
        return f"mariadb {number}"
    product = re.match(r"([A-Za-z][A-Za-z]*)-?(v?[0-9][^-]*)?", rest)
    if product and product.group(1):
        return f"{product.group(1).lower()} {product.group(2) or '?'} (compatible with mysql {number})"
    if "percona" in comment.lower():
        return f"percona server {number}"
    return f"mysql {number}"


def server_said(e: BaseException) -> str:
    """What the server (or the client) said: its code and message, on one line."""
    args: tuple[Any, ...] = tuple(getattr(e, "args", ()))
    text = f"({args[0]}) {args[1]}" if len(args) >= 2 else str(e)
    return redact_text(" ".join(text.split()))[:300]


class Session:
    """One pooled connection, each statement bounded by the current call's deadline."""

    def __init__(self, conn: aiomysql.Connection):
        self.conn = conn

    async def _run(self, statement: str, args: Any, fetch: bool, limited: bool = True) -> tuple[int, list[tuple[Any, ...]]]:
        left = deadlines.remaining()
        sql = bounded(statement, left) if limited else statement
        async with self.conn.cursor() as cur:
            try:
                async with asyncio.timeout(left + CLIENT_SLACK_S):  # no task per statement, as wait_for makes
                    await cur.execute(sql, args)
                rows = list(await cur.fetchall()) if fetch else []
            except asyncio.TimeoutError:
                self.conn.close()  # mid-statement: the connection's state is unknown
                raise StatusError(grpc.StatusCode.DEADLINE_EXCEEDED, "MariaDB did not answer within the call's deadline") from None
            except pymysql.err.MySQLError as e:
                code = e.args[0] if e.args else 0
                if code == STATEMENT_TIMED_OUT:
                    raise StatusError(grpc.StatusCode.DEADLINE_EXCEEDED, "the statement ran past the call's deadline") from None
                if code == DEADLOCK:
                    raise Deadlocked(grpc.StatusCode.ABORTED, f"lost to a concurrent writer ({server_said(e)}); retry") from None
                if code in CONFLICTS:
                    raise aborted(f"lost to a concurrent writer ({server_said(e)}); retry") from None
                raise
            return cur.rowcount, rows

    async def execute(self, statement: str, args: Any = None) -> int:
        """The statement's affected (with CLIENT.FOUND_ROWS: matched) rows."""
        return (await self._run(statement, args, False))[0]

    async def fetchall(self, statement: str, args: Any = None) -> list[tuple[Any, ...]]:
        return (await self._run(statement, args, True))[1]

    async def fetchone(self, statement: str, args: Any = None) -> tuple[Any, ...] | None:
        rows = await self.fetchall(statement, args)
        return rows[0] if rows else None

    async def control(self, statement: str) -> None:
        """A statement SET STATEMENT cannot prefix (START TRANSACTION, COMMIT, ROLLBACK, SET)."""
        await self._run(statement, None, False, limited=False)

    async def transaction(self, work: Callable[["Session"], Awaitable[Any]], level: str = SESSION_LEVEL) -> Any:
        """`work(self)` in one transaction, committed when it returns, rolled back when it raises.
        A transaction InnoDB chose as a deadlock's victim was rolled back whole, and is run again
        (as the server's message asks) while the call's deadline leaves time: competing consumers'
        `FOR UPDATE SKIP LOCKED` takes still deadlock on the secondary index now and then."""
        for attempt in range(DEADLOCK_RETRIES):
            try:
                return await self._transaction(work, level)
            except Deadlocked:
                if attempt == DEADLOCK_RETRIES - 1 or deadlines.remaining() < DEADLOCK_RETRY_MIN_S:
                    raise
        raise AssertionError("unreachable")

    async def _transaction(self, work: Callable[["Session"], Awaitable[Any]], level: str) -> Any:
        if level != SESSION_LEVEL:
            await self.control(f"SET TRANSACTION ISOLATION LEVEL {level}")
        await self.control("START TRANSACTION")
        try:
            result = await work(self)
        except BaseException:
            if not self.conn.closed:
                try:
                    await self.control("ROLLBACK")
                except (pymysql.err.MySQLError, StatusError):
                    self.conn.close()
            raise
        await self.control("COMMIT")
        return result


def keeps_connection(e: BaseException) -> bool:
    """Whether a connection is still usable after the error: a status of ours (deadline, conflict)
    or an error the server answered (codes 1000-1999 and 3000 up); not a client-side one (2000-2999:
    lost connection, cannot connect), nor a failure mid-statement."""
    if isinstance(e, StatusError):
        return True
    code = e.args[0] if isinstance(e, pymysql.err.MySQLError) and e.args else None
    return isinstance(code, int) and (1000 <= code < 2000 or code >= 3000)


class MariaDBConnection:
    def __init__(self, *schemas: Schema) -> None:
        self.schemas = schemas
        self._pool: aiomysql.Pool | None = None
        self.target: Target | None = None
        # What holds connections of its own (the transactions): closed with this one.
        self.closers: list[Callable[[], Awaitable[None]]] = []

    @property
    def pool(self) -> aiomysql.Pool:
        if self._pool is None:
            raise failed_precondition("plugin not initialized: call PluginLifecycle.Initialize")
        return self._pool

    def connect_args(self) -> dict[str, Any]:
        """What aiomysql.connect needs for the instance (the password among it: never shown)."""
        t = self.target
        if t is None:
            raise failed_precondition("plugin not initialized: call PluginLifecycle.Initialize")
        return {
            "host": t.host,
            "port": t.port,
            "user": t.user,
            "password": t.password,
            "db": t.database,
            "charset": "utf8mb4",
            "autocommit": True,
            "connect_timeout": CONNECT_TIMEOUT_S,
            "init_command": INIT,
            "client_flag": CLIENT.FOUND_ROWS,
            "cursorclass": BinaryCursor,
        }

    async def acquire(self, pool: aiomysql.Pool) -> aiomysql.Connection:
        try:
            return await asyncio.wait_for(pool.acquire(), deadlines.remaining())
        except asyncio.TimeoutError:
            raise unavailable("no MariaDB connection became free within the call's deadline") from None

    async def run(self, work: Callable[..., Awaitable[Any]], *args: Any) -> Any:
        """`await work(session, *args)` on a pooled connection in autocommit mode."""
        pool = self.pool
        conn = await self.acquire(pool)
        try:
            return await work(Session(conn), *args)
        except BaseException as e:
            if not keeps_connection(e):
                conn.close()
            raise
        finally:
            pool.release(conn)

    async def connect(self, settings: dict[str, str]) -> str:
        await self.close()  # a second Initialize replaces the first one's pool
        target = parse_url(settings["url"])
        self.target = target
        try:
            pool = await asyncio.wait_for(aiomysql.create_pool(minsize=1, maxsize=POOL_MAX, **self.connect_args()), CONNECT_TIMEOUT_S + 1)
        except (pymysql.err.MySQLError, OSError) as e:
            raise unavailable(f"MariaDB at {target.shown} refused the connection: {server_said(e)}") from None
        except asyncio.TimeoutError:
            raise unavailable(f"MariaDB at {target.shown} did not answer within {CONNECT_TIMEOUT_S} s") from None
        self._pool = pool
        try:
            return await self.run(_create_schema, self.schemas)
        except (pymysql.err.MySQLError, OSError, StatusError) as e:
            self._pool = None
            pool.close()
            await pool.wait_closed()
            raise unavailable(f"cannot use MariaDB at {target.shown}: {server_said(e)}") from None

    async def drop_namespace(self, namespace: str) -> None:
        await self.run(_drop, self.schemas, namespace.encode("utf-8", "surrogatepass"))

    async def healthy(self) -> bool:
        """A pooled connection answers (the pool opens new ones for those it lost)."""
        if self._pool is None:
            return False
        try:
            await self.run(lambda s: s.fetchone("SELECT 1"))
        except (pymysql.err.MySQLError, OSError, asyncio.TimeoutError, StatusError):
            return False
        return True

    async def close(self) -> None:
        for close in self.closers:
            await close()
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.close()
            await pool.wait_closed()


def statements(ddl: str) -> list[str]:
    return [s.strip() for s in ddl.split(";") if s.strip()]


async def _create_schema(session: Session, schemas: Sequence[Schema]) -> str:
    row = await session.fetchone("SELECT GET_LOCK(%s, 3)", (SCHEMA_LOCK,))
    if not row or row[0] != 1:
        raise unavailable("another plugin is creating the prism_* tables; Initialize again")
    try:
        for schema in schemas:
            for statement in statements(schema.ddl):
                await session.control(statement)
    finally:
        await session.fetchone("SELECT RELEASE_LOCK(%s)", (SCHEMA_LOCK,))
    row = await session.fetchone("SELECT VERSION(), @@version_comment")
    return server_identity(*(row or ("", "")))


async def _drop(session: Session, schemas: Sequence[Schema], ns: bytes) -> None:
    for schema in schemas:
        if schema.on_drop is not None:
            await schema.on_drop(session, ns)
        for table in schema.tables:
            await session.execute(f"DELETE FROM {table} WHERE namespace = %s", (ns,))
