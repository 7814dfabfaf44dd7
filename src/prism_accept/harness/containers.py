"""testcontainers: a backend instance in a container, started for one cell and removed with it.

Two network modes (PRISM_CONTAINER_NETWORK):
- `bridge` (default; GitHub's runners): the registry's public image, its port mapped to a free
  host port, found with testcontainers' own host and port lookup;
- `host` (this machine: dockerd with no bridge and no iptables, build-support/bin/docker-engine):
  the container shares the host's network and its server listens on a free loopback port, given
  to `instance.container.host_command` as {port}; the URL is built from 127.0.0.1 and that port
  (testcontainers' port lookup means nothing there, and retries 120 x 1 s under /.dockerenv).

The image is `PRISM_<BACKEND>_IMAGE` when set (e.g. local/redis:7.0, built here), else the
registry's. A container is ready when its server answers its protocol (net.server_identity:
PostgreSQL answers "the database system is starting up" after its port opens; an MQTT CONNACK
for mqtt), not when its port opens. A container whose start or readiness fails is removed.
Ryuk (testcontainers' reaper) needs an image from Docker Hub: where that cannot be pulled, set
TESTCONTAINERS_RYUK_DISABLED=true (testcontainers reads it at import); the harness removes what
it starts itself, and each start removes the containers of cells that died without doing so.
"""

from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from prism_accept.harness.container_settings import NETWORK_ENV, image_env, network_mode
from prism_accept.harness.net import IDENTITY_SCHEMES, host_port, redact, server_identity
from prism_accept.harness.servers import free_port
from prism_accept.registry import ContainerSpec

# Standard ports of the services a machine may run itself: never given to a host-network container.
RESERVED_PORTS = frozenset({6379, 5432, 5672, 1883, 4222, 3306, 9092})
POLL_S = 0.05  # how often a starting container's server is asked, within its deadline
# Labels on every container the harness starts: which process on which host owns it.
OWNER_PID_LABEL = "org.prism-accept.owner-pid"
OWNER_HOST_LABEL = "org.prism-accept.owner-host"


class ContainerStartError(Exception):
    """The container did not start, or its server did not answer in time; it was removed."""


@dataclass(frozen=True)
class ContainerPlan:
    """What to start: the image, the network mode, and in host mode the loopback port."""

    image: str
    network: str
    port: int | None = None  # host mode: the port the server listens on, on 127.0.0.1

    @property
    def described(self) -> str:
        """What reports call the instance (with the URL, instances.Instance.described)."""
        return f"testcontainers {self.image}" + (", host network" if self.network == "host" else "")


def free_loopback_port() -> int:
    """A free port on 127.0.0.1 that no standard service uses."""
    while True:
        port = free_port()
        if port not in RESERVED_PORTS:
            return port


def plan(spec: ContainerSpec, backend: str, environ: Mapping[str, str]) -> ContainerPlan:
    mode = network_mode(environ)
    image = environ.get(image_env(backend)) or spec.image
    if mode == "host":
        if not spec.host_command:
            raise ValueError(
                f"{backend}: ${NETWORK_ENV}=host needs `instance.container.host_command` (the server command, "
                "with {port}) in its registry file"
            )
        return ContainerPlan(image, mode, free_loopback_port())
    return ContainerPlan(image, mode)


def container_for(spec: ContainerSpec, chosen: ContainerPlan | None = None):
    """The (not yet started) testcontainers container. A testcontainers module (spec.module)
    configures its container itself: spec.env is for the CI service container then, not for it."""
    chosen = chosen or ContainerPlan(spec.image, "bridge")
    if chosen.network == "bridge" and spec.module == "kafka":
        from testcontainers.kafka import KafkaContainer

        return KafkaContainer(chosen.image).with_kraft()  # advertises the mapped port
    from testcontainers.core.container import DockerContainer

    container = DockerContainer(chosen.image)
    for name, value in spec.env.items():
        container = container.with_env(name, value)
    labels = {OWNER_PID_LABEL: str(os.getpid()), OWNER_HOST_LABEL: socket.gethostname()}
    if chosen.network == "host":
        assert chosen.port is not None
        argv = [a.format(port=chosen.port) for a in spec.host_command]
        # The whole command, whatever the image's entrypoint; `network` (not network_mode) so
        # that testcontainers does not pick a network of its own.
        return container.with_command(argv[1:]).with_kwargs(entrypoint=[argv[0]], network="host", labels=labels)
    container = container.with_exposed_ports(spec.port).with_kwargs(labels=labels)
    if spec.command:
        container = container.with_command(list(spec.command))
    return container


def instance_url(spec: ContainerSpec, host: str, port: int | str) -> str:
    return spec.url.format(host=host, port=port)


