"""The SQLite plugin's database: one file in WAL mode, written through one connection that lives
on a thread of its own (sqlite3 connections are used from one thread), every operation one
transaction run there in one hop, bounded by the gRPC call's deadline: SQLite's progress handler
interrupts a statement once the deadline has passed, and busy_timeout never waits beyond it.

The harness gives an embedded engine a private directory (settings "data_dir", removed with
the cell); the database file is created there on Initialize, with the schema. A `file:` URL
names a database file directly (a SQLite URI), for use outside the harness.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, TypeVar

import grpc

from prism_plugin import deadlines
from prism_plugin.status import StatusError, failed_precondition, invalid, unavailable

T = TypeVar("T")

DATABASE_FILE = "prism.sqlite3"
DEFAULT_DEADLINE_S = 5.0  # a call without a deadline gets this much
MAX_DEADLINE_S = 30.0  # and none gets more
PROGRESS_OPS = 2000  # SQLite VM instructions between two deadline checks
MARGIN_S = 0.05  # give up this long before the deadline, so the answer arrives in time
HOP_SLACK_S = 1.0
OPEN_TIMEOUT_S = 10.0  # opening the file and creating the schema  # an operation past its deadline by this much is abandoned by the caller


@dataclass(frozen=True)
class Schema:
    """One data model's part of the schema: idempotent DDL, and what DropNamespace runs: each
    statement of `drop` takes the namespace (bytes) as its one parameter."""

    ddl: str
    drop: tuple[str, ...]
    functions: Callable[[sqlite3.Connection], None] | None = None  # registers the SQL functions the model uses
    on_drop: Callable[[sqlite3.Connection, bytes], None] | None = None  # before `drop`: what rows cannot say


def utf8(text: str) -> bytes:
    """Names and keys are stored as their UTF-8 bytes (BLOBs compare with memcmp: byte-exact)."""
    return text.encode("utf-8", "surrogatepass")


def text(data: bytes) -> str:
    return bytes(data).decode("utf-8", "surrogatepass")


def deadline_exceeded() -> StatusError:
    return StatusError(grpc.StatusCode.DEADLINE_EXCEEDED, "the call's deadline passed while SQLite worked on it")


def _no_cursor(result: T) -> T:
    """A cursor must not leave the connection's thread: freed on another one (the event loop's),
    it resets its statement there while this thread may be running the same statement again from
    the statement cache, and SQLite answers SQLITE_MISUSE ("bad parameter or other API misuse";
    seen with two BatchSets in flight). Closed here instead, and None handed back."""
    if isinstance(result, sqlite3.Cursor):
        result.close()
        return None  # type: ignore[return-value]
    return result


@dataclass
class Database:
    """A sqlite3 connection and the thread it is used from; `deadline` is the current
    operation's (monotonic), read by the progress handler on that thread."""

    path: str
    uri: bool = False
    read_only: bool = False
    conn: sqlite3.Connection | None = None
    deadline: float = 0.0
    _executor: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(1, thread_name_prefix="sqlite"))

    def _past_deadline(self) -> int:
        return 1 if time.monotonic() >= self.deadline else 0

    def _open(self, prepare: Callable[[sqlite3.Connection], None] | None) -> None:
        self.deadline = time.monotonic() + OPEN_TIMEOUT_S
        conn = sqlite3.connect(self.path, uri=self.uri, isolation_level=None, check_same_thread=False, cached_statements=512)
        conn.set_progress_handler(self._past_deadline, PROGRESS_OPS)
        if prepare is not None:
            prepare(conn)
        self.conn = conn

    async def open(self, prepare: Callable[[sqlite3.Connection], None] | None = None) -> None:
        await asyncio.get_running_loop().run_in_executor(self._executor, self._open, prepare)

    def _job(self, work: Callable[..., T], args: tuple[Any, ...], deadline: float, transaction: str) -> T:
        conn = self.conn
        if conn is None:
            raise failed_precondition("plugin not initialized: call PluginLifecycle.Initialize")
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise deadline_exceeded()  # waited in the queue until the caller gave up
        self.deadline = deadline
        conn.execute(f"PRAGMA busy_timeout = {max(1, int(remaining * 1000))}")
        try:
            if not transaction:
                return _no_cursor(work(conn, *args))
            conn.execute(transaction)
            try:
                result = _no_cursor(work(conn, *args))
                conn.execute("COMMIT")
                return result
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        except sqlite3.OperationalError as e:
            if time.monotonic() >= deadline or "interrupted" in str(e):
                raise deadline_exceeded() from None
            if "locked" in str(e) or "busy" in str(e):
                raise unavailable(f"SQLite database busy: {e}") from None
            raise

    async def run(self, work: Callable[..., T], *args: Any, transaction: str = "BEGIN IMMEDIATE") -> T:
        """`work(conn, *args)` on the connection's thread, in one transaction (`transaction` is
        how it begins; "" runs it outside one), by the current call's deadline."""
        deadline = min(deadlines.deadline(DEFAULT_DEADLINE_S), time.monotonic() + MAX_DEADLINE_S) - MARGIN_S
        future = asyncio.get_running_loop().run_in_executor(self._executor, self._job, work, args, deadline, transaction)
        try:
            return await asyncio.wait_for(future, max(0.0, deadline - time.monotonic()) + HOP_SLACK_S)  # type: ignore[arg-type]
        except asyncio.TimeoutError:
            raise deadline_exceeded() from None

    def _close(self) -> None:
        conn, self.conn = self.conn, None
        if conn is not None:
            conn.close()

    async def close(self) -> None:
        await asyncio.get_running_loop().run_in_executor(self._executor, self._close)
        self._executor.shutdown(wait=False)


