"""The instance probe: what it probes, and that no password enters a Process or digest."""

from __future__ import annotations

import json
import os
import stat
import time
from concurrent.futures import ThreadPoolExecutor

from pants.backend.python.target_types import PythonTestTarget
from pants.engine.addresses import Address
from pants.engine.env_vars import EnvironmentVars, EnvironmentVarsRequest
from pants.engine.fs import EMPTY_DIGEST, EMPTY_FILE_DIGEST, CreateDigest, Digest, FileContent
from pants.engine.process import Process, ProcessCacheScope, ProcessResult
from pants.engine.unions import UnionMembership
from pants.testutil.rule_runner import MockGet, run_rule_with_mocks

from prism_accept.registry import BackendDeclaration, ContainerSpec, EmbeddedServer, InstanceSpec, PluginLaunch, VariantSpec
from prism_cells import instance_probe
from prism_cells.instance_probe import InstanceStateRequest, plan_probe
from prism_cells.registry_rules import BackendName, RegistryEntry
from prism_cells.target_types import ComplianceBackendField, ComplianceVariantField

REDIS = InstanceSpec(start_hint="start it", url_env="PRISM_REDIS_URL", local="redis://127.0.0.1:6379/0")
SECRET_URL = "redis://:s3cret-pw@127.0.0.1:6390/0"


def test_plan_probe_follows_the_resolution_order() -> None:
    assert plan_probe(REDIS, SECRET_URL, None) == instance_probe.Probe(
        "$PRISM_REDIS_URL redis://***@127.0.0.1:6390/0", "127.0.0.1:6390", None, "redis://127.0.0.1:6390/0"
    )
    assert plan_probe(REDIS, None, None).tcp == "127.0.0.1:6379"
    # an unencoded `/` in the password: a parser reads host "u", port 1234 (part of the password)
    assert plan_probe(REDIS, "redis://u:1234/s3cret@127.0.0.1:6390/0", None) == instance_probe.Probe(
        "$PRISM_REDIS_URL redis://***@127.0.0.1:6390/0", None, None
    )
    assert plan_probe(InstanceSpec(start_hint="x", embedded=True), None, None).tcp is None


def test_the_identity_probe_gets_no_secret() -> None:
    """The server's identity is asked with scheme, host, port and path; a user only from a URL
    that holds no secret (a registry file's own)."""
    assert instance_probe.identity_url("postgresql://u:pw@db:5432/test?password=x") == "postgresql://db:5432/test"
    assert instance_probe.identity_url("nats://tok@127.0.0.1:4222") == "nats://127.0.0.1:4222"
    assert instance_probe.identity_url("amqp://127.0.0.1:5672/") == "amqp://127.0.0.1:5672/"
    assert instance_probe.identity_url("mqtt://127.0.0.1:1883") is None  # no cheap identity
    assert plan_probe(REDIS, None, None).identity == "redis://127.0.0.1:6379/0"


def test_an_embedded_server_is_started_by_the_cell_so_nothing_is_probed() -> None:
    server = EmbeddedServer("noida-db", "noida_db/noida-db", ("--port", "{port}"), "kafka://127.0.0.1:{port}", "{distribution} {version}")
    assert plan_probe(InstanceSpec(start_hint="x", server=server), None, None) == instance_probe.Probe(
        "embedded server noida-db", None, None
    )
    # a local service comes first: it is probed as before
    local = InstanceSpec(start_hint="x", local="kafka://127.0.0.1:9092", server=server)
    assert plan_probe(local, None, None).tcp == "127.0.0.1:9092"


def test_hand_over_writes_a_private_file_only_for_secrets(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(instance_probe, "SECRETS_DIR", tmp_path / "urls")
    path = instance_probe.hand_over("redis", SECRET_URL)
    assert path and open(path).read() == SECRET_URL
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "urls" / ".key").stat().st_mode) == 0o600
    assert "s3cret" not in path and SECRET_URL not in path
    assert instance_probe.hand_over("redis", "redis://127.0.0.1:6390/0") is None
    assert os.path.exists(path), "a session without the URL removed a running session's file"