def served_port(spec: ContainerSpec, container) -> int:
    """The container port the instance answers on: a module's own, else spec.port."""
    return container.port if spec.module == "kafka" else spec.port


def _mqtt_accepts(address: tuple[str, int], timeout_s: float) -> bool:
    """An MQTT 3.1.1 CONNECT (clean session, no credentials) answered by CONNACK 'accepted'."""
    client_id = b"prism-ready"
    variable = b"\x00\x04MQTT\x04\x02\x00\x05"  # protocol name and level, clean session, keep-alive 5 s
    payload = len(client_id).to_bytes(2, "big") + client_id
    packet = b"\x10" + bytes([len(variable) + len(payload)]) + variable + payload
    try:
        with socket.create_connection(address, timeout=timeout_s) as sock:
            sock.settimeout(timeout_s)
            sock.sendall(packet)
            answer = sock.recv(4)
            sock.sendall(b"\xe0\x00")  # DISCONNECT
            return answer == b"\x20\x02\x00\x00"
    except OSError:
        return False


def answers_protocol(url: str, timeout_s: float = 0.5) -> bool:
    """Whether the server at `url` answers its protocol as a ready server does: what it says it
    is (net.server_identity) rather than an error, or for MQTT a CONNACK; a scheme with no such
    probe counts as ready once its port accepts connections."""
    scheme = url.split("://", 1)[0].lower()
    address = host_port(url)
    if address is None:
        return False
    if scheme in IDENTITY_SCHEMES:
        identity = server_identity(url, timeout_s) or ""
        return bool(identity) and not any(word in identity for word in ("error", "protocol:", "no answer", "cut short"))
    if scheme == "mqtt":
        return _mqtt_accepts(address, timeout_s)
    try:
        with socket.create_connection(address, timeout=timeout_s):
            return True
    except OSError:
        return False


@dataclass
class StartedContainer:
    url: str
    stop: Callable[[], None]
    described: str


def _remover(container) -> Callable[[], None]:
    def stop() -> None:
        if getattr(container, "_container", None) is not None:
            container.stop()  # removes it (force), with its anonymous volumes

    return stop


def sweep_orphans(client: Any) -> list[str]:
    """Remove the containers that cells of this host started and did not remove (killed), each
    known by its owner's pid label; returns their short ids."""
    removed = []
    host = socket.gethostname()
    for found in client.containers.list(all=True, filters={"label": f"{OWNER_HOST_LABEL}={host}"}):
        owner = found.labels.get(OWNER_PID_LABEL, "")
        if owner.isdigit() and not os.path.exists(f"/proc/{owner}"):
            found.remove(force=True)
            removed.append(found.short_id)
    return removed


def _log_tail(container) -> str:
    try:
        return container.get_wrapped_container().logs(tail=20).decode(errors="replace").strip()
    except Exception:  # noqa: BLE001 (the logs only explain a failure already being reported)
        return ""


def start(
    spec: ContainerSpec, backend: str = "", environ: Mapping[str, str] | None = None, ready_timeout_s: float = 60.0
) -> StartedContainer:
    """Start the container and return once its server answers its protocol; on any failure
    the container is removed and ContainerStartError says why (with the end of its log)."""
    env = os.environ if environ is None else environ
    try:
        chosen = plan(spec, backend, env)
    except ValueError as e:
        raise ContainerStartError(str(e)) from None
    container = container_for(spec, chosen)
    stop = _remover(container)
    try:
        sweep_orphans(container.get_docker_client().client)
        container.start()
        if chosen.network == "host":
            assert chosen.port is not None
            url = instance_url(spec, "127.0.0.1", chosen.port)
        else:
            url = instance_url(spec, container.get_container_host_ip(), container.get_exposed_port(served_port(spec, container)))
        deadline = time.monotonic() + ready_timeout_s
        while not answers_protocol(url):
            state = container.get_wrapped_container()
            state.reload()
            if state.status in ("exited", "dead"):
                raise ContainerStartError(
                    f"container {chosen.image} exited ({state.attrs['State'].get('ExitCode')}): {_log_tail(container)}"
                )
            if time.monotonic() > deadline:
                raise ContainerStartError(
                    f"container {chosen.image}: {redact(url)} did not answer within {ready_timeout_s:.0f} s: {_log_tail(container)}"
                )
            time.sleep(POLL_S)  # polling a server that is coming up, with a deadline
    except BaseException as e:
        stop()
        if isinstance(e, ContainerStartError):
            raise
        if isinstance(e, Exception):
            raise ContainerStartError(f"container {chosen.image} did not start: {e}") from e
        raise
    return StartedContainer(url=url, stop=stop, described=chosen.described)