def database_path(settings: dict[str, str]) -> tuple[str, bool]:
    """(the database's path or URI, whether it is a URI) from the Initialize settings."""
    url = settings["url"]
    if url == "embedded:":
        data_dir = settings.get("data_dir")
        if not data_dir:
            raise invalid("settings must hold 'data_dir', the directory of the database file (the harness gives one)")
        if not Path(data_dir).is_dir():
            raise invalid(f"settings 'data_dir' {data_dir!r} is not a directory")
        return str(Path(data_dir) / DATABASE_FILE), False
    if url.startswith("file:"):
        return url, True
    raise invalid("url must be 'embedded:' (with settings 'data_dir') or a SQLite 'file:' URI")


class SqliteConnection:
    """The connector: the database file, its schema, DropNamespace, health."""

    def __init__(self, *schemas: Schema) -> None:
        self.schemas = schemas
        self._db: Database | None = None
        self.path = ""
        self.uri = False
        # What holds connections of its own (graph_query's read-only one): closed with this one.
        self.closers: list[Callable[[], Any]] = []
        self.on_connect: list[Callable[[], None]] = []  # run once Initialize has opened the database

    @property
    def db(self) -> Database:
        if self._db is None:
            raise failed_precondition("plugin not initialized: call PluginLifecycle.Initialize")
        return self._db

    async def run(self, work: Callable[..., T], *args: Any, transaction: str = "BEGIN IMMEDIATE") -> T:
        return await self.db.run(work, *args, transaction=transaction)

    async def connect(self, settings: dict[str, str]) -> str:
        await self.close()  # a second Initialize replaces the first one's connection
        path, uri = database_path(settings)
        db = Database(path, uri=uri)
        try:
            await db.open(self._prepare)
        except sqlite3.Error as e:
            await db.close()
            raise unavailable(f"cannot open the SQLite database: {type(e).__name__}: {e}") from None
        self._db, self.path, self.uri = db, path, uri
        for hook in self.on_connect:
            hook()
        return f"sqlite {sqlite3.sqlite_version}"

    def _prepare(self, conn: sqlite3.Connection) -> None:
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if mode != "wal":
            raise sqlite3.OperationalError(f"journal_mode is {mode}, not wal")
        conn.execute("PRAGMA synchronous = NORMAL")  # durable at checkpoints: WAL's documented pairing
        conn.execute("PRAGMA busy_timeout = 5000")
        conn.execute("PRAGMA foreign_keys = ON")  # per connection: graph edges die with their nodes
        for schema in self.schemas:
            if schema.functions is not None:
                schema.functions(conn)
        conn.execute("BEGIN IMMEDIATE")
        for schema in self.schemas:
            for statement in filter(str.strip, schema.ddl.split(";\n")):
                conn.execute(statement)
        conn.execute("COMMIT")

    async def drop_namespace(self, namespace: str) -> None:
        await self.run(_drop, self.schemas, utf8(namespace))

    async def healthy(self) -> bool:
        if self._db is None:
            return False
        try:
            await self.run(lambda conn: conn.execute("SELECT 1").fetchone(), transaction="")
        except (sqlite3.Error, StatusError):
            return False
        return True

    async def close(self) -> None:
        for close in self.closers:
            await close()
        db, self._db = self._db, None
        if db is not None:
            await db.close()


def _drop(conn: sqlite3.Connection, schemas: tuple[Schema, ...], ns: bytes) -> None:
    for schema in schemas:
        if schema.on_drop is not None:
            schema.on_drop(conn, ns)
        for statement in schema.drop:
            conn.execute(statement, (ns,))
