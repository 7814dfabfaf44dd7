"""The environment settings of the container path, by name: read by the harness (containers.py,
instances.py) and by the Pants plugin, which passes them to every cell and so into its cache key
(build-support/pants-plugins/prism_cells). Dependency-free and Python 3.9-compatible."""

from __future__ import annotations

import re
from typing import Mapping

DOCKER_HOST_ENV = "DOCKER_HOST"
NETWORK_ENV = "PRISM_CONTAINER_NETWORK"  # bridge (default: mapped ports) or host
NETWORK_MODES = ("bridge", "host")
RYUK_DISABLED_ENV = "TESTCONTAINERS_RYUK_DISABLED"  # testcontainers reads it at import only
INSTANCE_CHOICES = ("container",)


def _backend_env(backend: str, what: str) -> str:
    """PRISM_<BACKEND>_<WHAT>, anything but letters and digits in the name as `_` (redis@valkey -> REDIS_VALKEY)."""
    return f"PRISM_{re.sub(r'[^A-Z0-9]', '_', backend.upper())}_{what}"


def image_env(backend: str) -> str:
    """PRISM_<BACKEND>_IMAGE: the image to start instead of the registry's (e.g. local/redis:7.0)."""
    return _backend_env(backend, "IMAGE")


def instance_env(backend: str) -> str:
    """PRISM_<BACKEND>_INSTANCE=container: the backend's container, never its local service."""
    return _backend_env(backend, "INSTANCE")


def passed_to_cells(backend: str) -> list[str]:
    """The variables a cell of `backend` needs from the caller's environment."""
    return [DOCKER_HOST_ENV, RYUK_DISABLED_ENV, NETWORK_ENV, image_env(backend), instance_env(backend)]


def network_mode(environ: Mapping[str, str]) -> str:
    mode = environ.get(NETWORK_ENV) or "bridge"
    if mode not in NETWORK_MODES:
        raise ValueError(f"${NETWORK_ENV}={mode!r}: use one of {', '.join(NETWORK_MODES)}")
    return mode


def container_chosen(backend: str, environ: Mapping[str, str]) -> bool:
    """Whether PRISM_<BACKEND>_INSTANCE asks for the container (ValueError for another value)."""
    choice = environ.get(instance_env(backend))
    if not choice:
        return False
    if choice not in INSTANCE_CHOICES:
        raise ValueError(f"${instance_env(backend)}={choice!r}: use one of {', '.join(INSTANCE_CHOICES)}, or unset it")
    return True
