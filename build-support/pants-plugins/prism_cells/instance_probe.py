"""Whether a cell's backend instance answers, as part of the cell's cache key, without secrets.

A compliance cell's result depends on its instance, which Pants cannot see. For every cell, a
`PytestPluginSetupRequest` runs a probe Process with `ProcessCacheScope.PER_SESSION` (so it runs
again in every Pants run, pantsd or not, `./pants` or plain `pants`) and puts its answer into the
cell's sandbox as `.prism-instance.json`; a change of state changes the cell's inputs, so a PASS
cached while Redis was up is not reused once Redis is down, and comes back when it is up again.
Where the protocol tells it before a login (Redis INFO server, the NATS INFO line, AMQP's
Connection.Start, PostgreSQL's parameter statuses, the MySQL handshake: net.server_identity), what the server says it
is (product, version) is in the state too, so upgrading the server behind the same port reruns
its cells. A backend with `instance.container` also has the image and network mode its cell
would start (PRISM_<BACKEND>_IMAGE, PRISM_CONTAINER_NETWORK) and the image's id on the engine in
the state; with PRISM_<BACKEND>_INSTANCE=container only the engine and the image are probed.

Secrets: the probe gets only host and port, and none of an ambiguous URL (net.refusal: its
parser's host may be part of a password; the cell refuses it). The state file holds the explicit
URL (instance.url_env) redacted (net.redact: user info, query values, fragment); when the URL
has any of them, the real one is written to a 0600 file outside the repository and the state
names that file, so no secret enters a Process, a digest or a cache key. The cell reads it
(prism_accept.harness.instances.cell_environ).
"""

from __future__ import annotations

import hashlib
import hmac
import inspect
import json
import os
import secrets
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping
from urllib.parse import urlsplit

from pants.backend.python.goals.pytest_runner import PytestPluginSetup, PytestPluginSetupRequest
from pants.engine.env_vars import EnvironmentVars, EnvironmentVarsRequest
from pants.engine.fs import CreateDigest, Digest, FileContent
from pants.engine.process import Process, ProcessCacheScope, ProcessResult
from pants.engine.rules import Get, collect_rules, rule
from pants.engine.target import Target
from pants.engine.unions import UnionRule

from prism_accept.harness import container_settings, net
from prism_accept.paths import CELL_STATE_FILE
from prism_accept.registry import InstanceSpec
from prism_cells.registry_rules import BackendName, RegistryEntry
from prism_cells.target_types import ComplianceBackendField, ComplianceVariantField

# Where a password-bearing URL is handed to the cell: private to the user, outside the repo.
SECRETS_DIR = Path("~/.cache/prism-accept/instance-urls").expanduser()
PROBE_TIMEOUT_S = 0.5

# The probe runs net.py's own functions (dependency-free) with the Pants interpreter.
PROBE_SCRIPT = (
    inspect.getsource(net)
    + """
import json, sys
request = json.loads(sys.argv[1])
out = {}
if request.get("tcp"):
    out["tcp"] = "up" if reachable("tcp://" + request["tcp"], request["timeout_s"]) else "down"
if request.get("docker"):
    out["docker"] = "up" if docker_available(request["timeout_s"]) else "down"
if request.get("image") and out.get("docker") == "up":
    out["image_id"] = docker_image_id(request["image"], request["timeout_s"])
if request.get("identity") and out.get("tcp") == "up":
    out["server"] = server_identity(request["identity"], request["timeout_s"])
print(json.dumps(out, sort_keys=True))
"""
)


@dataclass(frozen=True)
class InstanceStateRequest(PytestPluginSetupRequest):
    @classmethod
    def is_applicable(cls, target: Target) -> bool:
        return bool(target.get(ComplianceBackendField).value)


@dataclass(frozen=True)
class Probe:
    """What to probe: non-secret by construction (host:port, the Docker host)."""

    description: str
    tcp: str | None  # "host:port"
    docker_host: str | None
    identity: str | None = None  # scheme://[user@]host:port/path: what net.server_identity asks, no secret
    image: str | None = None  # the container image whose id is asked of the engine


@dataclass(frozen=True)
class ContainerChoice:
    """How the cell would start its container (containers.plan): part of its cache key."""

    image: str
    network: str
    chosen: bool  # PRISM_<BACKEND>_INSTANCE=container: the container, never the local service


def container_choice(backend: str, spec: InstanceSpec, env: Mapping[str, str]) -> ContainerChoice | None:
    """The image and network mode from the cell's environment; None without `instance.container`.
    An invalid setting is left for the cell to refuse (with its message)."""
    if spec.container is None:
        return None
    image = env.get(container_settings.image_env(backend)) or spec.container.image
    try:
        network = container_settings.network_mode(env)
    except ValueError:
        network = env[container_settings.NETWORK_ENV]
    try:
        chosen = container_settings.container_chosen(backend, env)
    except ValueError:
        chosen = False
    return ContainerChoice(image, network, chosen)


STALE_SECRET_S = 24 * 3600  # a handed-over URL no probe has written again for a day is removed