def test_each_url_has_its_own_file_and_stale_ones_go(tmp_path, monkeypatch) -> None:
    """Two sessions with different URLs (CI's leak check beside a matrix run in another checkout)
    never clobber each other; a file no probe has rewritten for a day is removed."""
    monkeypatch.setattr(instance_probe, "SECRETS_DIR", tmp_path / "urls")
    first = instance_probe.hand_over("redis", SECRET_URL)
    other = instance_probe.hand_over("redis", SECRET_URL.replace("s3cret", "other"))
    assert first and other and first != other and open(first).read() == SECRET_URL
    assert instance_probe.hand_over("redis", SECRET_URL) == first, "the same URL, another file name"
    day_old = time.time() - instance_probe.STALE_SECRET_S - 60
    os.utime(other, (day_old, day_old))
    assert instance_probe.hand_over("redis", None) is None
    assert os.path.exists(first) and not os.path.exists(other)


def test_hand_over_from_many_cells_at_once(tmp_path, monkeypatch) -> None:
    """Every cell's rule hands over in one Pants process at the same time (CI saw a shared temporary
    file renamed away under another cell: FileNotFoundError)."""
    monkeypatch.setattr(instance_probe, "SECRETS_DIR", tmp_path / "urls")
    with ThreadPoolExecutor(8) as pool:
        paths = set(pool.map(lambda _: instance_probe.hand_over("redis", SECRET_URL), range(200)))
    assert len(paths) == 1
    (path,) = paths
    assert path and sorted(p.name for p in (tmp_path / "urls").iterdir()) == [".key", os.path.basename(path)]


