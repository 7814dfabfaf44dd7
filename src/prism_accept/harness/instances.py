"""Find a backend instance for a cell, in the order the project promises:

1. an explicit URL in the environment (instance.url_env, e.g. PRISM_REDIS_URL);
2. the local service on its standard port (instance.local);
3. a testcontainers container, when a Docker engine answers (instance.container; containers.py:
   network mode, image override);
4. the embedded engine, where one is real (instance.embedded: true, an engine inside the
   plugin, given a private directory for its files: settings "data_dir", created for the cell
   and removed with it), or an embedded server (instance.embedded as a mapping: a server binary from an
   installed Python distribution, started here for the cell and stopped with it; servers.py).
   A pytest process that runs several cells of a column keeps what it started for the next
   ones (prism_accept.runtime.instance_pool).

A server variant of the backend (registry `variants:`) is resolved the same way from its own
`instance:` (the cells get the variant's declaration, registry.BackendDeclaration.variant).
`PRISM_<BACKEND>_INSTANCE=container` skips 1 and 2: the container or an error of the run (no
Docker engine, no `instance.container`), never another instance.

None of them: InstanceUnavailable, whose message says how to start the backend; the cell is
then a SKIP, never a pass and never a failure.

Under Pants, a cell's environment is not the caller's: the explicit URL reaches the cell through
a state file the prism_cells plugin puts in the sandbox (cell_environ). A URL with a password
stays out of that file (and so out of every cache key): the file names a 0600 file outside the
repository that holds it. URLs are shown redacted everywhere (net.redact: user info, query
values and fragment as ***), and an explicit URL that a client would read differently from
what is shown (an unencoded `/ ? # @` in its password) is refused before anything connects.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping

from prism_accept.harness import container_settings, containers, servers
from prism_accept.harness.net import Redacted, docker_available, reachable, redact, refusal
from prism_accept.paths import CELL_STATE_FILE
from prism_accept.registry import BackendDeclaration

EMBEDDED_URL = "embedded:"  # the URL of an engine inside the plugin


class InstanceUnavailable(Exception):
    """No instance of the backend can be had here; the message says how to provide one."""


class ExplicitInstanceDown(Exception):
    """The instance the caller named explicitly ($PRISM_<BACKEND>_URL) does not answer: an
    error of the run, never a SKIP (falling back to another instance would mislead)."""


class InstanceURLRefused(Exception):
    """The explicit URL ($PRISM_<BACKEND>_URL) is ambiguous (net.refusal): an error of the run,
    never a SKIP; the message shows it redacted and says how to write it."""


class InstanceSetupError(Exception):
    """The cell's instance state from Pants is unusable (e.g. its URL file is gone)."""


def cell_environ(environ: Mapping[str, str] | None = None, state_file: Path = Path(CELL_STATE_FILE)) -> dict[str, str]:
    """The environment to resolve a cell's instance from: the process environment, plus the
    explicit URL (instance.url_env) the caller of Pants had set, as the Pants plugin recorded it."""
    env = Redacted(os.environ if environ is None else environ)
    if not state_file.is_file():
        return env  # not run by Pants: the process environment is the caller's
    state = json.loads(state_file.read_text())
    url_env, shown = state.get("url_env"), state.get("url")
    if not url_env or not shown:
        return env
    url = shown
    if state.get("url_file"):
        try:
            url = Path(state["url_file"]).read_text().strip()
        except OSError as e:
            raise InstanceSetupError(
                f"${url_env} ({shown}) was handed over in {state['url_file']}, which cannot be read "
                f"({e.strerror}); rerun with `--force`, or `--no-pantsd` once"
            ) from None
    if redact(url) != shown:
        raise InstanceSetupError(f"${url_env} changed while the cell was set up ({redact(url)} now, {shown} probed); rerun")
    env[url_env] = url
    return env


@dataclass
class Instance:
    url: str = field(repr=False)  # may hold a password: `shown` is what output gets
    source: str  # how it was found, e.g. "local service", "$PRISM_REDIS_URL"
    stop: Callable[[], None] = field(default=lambda: None)
    label: str | None = None  # what reports call an instance the harness started (servers.py)
    ephemeral: bool = False  # started for this cell and gone with it (its data too)
    identity: str = ""  # what a server the harness started says it is (net.server_identity)
    data_dir: str | None = None  # an embedded engine's private directory (settings "data_dir")
    # The pid of the server the harness started, a child of this process (None: no such server).
    server_pid: Callable[[], int | None] = field(default=lambda: None, repr=False)

    def answers(self) -> bool:
        """Whether it still serves: an embedded engine's directory is there, a server accepts
        connections."""
        if self.url == EMBEDDED_URL:
            return self.data_dir is not None and os.path.isdir(self.data_dir)
        return reachable(self.url)

    @property
    def shown(self) -> str:
        """The URL without its password, for output and reports."""
        return redact(self.url)

    @property
    def described(self) -> str:
        """What reports call the instance: its label, or its URL and how it was found."""
        if self.label:
            return self.label
        return self.source if self.source == "embedded" else f"{self.shown} ({self.source})"

    @property
    def settings(self) -> dict[str, str]:
        if self.data_dir:
            return Redacted(url=self.url, data_dir=self.data_dir)
        return Redacted(url=self.url)

    def __repr__(self) -> str:
        return f"Instance({self.shown!r}, source={self.source!r})"