def _machine_key() -> bytes:
    """A random key private to this user (0600, created once): the name of a URL's file is a
    keyed hash of the URL, so the name (which the state file, so the cache key, holds) tells
    nothing about the secret without this key, which nothing else reads."""
    path = SECRETS_DIR / ".key"
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    SECRETS_DIR.mkdir(parents=True, exist_ok=True, mode=0o700)
    # Written whole to a temporary file, then linked into place: a concurrent reader sees the
    # whole key or none, and the first link wins (every rule of a run hands over at once).
    fd, tmp = tempfile.mkstemp(dir=SECRETS_DIR, prefix=".key.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(secrets.token_bytes(32))
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
    finally:
        os.unlink(tmp)
    return path.read_bytes()


def secret_file(backend: str, url: str) -> Path:
    """One file per backend and URL: sessions with different URLs (two checkouts, a leak check
    beside a matrix run) never overwrite or remove each other's."""
    tag = hmac.new(_machine_key(), url.encode(), hashlib.sha256).hexdigest()[:24]
    return SECRETS_DIR / f"{backend}-{tag}.url"


def _remove_stale(backend: str, keep: Path | None) -> None:
    """Remove the backend's handed-over URLs that no probe has written for a day (a session's
    probe rewrites its file, so a running session's file is never stale)."""
    now = time.time()
    for old in SECRETS_DIR.glob(f"{backend}-*.url") if SECRETS_DIR.is_dir() else ():
        try:
            if old != keep and now - old.stat().st_mtime > STALE_SECRET_S:
                old.unlink()
        except FileNotFoundError:
            pass


def hand_over(backend: str, url: str | None) -> str | None:
    """Write a URL with a secret (net.has_secret) to its own 0600 file; its path (None: no secret)."""
    if url is None or not net.has_secret(url):
        _remove_stale(backend, None)
        return None
    path = secret_file(backend, url)
    # Every cell's rule hands over concurrently in one process: each writes its own temporary file
    # (mkstemp: unique name, mode 0600) and renames it into place atomically.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f"{backend}.", suffix=".tmp")
    with os.fdopen(fd, "w") as f:
        f.write(url)
    os.replace(tmp, path)
    _remove_stale(backend, path)
    return str(path)


def identity_url(url: str) -> str | None:
    """The URL the identity probe may be given: scheme, host, port and path, and the user only
    when the URL holds no secret (a registry file's local URL); None for a URL it cannot use."""
    address = net.host_port(url)
    scheme = url.split("://", 1)[0].lower()
    if address is None or scheme not in net.IDENTITY_SCHEMES:
        return None
    parts = urlsplit(url)
    user = f"{parts.username}@" if parts.username and not net.has_secret(url) else ""
    host = f"[{address[0]}]" if ":" in address[0] else address[0]
    return f"{scheme}://{user}{host}:{address[1]}{parts.path}"


def plan_probe(spec: InstanceSpec, url: str | None, docker_host: str | None, container: ContainerChoice | None = None) -> Probe:
    """Which instance the cell will use, as resolve() orders them (pure; tested without Pants)."""
    image = container.image if container else None
    if container and container.chosen:
        return Probe(
            f"container {container.image} ({container.network} network)", None, docker_host or net.DEFAULT_DOCKER_HOST, image=image
        )
    if url is not None:
        address = net.host_port(url)
        tcp = f"{address[0]}:{address[1]}" if address else None
        return Probe(f"${spec.url_env} {net.redact(url)}", tcp, None, identity_url(url))
    if spec.local or spec.container:
        address = net.host_port(spec.local) if spec.local else None
        tcp = f"{address[0]}:{address[1]}" if address else None
        docker = (docker_host or net.DEFAULT_DOCKER_HOST) if spec.container else None
        shown = f"local {spec.local}" if spec.local else "container"
        return Probe(shown, tcp, docker, identity_url(spec.local) if spec.local else None, image if spec.container else None)
    if spec.server:  # started by the cell itself, on a free port: nothing to probe
        return Probe(f"embedded server {spec.server.distribution}", None, None)
    return Probe("embedded" if spec.embedded else "none", None, None)


@rule
async def instance_state(request: InstanceStateRequest) -> PytestPluginSetup:
    backend = request.target[ComplianceBackendField].value
    assert backend is not None
    entry = await Get(RegistryEntry, BackendName(backend))
    declaration = entry.declaration.variant(request.target.get(ComplianceVariantField).value or "")
    spec = declaration.instance
    base = backend  # container settings are named after the backend (PRISM_REDIS_IMAGE), variants too
    backend = str(declaration.column)  # a variant's state and secret file are its own (redis.valkey-8.1)
    names = [*([spec.url_env] if spec.url_env else []), *container_settings.passed_to_cells(base)]
    env = await Get(EnvironmentVars, EnvironmentVarsRequest(names))
    url = env.get(spec.url_env) if spec.url_env else None
    url = url or None
    container = container_choice(base, spec, env)
    probe = plan_probe(spec, url, env.get(container_settings.DOCKER_HOST_ENV), container)
    answer: dict[str, str] = {}
    if probe.tcp or probe.docker_host:
        result = await Get(
            ProcessResult,
            Process(
                argv=(
                    sys.executable,
                    "-c",
                    PROBE_SCRIPT,
                    json.dumps(
                        {
                            "tcp": probe.tcp,
                            "docker": bool(probe.docker_host),
                            "identity": probe.identity,
                            "image": probe.image,
                            "timeout_s": PROBE_TIMEOUT_S,
                        }
                    ),
                ),
                env={"DOCKER_HOST": probe.docker_host} if probe.docker_host else {},
                description=f"Probe the {backend} instance ({probe.description})",
                cache_scope=ProcessCacheScope.PER_SESSION,
                timeout_seconds=10,
            ),
        )
        answer = json.loads(result.stdout)
    state = {
        "backend": backend,
        "instance": probe.description,
        "probe": answer,
        "container": {"image": container.image, "network": container.network} if container else None,
        "url_env": spec.url_env if url else None,
        "url": net.redact(url) if url else None,
        "url_file": hand_over(backend, url),
    }
    digest = await Get(
        Digest,
        CreateDigest([FileContent(CELL_STATE_FILE, (json.dumps(state, sort_keys=True) + "\n").encode())]),
    )
    return PytestPluginSetup(digest)


def rules():
    return [*collect_rules(), UnionRule(PytestPluginSetupRequest, InstanceStateRequest)]
