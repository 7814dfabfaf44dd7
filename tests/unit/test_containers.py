"""The container path without a Docker engine: settings, host-network plan, protocol readiness,
and that a container whose start fails is removed (testcontainers' container stubbed).
tests/containers starts the real images."""

from __future__ import annotations

import socket
import struct
import threading
from dataclasses import replace

import pytest

from prism_accept.harness import container_settings, containers, instances
from prism_accept.registry import ContainerSpec, load_all

HOST = {"PRISM_CONTAINER_NETWORK": "host"}


@pytest.fixture
def decls():
    return load_all()


@pytest.fixture(autouse=True)
def no_docker_client(monkeypatch):
    import testcontainers.core.container as tc

    monkeypatch.setattr(tc, "DockerClient", lambda **kw: object())


def test_settings_by_backend():
    assert container_settings.image_env("redis") == "PRISM_REDIS_IMAGE"
    assert container_settings.instance_env("my-store") == "PRISM_MY_STORE_INSTANCE"
    assert container_settings.image_env("redis@valkey-8.1") == "PRISM_REDIS_VALKEY_8_1_IMAGE"
    assert container_settings.passed_to_cells("nats") == [
        "DOCKER_HOST",
        "TESTCONTAINERS_RYUK_DISABLED",
        "PRISM_CONTAINER_NETWORK",
        "PRISM_NATS_IMAGE",
        "PRISM_NATS_INSTANCE",
    ]
    assert container_settings.network_mode({}) == "bridge"
    with pytest.raises(ValueError, match="PRISM_CONTAINER_NETWORK='overlay': use one of bridge, host"):
        container_settings.network_mode({"PRISM_CONTAINER_NETWORK": "overlay"})
    with pytest.raises(ValueError, match="PRISM_REDIS_INSTANCE='docker': use one of container"):
        container_settings.container_chosen("redis", {"PRISM_REDIS_INSTANCE": "docker"})


@pytest.mark.parametrize("backend", ["redis", "postgres", "mqtt", "nats"])
def test_host_mode_runs_the_registry_command_on_a_free_loopback_port(decls, backend):
    spec = decls[backend].instance.container
    assert spec is not None and spec.host_command
    env = {**HOST, container_settings.image_env(backend): f"local/{backend}:test"}
    chosen = containers.plan(spec, backend, env)
    assert chosen.image == f"local/{backend}:test" and chosen.network == "host"
    assert chosen.port not in containers.RESERVED_PORTS and chosen.port is not None
    container = containers.container_for(spec, chosen)
    argv = [container._kwargs["entrypoint"][0], *container._command]
    assert argv == [a.format(port=chosen.port) for a in spec.host_command] and str(chosen.port) in argv
    assert container._kwargs["network"] == "host" and not container.ports  # nothing mapped
    assert containers.OWNER_PID_LABEL in container._kwargs["labels"]
    assert chosen.described == f"testcontainers local/{backend}:test, host network"


def test_bridge_mode_keeps_the_registry_image_and_mapped_port(decls):
    spec = decls["redis"].instance.container
    chosen = containers.plan(spec, "redis", {})
    assert (chosen.image, chosen.network, chosen.port) == ("redis:7.0-alpine", "bridge", None)
    container = containers.container_for(spec, chosen)
    assert 6379 in container.ports and "network" not in container._kwargs
    assert chosen.described == "testcontainers redis:7.0-alpine"


def test_host_mode_without_a_host_command_is_refused(decls):
    spec = replace(decls["redis"].instance.container, host_command=())
    with pytest.raises(containers.ContainerStartError, match="needs `instance.container.host_command`"):
        containers.start(spec, "redis", HOST)


def test_the_free_port_is_never_a_standard_one(monkeypatch):
    ports = iter([6379, 5432, 40001])
    monkeypatch.setattr(containers, "free_port", lambda: next(ports))
    assert containers.free_loopback_port() == 40001


class FakeContainer:
    """testcontainers' container as far as start() uses it; `status` is what the engine says."""

    def __init__(self, status="running", fail_start=False):
        self.status, self.fail_start = status, fail_start
        self._container = None
        self.removed = False

    def get_docker_client(self):
        return type("Client", (), {"client": type("C", (), {"containers": type("L", (), {"list": lambda *a, **k: []})()})()})()

    def start(self):
        self._container = self  # created: from here on it exists on the engine
        if self.fail_start:
            raise RuntimeError("port already in use")
        return self

    def get_wrapped_container(self):
        return self

    def reload(self):
        pass

    attrs = {"State": {"ExitCode": 1}}

    def logs(self, tail):
        return b"FATAL: could not create lock file"

    def stop(self):
        self.removed = True
        self._container = None


