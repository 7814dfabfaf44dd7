"""Private servers (registry `instance.private`): the servers chaos and replicas cells crash and
bring back. Through the real clients: an acknowledged write survives kill + restart on the same
port, a paused server times a request out and a resumed one answers it, stop removes the data,
and the server still dies with its cell after a restart. A missing binary is a skip naming it."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import replace
from pathlib import Path

import pytest
from unit.test_variant_servers import alive, assert_server_dies_with_a_killed_cell, gone_within

from prism_accept.harness import net, servers
from prism_accept.registry import load_all, load_backend

PRIVATE = sorted(name for name, decl in load_all().items() if decl.instance.private_server is not None)


def started(backend: str) -> servers.StartedServer:
    try:
        return servers.start_private(load_backend(backend))
    except servers.ServerUnavailable as e:
        pytest.skip(f"no private {backend} server here: {e}")


def test_the_declared_private_servers():
    """Every backend but RabbitMQ (boots in ~10 s) has one; Kafka's is its embedded noida-db."""
    assert PRIVATE == ["kafka", "mariadb", "mqtt", "nats", "postgres", "redis"]
    kafka = load_backend("kafka").instance
    assert kafka.private is None and kafka.private_server is kafka.server
    assert load_backend("redis").instance.private_server.machine
    with pytest.raises(servers.ServerUnavailable, match=r"rabbitmq.yaml declares no `instance.private`.*fix: declare"):
        servers.start_private(load_backend("rabbitmq"))


def test_a_missing_machine_binary_is_unavailable_naming_its_debian_package():
    spec = replace(load_backend("redis").instance.private, binary="/nonexistent/bin/redis-server")
    with pytest.raises(
        servers.ServerUnavailable, match=r"^/nonexistent/bin/redis-server is not installed: the Debian package redis-server"
    ):
        servers.start(spec)


def test_redis_keeps_an_acknowledged_write_over_kill_and_restart_and_pauses():
    import redis

    server = started("redis")
    try:
        port, data_dir = server.port, server.data_dir
        client = redis.Redis(port=port, socket_timeout=2, socket_connect_timeout=2)
        assert client.set("item-1", "value-1")
        first = server.pid
        server.kill()
        assert not alive(first) and not net.reachable(server.url), "killed: nothing serves the port"
        assert data_dir.is_dir(), "kill keeps the data directory"
        server.restart()
        assert server.port == port and server.pid != first
        client = redis.Redis(port=port, socket_timeout=0.5, socket_connect_timeout=2)
        assert client.get("item-1") == b"value-1", "the acknowledged write survived the kill (AOF, fsync always)"
        server.pause()
        with pytest.raises(redis.TimeoutError):
            client.get("item-1")
        server.resume()
        client = redis.Redis(port=port, socket_timeout=2, socket_connect_timeout=2)
        assert client.get("item-1") == b"value-1"
    finally:
        server.stop()
    assert gone_within(server.pid, 5) and not server.cell_dir.exists(), "stop removes the data directory"


async def _nats_round(url: str) -> None:
    import nats

    nc = await nats.connect(url, connect_timeout=2, allow_reconnect=False)
    try:
        js = nc.jetstream(timeout=2)
        await js.add_stream(name="items", subjects=["items.>"])
        ack = await js.publish("items.1", b"value-1")
        assert ack.seq == 1
    finally:
        await nc.close()


async def _nats_read(url: str, timeout: float) -> bytes:
    import nats

    nc = await nats.connect(url, connect_timeout=2, allow_reconnect=False)
    try:
        msg = await nc.jetstream(timeout=timeout).get_msg("items", 1)
        assert msg.data is not None, "get_msg: got no data, want the message's"
        return msg.data
    finally:
        await nc.close()


def test_nats_keeps_an_acknowledged_jetstream_message_over_kill_and_restart_and_pauses():
    import nats.errors

    server = started("nats")
    try:
        port = server.port
        asyncio.run(_nats_round(server.url))
        server.kill()
        assert not net.reachable(server.url)
        server.restart()
        assert server.port == port
        assert asyncio.run(_nats_read(server.url, 2)) == b"value-1"

        async def paused_request() -> None:
            nc = await nats.connect(server.url, connect_timeout=2, allow_reconnect=False)
            try:
                server.pause()
                with pytest.raises(nats.errors.TimeoutError):
                    await nc.jetstream(timeout=0.5).get_msg("items", 1)
                server.resume()
                assert (await nc.jetstream(timeout=2).get_msg("items", 1)).data == b"value-1"
            finally:
                await nc.close()

        asyncio.run(paused_request())
    finally:
        server.stop()
    assert gone_within(server.pid, 5) and not server.cell_dir.exists()


@pytest.mark.parametrize("backend", PRIVATE)
def test_each_private_server_starts_crashes_and_comes_back_on_its_port(backend):
    """The declared servers as the cells start them: ready by their protocol, killed (the port
    free), restarted on the same port over the same data, gone with their data once stopped."""
    server = started(backend)
    try:
        port, before = server.port, server.identity
        assert net.host_port(server.url) == ("127.0.0.1", port)
        server.kill()
        assert not net.reachable(server.url)
        server.restart()
        assert server.port == port and net.reachable(server.url) and server.identity == before
    finally:
        server.stop()
    assert gone_within(server.pid, 5) and not server.cell_dir.exists()


def test_a_restart_from_a_thread_that_ends_keeps_the_server():
    """The parent-death signal follows the forking thread: a restart from a worker thread that
    then ends must not kill the server (servers fork from one long-lived thread)."""
    server = started("redis")
    try:
        worker = threading.Thread(target=server.restart)
        worker.start()
        worker.join(15)
        assert not worker.is_alive()
        assert alive(server.pid) and net.reachable(server.url)
    finally:
        server.stop()


KILLED_CELL = """
from prism_accept.registry import load_backend
from prism_accept.harness import servers
started = servers.start_private(load_backend("redis"))
started.kill()
started.restart()
print(started.pid, flush=True)
sys.stdin.read()
"""


def test_a_restarted_server_dies_with_a_killed_cell():
    if not Path(load_backend("redis").instance.private.binary).is_file():
        pytest.skip("no /usr/bin/redis-server here (Debian package redis-server)")
    assert_server_dies_with_a_killed_cell(KILLED_CELL)
