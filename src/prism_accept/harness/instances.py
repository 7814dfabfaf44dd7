"""Find a backend instance for a cell, in the order the project promises:

1. an explicit URL in the environment (instance.url_env, e.g. PRISM_REDIS_URL);
2. the local service on its standard port (instance.local);
3. a testcontainers container, when a Docker engine answers (instance.container);
4. the embedded engine, where one is real (instance.embedded).

None of them: InstanceUnavailable, whose message says how to start the backend; the cell is
then a SKIP, never a pass and never a failure.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Callable

from prism_accept.harness import containers
from prism_accept.harness.net import docker_available, reachable
from prism_accept.registry import BackendDeclaration


class InstanceUnavailable(Exception):
    """No instance of the backend can be had here; the message says how to provide one."""


@dataclass
class Instance:
    url: str
    source: str  # how it was found, e.g. "local service", "$PRISM_REDIS_URL"
    stop: Callable[[], None] = field(default=lambda: None)

    @property
    def settings(self) -> dict[str, str]:
        return {"url": self.url}


def resolve(decl: BackendDeclaration, environ: dict[str, str] | None = None) -> Instance:
    environ = os.environ if environ is None else environ
    spec = decl.instance
    if spec.url_env and environ.get(spec.url_env):
        url = environ[spec.url_env]
        if reachable(url):
            return Instance(url, f"${spec.url_env}")
        raise InstanceUnavailable(
            f"{decl.backend}: ${spec.url_env}={url} does not answer; start the backend there, or unset "
            f"{spec.url_env} to use the local service. To start one: {spec.start_hint}"
        )
    if spec.local and reachable(spec.local):
        return Instance(spec.local, "local service")
    if spec.container and docker_available():
        started = containers.start(spec.container)
        return Instance(started.url, f"testcontainers {spec.container.image}", stop=started.stop)
    if spec.embedded:
        return Instance("embedded:", "embedded")
    tried = [f"${spec.url_env} (unset)"] if spec.url_env else []
    if spec.local:
        tried.append(f"{spec.local} (not answering)")
    if spec.container:
        tried.append("testcontainers (no Docker engine)")
    raise InstanceUnavailable(
        f"no {decl.backend} instance: tried {', '.join(tried) or 'nothing'}. To start one: {spec.start_hint}"
    )