@pytest.mark.parametrize(
    "fake, why",
    [
        (FakeContainer(fail_start=True), "did not start: port already in use"),
        (FakeContainer(status="exited"), r"exited \(1\): FATAL: could not create lock file"),
        (FakeContainer(), r"did not answer within 0 s"),
    ],
)
def test_a_container_whose_start_fails_is_removed(decls, monkeypatch, fake, why):
    monkeypatch.setattr(containers, "container_for", lambda spec, chosen: fake)
    monkeypatch.setattr(containers, "answers_protocol", lambda url: False)
    with pytest.raises(containers.ContainerStartError, match=why):
        containers.start(decls["redis"].instance.container, "redis", HOST, ready_timeout_s=0.0)
    assert fake.removed


def serve_once(answer: bytes):
    """A one-connection TCP server that reads a request and sends `answer`; its port."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()

    def run():
        conn, _ = server.accept()
        with conn:
            conn.recv(1024)
            conn.sendall(answer)
        server.close()

    threading.Thread(target=run, daemon=True).start()
    return server.getsockname()[1]


def pg_message(kind: bytes, payload: bytes) -> bytes:
    return kind + struct.pack(">I", 4 + len(payload)) + payload


def test_readiness_is_the_protocol_answer_not_the_open_port():
    starting = pg_message(b"E", b"SFATAL\0C57P03\0Mthe database system is starting up\0\0")
    port = serve_once(starting)
    assert containers.answers_protocol(f"postgresql://postgres@127.0.0.1:{port}/test") is False
    ready = pg_message(b"R", b"\0\0\0\0") + pg_message(b"S", b"server_version\x0015.18\0") + pg_message(b"Z", b"I")
    port = serve_once(ready)
    assert containers.answers_protocol(f"postgresql://postgres@127.0.0.1:{port}/test") is True
    port = serve_once(b"-LOADING Redis is loading the dataset in memory\r\n")
    assert containers.answers_protocol(f"redis://127.0.0.1:{port}/0") is False


def test_mqtt_readiness_is_a_connack():
    assert containers.answers_protocol(f"mqtt://127.0.0.1:{serve_once(bytes([0x20, 2, 0, 0]))}") is True
    assert containers.answers_protocol(f"mqtt://127.0.0.1:{serve_once(bytes([0x20, 2, 0, 5]))}") is False  # not authorized
    assert containers.answers_protocol(f"mqtt://127.0.0.1:{serve_once(b'')}") is False


def test_instance_container_skips_the_local_service(decls, monkeypatch):
    """PRISM_<BACKEND>_INSTANCE=container: the container even when the local service answers
    (a listening socket stands in for it), and an error, not a SKIP, without an engine."""
    local = socket.socket()
    local.bind(("127.0.0.1", 0))
    local.listen()
    decl = replace(decls["redis"], instance=replace(decls["redis"].instance, local=f"redis://127.0.0.1:{local.getsockname()[1]}/0"))
    started = []
    monkeypatch.setattr(instances, "docker_available", lambda: True)
    monkeypatch.setattr(
        containers,
        "start",
        lambda spec, backend, env: started.append(env) or containers.StartedContainer("redis://127.0.0.1:40001/0", lambda: None, "tc"),
    )
    env = {"PRISM_REDIS_INSTANCE": "container", **HOST}
    found = instances.resolve(decl, env)
    assert (found.url, found.source, found.ephemeral) == ("redis://127.0.0.1:40001/0", "tc", True) and started == [env]
    assert instances.resolve(decl, {}).source == "local service"
    monkeypatch.setattr(instances, "docker_available", lambda: False)
    with pytest.raises(instances.ExplicitInstanceDown, match="PRISM_REDIS_INSTANCE=container, but no Docker engine answers"):
        instances.resolve(decl, env)
    with pytest.raises(instances.InstanceSetupError, match="PRISM_REDIS_INSTANCE='yes'"):
        instances.resolve(decl, {"PRISM_REDIS_INSTANCE": "yes"})
    with pytest.raises(instances.InstanceSetupError, match="declares no `instance.container`"):
        instances.resolve(decls["memstore"], {"PRISM_MEMSTORE_INSTANCE": "container"})
    local.close()


def test_host_command_needs_a_port_placeholder():
    from prism_accept.registry import RegistryError, parse_declaration

    text = open("registry/backends/redis.yaml").read().replace('"{port}", --save', "6390, --save", 1)
    with pytest.raises(RegistryError, match="host_command"):
        parse_declaration(text, "redis.yaml", [i for i in load_all()["redis"].implements])


def test_registry_containers_are_public_images_for_githubs_runners(decls):
    """The registry keeps the images GitHub's runners pull; local/ images come from the environment."""
    for backend in ("redis", "postgres", "mqtt", "nats"):
        spec: ContainerSpec = decls[backend].instance.container
        assert not spec.image.startswith("local/"), backend