def _container(decl: BackendDeclaration, env: Mapping[str, str]) -> Instance:
    assert decl.instance.container is not None
    started = containers.start(decl.instance.container, decl.backend, env)  # ContainerStartError: an error of the run
    return Instance(started.url, started.described, stop=started.stop, ephemeral=True)


def resolve(decl: BackendDeclaration, environ: Mapping[str, str] | None = None) -> Instance:
    env: Mapping[str, str] = os.environ if environ is None else environ
    spec = decl.instance
    try:
        container_chosen = container_settings.container_chosen(decl.backend, env)
    except ValueError as e:
        raise InstanceSetupError(str(e)) from None
    if container_chosen:
        if spec.container is None:
            raise InstanceSetupError(
                f"${container_settings.instance_env(decl.backend)}=container: {decl.path} declares no `instance.container`"
            )
        if not docker_available():
            raise ExplicitInstanceDown(
                f"{decl.backend}: ${container_settings.instance_env(decl.backend)}=container, but no Docker engine answers on $DOCKER_HOST "
                f"({env.get('DOCKER_HOST') or 'unset: the default socket'}); start one (build-support/bin/docker-engine start)"
            )
        return _container(decl, env)
    if spec.url_env and env.get(spec.url_env):
        url = env[spec.url_env]
        why = refusal(url)
        if why is not None:
            raise InstanceURLRefused(f"{decl.backend}: ${spec.url_env}={why}")
        if reachable(url):
            return Instance(url, f"${spec.url_env}")
        raise ExplicitInstanceDown(
            f"{decl.backend}: ${spec.url_env}={redact(url)} does not answer; start the backend there, or unset "
            f"{spec.url_env} to use the local service. To start one: {spec.start_hint}"
        )
    if spec.local and reachable(spec.local):
        return Instance(spec.local, "local service")
    if spec.container and _container_runs_here(spec.container, env) and docker_available():
        return _container(decl, env)
    if spec.embedded:
        return embedded(decl.backend)
    if spec.server:
        try:
            server = servers.start(spec.server, str(decl.column))
        except servers.ServerUnavailable as e:
            raise InstanceUnavailable(f"no {decl.column} instance: {e}. To start one: {spec.start_hint}") from None
        source = f"embedded server {spec.server.distribution}"
        return Instance(
            server.url,
            source,
            stop=server.stop,
            label=server.label,
            ephemeral=True,
            identity=server.identity,
            server_pid=lambda: server.pid,
        )
    tried = [f"${spec.url_env} (unset)"] if spec.url_env else []
    if spec.local:
        tried.append(f"{spec.local} (not answering)")
    if spec.container:
        tried.append(
            "testcontainers (no Docker engine)"
            if _container_runs_here(spec.container, env)
            else "testcontainers (no host_command for host networking)"
        )
    raise InstanceUnavailable(f"no {decl.column} instance: tried {', '.join(tried) or 'nothing'}. To start one: {spec.start_hint}")


def _container_runs_here(container, env: Mapping[str, str]) -> bool:
    """With host networking (an engine with no bridge) a container runs only by its server command
    (`host_command`): without one (Kafka's KRaft image) the container path is not available and
    the next source (an embedded server) is tried, as without an engine."""
    try:
        return container_settings.network_mode(env) != "host" or bool(container.host_command)
    except ValueError:
        return True  # an invalid mode: the container path refuses it, with its message


def embedded(backend: str) -> Instance:
    """An engine inside the plugin: the directory it may keep files in (a database file) is
    made here and removed with the cell, so its data is gone with it; directories of cells that
    were killed before removing theirs are removed first (servers.sweep_dirs)."""
    prefix = f"prism-embedded-{backend}-"
    servers.sweep_dirs(prefix)
    data_dir = tempfile.mkdtemp(prefix=f"{prefix}{os.getpid()}-")
    return Instance(EMBEDDED_URL, "embedded", stop=lambda: shutil.rmtree(data_dir, ignore_errors=True), ephemeral=True, data_dir=data_dir)
