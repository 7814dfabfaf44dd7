"""The container path for real: PRISM_<BACKEND>_INSTANCE=container starts the backend's image
through the harness (instances.resolve -> containers.start) on the Docker engine at
$DOCKER_HOST, and a protocol round trip runs against it; the container is gone after stop.

Here: `eval "$(build-support/bin/docker-engine start)"; build-support/bin/docker-engine images`,
then PRISM_CONTAINER_NETWORK=host, TESTCONTAINERS_RYUK_DISABLED=true and PRISM_<BACKEND>_IMAGE=
local/... (what .ci/run exports). No engine: SKIP, or a failure with CI=true."""

from __future__ import annotations

import asyncio
import os
import uuid
from dataclasses import replace

import pytest

from prism_accept.harness import container_settings, containers, instances, net
from prism_accept.registry import load_all

BACKEND = os.environ.get("PRISM_BACKEND", "")
# What each image's server must say it is (net.server_identity), as the Debian packages give it.
SERVER_SAYS = {"redis": "redis_version=7.0.", "postgres": "server_version=15.", "nats": '"version": "2.9.'}
ROUND_TRIP_TIMEOUT_S = 10


@pytest.fixture(scope="module")
def engine():
    if not net.docker_available():
        why = (
            f"no Docker engine answers on {os.environ.get('DOCKER_HOST') or net.DEFAULT_DOCKER_HOST}: build-support/bin/docker-engine start"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(why)
        pytest.skip(why)
    from testcontainers.core.docker_client import DockerClient

    client = DockerClient().client  # docker-py's client, as testcontainers makes it
    yield client
    client.close()


@pytest.fixture(scope="module")
def decl():
    if not BACKEND:
        pytest.fail("PRISM_BACKEND is unset: run ./pants test tests/containers:<backend>")
    return load_all()[BACKEND]


def ours(client) -> list:
    return client.containers.list(all=True, filters={"label": f"{containers.OWNER_PID_LABEL}={os.getpid()}"})


def round_trip(backend: str, url: str) -> None:
    """Write something through the backend's own client and read it back."""
    token = uuid.uuid4().hex
    if backend == "redis":
        import redis

        client = redis.Redis.from_url(url, socket_timeout=ROUND_TRIP_TIMEOUT_S)
        client.set(f"prism-container-{token}", token, ex=60)
        assert client.get(f"prism-container-{token}") == token.encode()
        client.close()
    elif backend == "postgres":
        import psycopg

        with psycopg.connect(url, connect_timeout=ROUND_TRIP_TIMEOUT_S) as conn:
            conn.execute("SET statement_timeout = '5s'")
            conn.execute("CREATE TEMP TABLE t (v text)")
            conn.execute("INSERT INTO t VALUES (%s)", (token,))
            assert conn.execute("SELECT v FROM t").fetchone() == (token,)
    elif backend == "mqtt":
        asyncio.run(asyncio.wait_for(_mqtt_round_trip(url, token), ROUND_TRIP_TIMEOUT_S))
    elif backend == "nats":
        asyncio.run(asyncio.wait_for(_nats_round_trip(url, token), ROUND_TRIP_TIMEOUT_S))
    else:
        pytest.fail(f"no round trip for {backend}")


async def _mqtt_round_trip(url: str, token: str) -> None:
    import aiomqtt

    host, port = net.host_port(url) or ("", 0)
    async with aiomqtt.Client(host, port, timeout=ROUND_TRIP_TIMEOUT_S) as client:
        await client.subscribe(f"prism/{token}", qos=1)
        await client.publish(f"prism/{token}", token.encode(), qos=1)
        async for message in client.messages:
            assert message.payload == token.encode()
            break


async def _nats_round_trip(url: str, token: str) -> None:
    import nats

    nc = await nats.connect(url, connect_timeout=ROUND_TRIP_TIMEOUT_S, allow_reconnect=False)
    try:
        js = nc.jetstream(timeout=ROUND_TRIP_TIMEOUT_S)  # the server runs with -js
        await js.add_stream(name=f"PRISM_{token}", subjects=[f"prism.{token}"])
        await js.publish(f"prism.{token}", token.encode())
        message = await js.get_last_msg(f"PRISM_{token}", f"prism.{token}")
        assert message.data == token.encode()
    finally:
        await nc.close()


def test_the_container_path_starts_the_image_and_answers_the_protocol(engine, decl):
    env = {**os.environ, container_settings.instance_env(BACKEND): "container"}
    found = instances.resolve(decl, env)
    try:
        image = env.get(container_settings.image_env(BACKEND)) or decl.instance.container.image
        assert found.source.startswith(f"testcontainers {image}") and found.ephemeral
        assert f"(testcontainers {image}" in found.described  # the reports' instance line
        assert len(ours(engine)) == 1
        if container_settings.network_mode(env) == "host":
            address = net.host_port(found.url)
            assert address is not None and address[0] == "127.0.0.1" and address[1] not in containers.RESERVED_PORTS
        if BACKEND in SERVER_SAYS and image.startswith("local/"):
            assert SERVER_SAYS[BACKEND] in (net.server_identity(found.url) or "")
        round_trip(BACKEND, found.url)  # at once: resolve() returned only once the server answered
    finally:
        found.stop()
    assert ours(engine) == []


def test_a_container_whose_server_exits_is_removed(engine, decl):
    """A server command that fails: ContainerStartError with the server's own words, and no
    container left behind."""
    spec = decl.instance.container
    env = dict(os.environ)
    if container_settings.network_mode(env) != "host":
        pytest.skip("the bridge mode starts the image's own command")
    broken = replace(spec, host_command=(*spec.host_command, "--no-such-option-prism"))
    with pytest.raises(containers.ContainerStartError, match="exited"):
        containers.start(broken, BACKEND, env, ready_timeout_s=30)
    assert ours(engine) == []
