"""The fault proxy does to a connection what the chaos cells say it does (partition, delay, reset,
heal), against a local echo server: no backend needed."""

from __future__ import annotations

import os
import socket
import socketserver
import threading
import time

import pytest

from prism_accept.harness.faultproxy import FaultProxy

DEADLINE_S = 5.0
QUIET_S = 0.3  # how long "nothing arrives" is watched


class _Echo(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        server: EchoServer = self.server  # type: ignore[assignment]
        server.accepted += 1
        server.requests.append(self.request)
        try:
            while data := self.request.recv(65536):
                self.request.sendall(data)
            server.endings.append("eof")
        except OSError as e:
            server.endings.append(type(e).__name__)


class EchoServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Echo)
        self.accepted = 0
        self.endings: list[str] = []
        self.requests: list[socket.socket] = []
        threading.Thread(target=self.serve_forever, args=(0.05,), daemon=True).start()

    @property
    def address(self) -> tuple[str, int]:
        host, port = self.server_address[:2]
        return str(host), int(port)


@pytest.fixture
def echo():
    server = EchoServer()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def proxy(echo):
    p = FaultProxy(echo.address).start()
    yield p
    p.stop()


def until(what: str, check, deadline_s: float = DEADLINE_S):
    """Poll `check` until it is truthy; fail naming `what` and the last value otherwise."""
    end = time.monotonic() + deadline_s
    while True:
        got = check()
        if got:
            return got
        if time.monotonic() > end:
            pytest.fail(f"{what}: still {got!r} after {deadline_s}s")
        time.sleep(0.01)


def connect(port: int) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", port), timeout=DEADLINE_S)
    s.settimeout(DEADLINE_S)
    return s