def test_no_password_in_the_probe_process_or_the_state_digest(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(instance_probe, "SECRETS_DIR", tmp_path / "urls")
    membership = UnionMembership.from_rules([PythonTestTarget.register_plugin_field(ComplianceBackendField)])
    target = PythonTestTarget(
        {"source": "test_cell.py", "compliance_backend": "redis"},
        Address("tests/compliance", target_name="redis", generated_name="keyvalue_basic"),
        membership,
    )
    decl = BackendDeclaration(
        path="registry/backends/redis.yaml",
        backend="redis",
        description="d",
        plugin=PluginLaunch(module="prism_redis"),
        implements=("keyvalue_basic",),
        instance=REDIS,
    )
    processes: list[Process] = []
    digests: list[CreateDigest] = []

    def run(process: Process) -> ProcessResult:
        processes.append(process)
        return ProcessResult(
            stdout=b'{"tcp": "up"}',
            stdout_digest=EMPTY_FILE_DIGEST,
            stderr=b"",
            stderr_digest=EMPTY_FILE_DIGEST,
            output_digest=EMPTY_DIGEST,
            metadata=None,  # type: ignore[arg-type]
        )

    run_rule_with_mocks(
        instance_probe.instance_state,
        rule_args=[InstanceStateRequest(target)],
        mock_gets=[
            MockGet(RegistryEntry, (BackendName,), lambda _: RegistryEntry(decl.path, "text", decl)),
            MockGet(EnvironmentVars, (EnvironmentVarsRequest,), lambda _: EnvironmentVars({"PRISM_REDIS_URL": SECRET_URL})),
            MockGet(ProcessResult, (Process,), run),
            MockGet(Digest, (CreateDigest,), lambda c: digests.append(c) or EMPTY_DIGEST),
        ],
    )
    assert len(processes) == 1 and processes[0].cache_scope == ProcessCacheScope.PER_SESSION
    assert "s3cret-pw" not in repr(processes[0])
    state_file = digests[0][0]
    assert isinstance(state_file, FileContent)
    state = json.loads(state_file.content)
    assert "s3cret-pw" not in json.dumps(state)
    assert state["url"] == "redis://***@127.0.0.1:6390/0" and state["probe"] == {"tcp": "up"}
    assert open(state["url_file"]).read() == SECRET_URL


def test_a_variants_cell_probes_the_variants_instance_not_its_backends() -> None:
    """A variant's cells run on the server the harness starts (nothing to probe), even though
    their backend's own instance is a local service; their state names the variant."""
    membership = UnionMembership.from_rules(
        [PythonTestTarget.register_plugin_field(ComplianceBackendField), PythonTestTarget.register_plugin_field(ComplianceVariantField)]
    )
    target = PythonTestTarget(
        {"source": "test_cell.py", "compliance_backend": "redis", "compliance_variant": "fork-1"},
        Address("tests/compliance", target_name="redis.fork-1", generated_name="keyvalue_basic"),
        membership,
    )
    server = EmbeddedServer("fork-dist", "fork/bin/server", ("--port", "{port}"), "redis://127.0.0.1:{port}/0", "{distribution}")
    decl = BackendDeclaration(
        path="registry/backends/redis.yaml",
        backend="redis",
        description="d",
        plugin=PluginLaunch(module="prism_redis"),
        implements=("keyvalue_basic",),
        instance=REDIS,
        variants=(VariantSpec("fork-1", "A fork.", InstanceSpec(start_hint="x", server=server)),),
    )
    digests: list[CreateDigest] = []

    def no_process(process: Process) -> ProcessResult:
        raise AssertionError(f"nothing to probe for an embedded server, yet: {process.description}")

    run_rule_with_mocks(
        instance_probe.instance_state,
        rule_args=[InstanceStateRequest(target)],
        mock_gets=[
            MockGet(RegistryEntry, (BackendName,), lambda _: RegistryEntry(decl.path, "text", decl)),
            MockGet(EnvironmentVars, (EnvironmentVarsRequest,), lambda _: EnvironmentVars({})),
            MockGet(ProcessResult, (Process,), no_process),
            MockGet(Digest, (CreateDigest,), lambda c: digests.append(c) or EMPTY_DIGEST),
        ],
    )
    state_file = digests[0][0]
    assert isinstance(state_file, FileContent)
    state = json.loads(state_file.content)
    assert (state["backend"], state["instance"], state["probe"]) == ("redis.fork-1", "embedded server fork-dist", {})


def test_the_container_a_cell_would_start_is_in_its_state() -> None:
    """Image and network mode come from the cell's environment; PRISM_<BACKEND>_INSTANCE=container
    probes the engine and the image only (never the local service)."""
    spec = InstanceSpec(
        start_hint="x",
        local="redis://127.0.0.1:6379/0",
        container=ContainerSpec(image="redis:7.0-alpine", port=6379, url="redis://{host}:{port}/0", host_command=("redis-server",)),
    )
    host = {"PRISM_CONTAINER_NETWORK": "host", "PRISM_REDIS_IMAGE": "local/redis:7.0"}
    chosen = instance_probe.container_choice("redis", spec, {**host, "PRISM_REDIS_INSTANCE": "container"})
    assert chosen == instance_probe.ContainerChoice("local/redis:7.0", "host", True)
    assert plan_probe(spec, None, "unix:///d.sock", chosen) == instance_probe.Probe(
        "container local/redis:7.0 (host network)", None, "unix:///d.sock", image="local/redis:7.0"
    )
    fallback = instance_probe.container_choice("redis", spec, {})
    assert fallback == instance_probe.ContainerChoice("redis:7.0-alpine", "bridge", False)
    probe = plan_probe(spec, None, None, fallback)
    assert (probe.tcp, probe.image) == ("127.0.0.1:6379", "redis:7.0-alpine")
    # an invalid choice is the cell's to refuse, with its message
    assert instance_probe.container_choice("redis", spec, {"PRISM_REDIS_INSTANCE": "yes"}) == instance_probe.ContainerChoice(
        "redis:7.0-alpine", "bridge", False
    )
    assert instance_probe.container_choice("redis", REDIS, host) is None
