"""Reachability probes and URL redaction. Dependency-free and Python 3.9-compatible: the Pants
plugin (build-support/pants-plugins/prism_cells/instance_probe.py) runs them too."""

from __future__ import annotations

import os
import socket
from urllib.parse import urlsplit

DEFAULT_DOCKER_HOST = "unix:///var/run/docker.sock"
REDACTED = "***"


def host_port(url: str) -> tuple[str, int] | None:
    """The (host, port) a URL names, or None when it names no port."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        return None
    if not parts.hostname or not port:
        return None
    return parts.hostname, port


def has_secret(url: str) -> bool:
    """Whether a URL carries credentials (a password, or a query that may hold one)."""
    parts = urlsplit(url)
    return parts.password is not None or bool(parts.query)


def redact(url: str) -> str:
    """The URL with its password and query replaced by ***: safe for output, reports, cache keys."""
    parts = urlsplit(url)
    if not has_secret(url):
        return url
    netloc = parts.netloc.rpartition("@")[2]
    if parts.password is not None:
        netloc = f"{parts.username or ''}:{REDACTED}@{netloc}"
    elif parts.username:
        netloc = f"{parts.username}@{netloc}"
    query = f"?{REDACTED}" if parts.query else ""
    return f"{parts.scheme}://{netloc}{parts.path}{query}"


def reachable(url: str, timeout_s: float = 0.5) -> bool:
    """Whether something accepts TCP connections at the URL's host and port."""
    address = host_port(url)
    if address is None:
        return False
    try:
        with socket.create_connection(address, timeout=timeout_s):
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
            s.connect(host[len("unix://") :])
            return True
        except OSError:
            return False
        finally:
            s.close()
    if host.startswith("tcp://"):
        return reachable(host, timeout_s)
    return False


class Redacted(dict):
    """A dict whose repr redacts every URL-like value: what a traceback prints of it (pytest
    shows a failing frame's arguments) holds no password."""

    def __repr__(self) -> str:
        return repr({k: redact(v) if isinstance(v, str) and "://" in v else v for k, v in self.items()})

    __str__ = __repr__