def recv_exactly(s: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = s.recv(n - len(data))
        if not chunk:
            pytest.fail(f"recv: got EOF after {len(data)} bytes, want {n}")
        data += chunk
    return data


def assert_quiet(s: socket.socket) -> None:
    """Nothing arrives on `s` for QUIET_S."""
    s.settimeout(QUIET_S)
    try:
        got = s.recv(65536)
    except TimeoutError:
        return
    finally:
        s.settimeout(DEADLINE_S)
    pytest.fail(f"recv during partition: got {got[:40]!r}, want nothing")


def test_bytes_pass_both_ways_and_half_close_passes(proxy, echo):
    a, b = connect(proxy.port), connect(proxy.port)
    until("connections", lambda: proxy.connections == 2)
    payload = os.urandom(300_000)
    a.sendall(payload)
    assert recv_exactly(a, len(payload)) == payload
    b.sendall(b"ping")
    assert recv_exactly(b, 4) == b"ping"
    a.shutdown(socket.SHUT_WR)  # the echo server sees EOF and closes: so does the client
    assert a.recv(1) == b""
    a.close()
    b.close()
    until("connections after close", lambda: proxy.connections == 0)
    until("echo endings", lambda: echo.endings == ["eof", "eof"])


def test_partition_holds_bytes_both_ways_and_heal_delivers_them(proxy, echo):
    s = connect(proxy.port)
    s.sendall(b"before")
    assert recv_exactly(s, 6) == b"before"
    proxy.partition()
    s.sendall(b"held")
    echo.requests[0].sendall(b"pushed")  # the other way: server to client
    assert_quiet(s)
    proxy.heal()
    # what was held at the proxy comes first; the echo of "held" has a round trip to make
    assert recv_exactly(s, 10) == b"pushedheld"
    s.close()


def test_a_connect_during_partition_is_accepted_and_gets_nothing_until_heal(proxy, echo):
    proxy.partition()
    s = connect(proxy.port)  # accepted, neither refused nor reset
    s.sendall(b"hello")
    assert_quiet(s)
    assert echo.accepted == 0, "the upstream connection was made during the partition"
    assert proxy.connections == 1
    proxy.heal()
    assert recv_exactly(s, 5) == b"hello"
    s.close()


def test_delay_adds_the_delay_to_each_direction(proxy):
    s = connect(proxy.port)
    s.sendall(b"x")
    recv_exactly(s, 1)
    proxy.delay(0.15)
    t0 = time.monotonic()
    s.sendall(b"y")
    assert recv_exactly(s, 1) == b"y"
    rtt = time.monotonic() - t0
    assert 0.3 <= rtt < 0.3 + 2.0, f"round trip with delay 0.15 s each way: got {rtt:.3f}s, want >= 0.3s"
    s.close()


def test_heal_cuts_a_delay_short(proxy):
    s = connect(proxy.port)
    proxy.delay(60)
    s.sendall(b"z")
    until("connections", lambda: proxy.connections == 1)
    proxy.heal()
    assert recv_exactly(s, 1) == b"z"  # within DEADLINE_S, not 60 s
    s.close()


def test_reset_sends_rst_to_both_sides_and_new_connections_pass(proxy, echo):
    s = connect(proxy.port)
    s.sendall(b"x")
    recv_exactly(s, 1)
    proxy.reset()
    with pytest.raises(ConnectionResetError):
        s.recv(1)
    s.close()
    until("echo server's ending", lambda: echo.endings == ["ConnectionResetError"])
    until("connections after reset", lambda: proxy.connections == 0)
    t = connect(proxy.port)
    t.sendall(b"again")
    assert recv_exactly(t, 5) == b"again"
    t.close()


def test_reset_during_partition_clears_it(proxy):
    proxy.partition()
    s = connect(proxy.port)
    until("connections", lambda: proxy.connections == 1)
    proxy.reset()
    with pytest.raises(ConnectionResetError):
        s.recv(1)
    s.close()
    t = connect(proxy.port)
    t.sendall(b"ok")
    assert recv_exactly(t, 2) == b"ok"
    t.close()


def test_a_partition_holds_a_bounded_amount_then_pushes_back(echo):
    proxy = FaultProxy(echo.address, hold_bytes=256 * 1024).start()
    try:
        s = connect(proxy.port)
        proxy.partition()
        s.settimeout(QUIET_S)
        sent, block = 0, b"\0" * (1 << 20)
        with pytest.raises(TimeoutError):
            while sent < 256 << 20:
                sent += s.send(block)
        # kernel buffers on both sides of the proxy plus what it holds; without a bound it would
        # read all 256 MiB
        assert sent < 64 << 20, f"bytes accepted during partition: got {sent}, want a bound"
        s.close()
    finally:
        proxy.stop()


def test_an_upstream_that_refuses_closes_the_client_connection():
    free = socket.socket()
    free.bind(("127.0.0.1", 0))
    port = free.getsockname()[1]
    free.close()  # nothing listens there now
    proxy = FaultProxy(("127.0.0.1", port)).start()
    try:
        try:  # the RST can arrive before connect() returns
            with connect(proxy.port) as s:
                got = s.recv(1)
        except ConnectionResetError:
            got = b""
        assert got == b"", f"recv through a proxy to a refusing upstream: got {got!r}, want EOF or reset"
        until("connections", lambda: proxy.connections == 0)
    finally:
        proxy.stop()


@pytest.mark.parametrize(
    "url, want",
    [
        ("redis://:s3cret@10.0.0.5:6379/2", "redis://:s3cret@127.0.0.1:{port}/2"),
        ("postgresql://u:s3cret@db.local:5432/app?sslmode=disable", "postgresql://u:s3cret@127.0.0.1:{port}/app?sslmode=disable"),
        ("mysql://root:s3cret@localhost:3306/prism", "mysql://root:s3cret@127.0.0.1:{port}/prism"),
        ("nats://tok:s3cret@[::1]:4222", "nats://tok:s3cret@127.0.0.1:{port}"),
        ("amqp://guest:s3cret@rabbit:5672/%2Fvhost", "amqp://guest:s3cret@127.0.0.1:{port}/%2Fvhost"),
        ("mqtt://user:s3cret@127.0.0.1:1883", "mqtt://user:s3cret@127.0.0.1:{port}"),
        ("kafka://127.0.0.1:9092", "kafka://127.0.0.1:{port}"),
    ],
)
def test_url_for_replaces_only_host_and_port(proxy, url, want, capsys):
    assert proxy.url_for(url) == want.format(port=proxy.port)
    out = capsys.readouterr()
    assert "s3cret" not in out.out + out.err


@pytest.mark.parametrize("url", ["kafka://u:s3cret@a:9092,b:9092", "redis://:s3cret@/0", "localhost:6379"])
def test_url_for_refuses_what_it_cannot_proxy_without_showing_the_password(proxy, url):
    with pytest.raises(ValueError) as e:
        proxy.url_for(url)
    assert "s3cret" not in str(e.value)


def _fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts open files through /proc")
def test_stop_leaves_no_thread_or_socket_and_is_idempotent(echo):
    threads, fds = set(threading.enumerate()), _fds()
    proxy = FaultProxy(echo.address).start()
    s = connect(proxy.port)
    s.sendall(b"x")
    recv_exactly(s, 1)
    proxy.partition()
    held = connect(proxy.port)
    until("connections", lambda: proxy.connections == 2)
    proxy.stop()
    proxy.stop()
    assert s.recv(1) == b"" and held.recv(1) == b""
    s.close()
    held.close()
    until("threads after stop", lambda: set(threading.enumerate()) <= threads)
    until("open files after stop", lambda: _fds() <= fds)
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", proxy.port), timeout=DEADLINE_S)
    with pytest.raises(RuntimeError):
        proxy.partition()
