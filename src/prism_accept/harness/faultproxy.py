"""A TCP proxy between one plugin and its backend server, so that a chaos cell's faults (partition,
delay, reset) act on that plugin's connections only, never on the server or its other clients.

It runs its own asyncio loop in a daemon thread: the harness drives it from synchronous test code,
and an idle proxy waits in the selector (no polling), so it costs nothing between faults. Every
public method is thread-safe and returns once the new mode is in force on every open connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import socket
import struct
import threading
from urllib.parse import urlsplit

from prism_accept.harness.net import redact, refusal

CHUNK = 64 * 1024
# Bytes held per direction per connection (partition, delay) before the proxy stops reading that
# side: the peer's kernel buffers then fill and it blocks, as it would on a slow network, instead
# of the proxy holding unbounded memory.
HOLD_BYTES = 4 * 1024 * 1024
CONNECT_TIMEOUT_S = 5.0
CALL_TIMEOUT_S = 5.0
_EOF = b""


def _rst(writer: asyncio.StreamWriter | None) -> None:
    """Close with RST instead of FIN: SO_LINGER(1, 0) makes close() drop the connection, which is
    what a peer sees when a middlebox or a crashed host forgets it."""
    if writer is None or writer.transport.is_closing():
        return
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


class _Conn:
    """One client connection and its upstream one; a queue per direction holds what arrived
    (with its arrival time) until the mode lets it pass."""

    def __init__(self, client: asyncio.StreamWriter):
        self.client = client
        self.upstream: asyncio.StreamWriter | None = None
        self.tasks: set[asyncio.Task] = set()

    def writers(self) -> list[asyncio.StreamWriter]:
        return [w for w in (self.client, self.upstream) if w is not None]


class FaultProxy:
    """Listens on 127.0.0.1:<free port> and forwards each connection to `upstream`."""

    def __init__(self, upstream: tuple[str, int], hold_bytes: int = HOLD_BYTES):
        self.upstream = upstream
        self.port = 0
        self._hold_chunks = max(1, hold_bytes // CHUNK)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.Server | None = None
        self._conns: set[_Conn] = set()
        self._passing = True  # False while partitioned
        self._delay = 0.0
        self._changed: asyncio.Event | None = None  # set (and replaced) at each change of mode

    def __repr__(self) -> str:
        return f"FaultProxy(127.0.0.1:{self.port} -> {self.upstream[0]}:{self.upstream[1]})"

    # --- control (any thread)

    def start(self) -> FaultProxy:
        if self._loop is not None:
            raise RuntimeError(f"{self!r}: start() called twice")
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name=f"faultproxy-{self.upstream[1]}", daemon=True)
        self._thread.start()
        self._call(self._listen())
        return self

    def url_for(self, url: str) -> str:
        """`url` with its host:port replaced by the proxy's; scheme, user info, path and query
        kept. Errors show the URL redacted."""
        why = refusal(url)
        if why is not None:
            raise ValueError(f"FaultProxy.url_for: {why}")
        m = re.match(r"[A-Za-z][A-Za-z0-9+.-]*://", url)
        try:
            netloc = urlsplit(url).netloc
        except ValueError as e:
            raise ValueError(f"FaultProxy.url_for: {redact(url)} does not parse: {e}") from None
        if not m or not url[m.end() :].startswith(netloc):
            raise ValueError(f"FaultProxy.url_for: {redact(url)}: want scheme://[userinfo@]host:port[/path][?query]")
        userinfo, at, hosts = netloc.rpartition("@")
        if not hosts or "," in hosts:
            raise ValueError(
                f"FaultProxy.url_for: {redact(url)} names {'several hosts' if hosts else 'no host'}; want one (the proxy has one upstream)"
            )
        return f"{m[0]}{userinfo}{at}127.0.0.1:{self.port}{url[m.end() + len(netloc):]}"

    def partition(self) -> None:
        """Bytes stop flowing both ways; new connections are accepted and held silently (no
        refusal, no reset), as dropped packets are retransmitted until the network heals."""
        self._call(self._set(passing=False))

    def delay(self, seconds: float) -> None:
        """Every chunk is forwarded `seconds` after it arrived (both directions)."""
        if seconds < 0:
            raise ValueError(f"FaultProxy.delay: got {seconds}, want >= 0")
        self._call(self._set(passing=True, delay=seconds))

    def heal(self) -> None:
        """Back to passing without delay; what a partition held is delivered now."""
        self._call(self._set(passing=True, delay=0.0))

    def reset(self) -> None:
        """Every open connection is closed with RST on both sides; the mode is back to passing
        so that new connections (the client's reconnect) go through."""
        self._call(self._reset())

    def stop(self) -> None:
        """Close the listener and every connection, end the loop and its thread. Idempotent."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None or not thread.is_alive():
            return
        with contextlib.suppress(RuntimeError):
            self._call(self._shutdown())
        loop.call_soon_threadsafe(loop.stop)
        thread.join(CALL_TIMEOUT_S)
        if not loop.is_running():
            loop.close()

    @property
    def connections(self) -> int:
        """Open client connections."""
        return len(self._conns)

    def _call(self, coro) -> None:
        """Run `coro` on the proxy's loop and wait for it: the caller returns once it is in force."""
        if self._loop is None or not self._loop.is_running():
            coro.close()
            raise RuntimeError(f"{self!r} is not running (start() it; stop() is final)")
        asyncio.run_coroutine_threadsafe(coro, self._loop).result(CALL_TIMEOUT_S)

    # --- the loop's side

    async def _listen(self) -> None:
        self._changed = asyncio.Event()
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0, limit=CHUNK)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _set(self, passing: bool, delay: float | None = None) -> None:
        # A sender checks the mode before each chunk it writes, on this same loop: once this
        # returns, no chunk passes against the new mode. Waiters wake to re-read it (a heal cuts
        # a delay short).
        assert self._changed is not None
        self._passing = passing
        if delay is not None:
            self._delay = delay
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    async def _until_passing(self, arrived: float) -> None:
        """Return once the mode lets a chunk that arrived at `arrived` pass."""
        loop = asyncio.get_running_loop()
        while True:
            changed = self._changed
            assert changed is not None
            wait = None
            if self._passing:
                wait = arrived + self._delay - loop.time()
                if wait <= 0:
                    return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), wait)

    async def _reset(self) -> None:
        conns = list(self._conns)
        for conn in conns:
            for w in conn.writers():
                _rst(w)
        await self._closed(conns)
        await self._set(passing=True, delay=0.0)

    async def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
        conns = list(self._conns)
        for conn in conns:
            for w in conn.writers():
                w.transport.abort()
        await self._closed(conns)
        if self._server is not None:
            await self._server.wait_closed()

    async def _closed(self, conns: list[_Conn]) -> None:
        """Wait until the sockets of `conns` are closed and their tasks ended."""
        tasks = [t for c in conns for t in c.tasks]
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, *(w.wait_closed() for c in conns for w in c.writers()), return_exceptions=True)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # Served in a task of its own: the server's task for this callback logs an error when it
        # is cancelled, and reset()/stop() cancel what serves a connection.
        conn = _Conn(writer)
        self._conns.add(conn)
        conn.tasks.add(asyncio.create_task(self._serve(conn, reader, writer)))

    async def _serve(self, conn: _Conn, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        to_upstream: asyncio.Queue = asyncio.Queue(self._hold_chunks)
        try:
            # The client's bytes are read (and held) at once; the upstream connection is made only
            # when passing: during a partition its SYN would not arrive either.
            reading = asyncio.create_task(self._read(reader, to_upstream))
            conn.tasks.add(reading)
            passing = asyncio.create_task(self._until_passing(float("-inf")))
            conn.tasks.add(passing)
            await asyncio.wait([passing, reading], return_when=asyncio.FIRST_COMPLETED)
            if reading.done() and reading.exception() is not None:
                return  # the client went away (reset) while held
            await passing
            try:
                up_reader, upstream = await asyncio.wait_for(asyncio.open_connection(*self.upstream, limit=CHUNK), CONNECT_TIMEOUT_S)
            except (OSError, asyncio.TimeoutError):
                # The nearest a proxy that already accepted gets to the refusal the client would
                # have had without it.
                _rst(writer)
                return
            conn.upstream = upstream
            to_client: asyncio.Queue = asyncio.Queue(self._hold_chunks)
            pumps = [
                reading,
                asyncio.create_task(self._send(to_upstream, upstream)),
                asyncio.create_task(self._read(up_reader, to_client)),
                asyncio.create_task(self._send(to_client, writer)),
            ]
            conn.tasks.update(pumps)
            done, _ = await asyncio.wait(pumps, return_when=asyncio.FIRST_EXCEPTION)
            if any(not t.cancelled() and t.exception() is not None for t in done):
                # One side failed (reset, broken pipe): the other side learns it the same way.
                for w in conn.writers():
                    _rst(w)
        finally:
            for t in conn.tasks:
                if t is not asyncio.current_task():
                    t.cancel()
            for w in conn.writers():
                w.transport.close()
            self._conns.discard(conn)

    async def _read(self, reader: asyncio.StreamReader, queue: asyncio.Queue) -> None:
        """Move what arrives into `queue` with its arrival time; a full queue stops reading."""
        loop = asyncio.get_running_loop()
        while True:
            data = await reader.read(CHUNK)
            await queue.put((loop.time(), data))
            if data == _EOF:
                return

    async def _send(self, queue: asyncio.Queue, writer: asyncio.StreamWriter) -> None:
        """Write each chunk once the mode lets it pass and its delay has run; EOF passes as EOF
        (half-close), in order with the bytes."""
        while True:
            arrived, data = await queue.get()
            await self._until_passing(arrived)
            if data == _EOF:
                if writer.can_write_eof():
                    writer.write_eof()
                return
            writer.write(data)
            await writer.drain()
