"""Reachability probes. Dependency-free and Python 3.9-compatible: the ./pants bootstrap uses
them too (build-support/bootstrap/instance_states.py)."""

import os
import socket
from urllib.parse import urlsplit

DEFAULT_DOCKER_HOST = "unix:///var/run/docker.sock"


def reachable(url: str, timeout_s: float = 0.5) -> bool:
    """Whether something accepts TCP connections at the URL's host and port."""
    parts = urlsplit(url)
    if not parts.hostname or not parts.port:
        return False
    try:
        with socket.create_connection((parts.hostname, parts.port), timeout=timeout_s):
            return True
    except OSError:
        return False


def docker_available(timeout_s: float = 0.5) -> bool:
    """Whether a Docker engine answers on $DOCKER_HOST (default: the local socket)."""
    host = os.environ.get("DOCKER_HOST", DEFAULT_DOCKER_HOST)
    if host.startswith("unix://"):
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(timeout_s)
        try:
            s.connect(host[len("unix://"):])
            return True
        except OSError:
            return False
        finally:
            s.close()
    if host.startswith("tcp://"):
        return reachable(host, timeout_s)
    return False
