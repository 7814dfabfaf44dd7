"""testcontainers, for a backend with no local service, where a Docker engine answers.

Kept small: on machines without a Docker engine (like the CI here) only the configuration is
exercised, by unit tests (tests/unit/test_instances.py).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

from prism_accept.harness.net import reachable
from prism_accept.registry import ContainerSpec


def container_for(spec: ContainerSpec):
    """The (not yet started) testcontainers container for a registry `instance.container`.
    A testcontainers module (spec.module) configures its container itself: spec.env is for
    the CI service container then, not for it."""
    if spec.module == "kafka":
        from testcontainers.kafka import KafkaContainer

        return KafkaContainer(spec.image).with_kraft()  # advertises the mapped port
    from testcontainers.core.container import DockerContainer

    container = DockerContainer(spec.image).with_exposed_ports(spec.port)
    for name, value in spec.env.items():
        container = container.with_env(name, value)
    if spec.command:
        container = container.with_command(list(spec.command))
    return container


def instance_url(spec: ContainerSpec, host: str, port: int | str) -> str:
    return spec.url.format(host=host, port=port)


def served_port(spec: ContainerSpec, container) -> int:
    """The container port the instance answers on: a module's own, else spec.port."""
    return container.port if spec.module == "kafka" else spec.port


@dataclass
class StartedContainer:
    url: str
    stop: Callable[[], None]


def start(spec: ContainerSpec, ready_timeout_s: float = 60.0) -> StartedContainer:
    container = container_for(spec)
    container.start()
    url = instance_url(spec, container.get_container_host_ip(), container.get_exposed_port(served_port(spec, container)))
    deadline = time.monotonic() + ready_timeout_s
    while not reachable(url):
        if time.monotonic() > deadline:
            container.stop()
            raise TimeoutError(f"container {spec.image} did not open its port within {ready_timeout_s:.0f} s")
        time.sleep(0.1)  # polling a port that is coming up, with a deadline
    return StartedContainer(url=url, stop=container.stop)
