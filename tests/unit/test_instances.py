"""Instance resolution order and the testcontainers configuration (no Docker engine here)."""

from __future__ import annotations

import json
import os
import socket
import sys
from dataclasses import replace
from importlib import metadata
from pathlib import Path

import pytest

from prism_accept.harness import containers, instances, net, servers
from prism_accept.registry import ContainerSpec, load_all


@pytest.fixture
def redis_decl():
    return load_all()["redis"]


@pytest.fixture
def listening():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen()
    yield f"redis://127.0.0.1:{s.getsockname()[1]}/0"
    s.close()


@pytest.fixture
def closed_url():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return f"redis://127.0.0.1:{port}/0"


def with_local(decl, url):
    return type(decl)(**{**decl.__dict__, "instance": type(decl.instance)(**{**decl.instance.__dict__, "local": url})})


def test_an_explicit_url_comes_first(redis_decl, listening):
    found = instances.resolve(redis_decl, {"PRISM_REDIS_URL": listening})
    assert (found.url, found.source) == (listening, "$PRISM_REDIS_URL")


def test_an_explicit_url_that_does_not_answer_is_an_error_not_a_skip(redis_decl, closed_url):
    with pytest.raises(instances.ExplicitInstanceDown, match=r"\$PRISM_REDIS_URL=.* does not answer(.|\n)*redis-server"):
        instances.resolve(redis_decl, {"PRISM_REDIS_URL": closed_url})


def test_the_local_service_comes_next(redis_decl, listening):
    found = instances.resolve(with_local(redis_decl, listening), {})
    assert (found.url, found.source) == (listening, "local service")


def test_testcontainers_when_docker_answers(redis_decl, closed_url, monkeypatch):
    monkeypatch.setattr(instances, "docker_available", lambda: True)
    started = []
    monkeypatch.setattr(
        containers,
        "start",
        lambda spec, backend, env: started.append((spec, backend))
        or containers.StartedContainer("redis://h:1/0", lambda: None, containers.ContainerPlan(spec.image, "bridge").described),
    )
    found = instances.resolve(with_local(redis_decl, closed_url), {})
    assert found.source == "testcontainers redis:7.0-alpine" and started == [(redis_decl.instance.container, "redis")]


def test_nothing_available_says_how_to_start_it(redis_decl, closed_url, monkeypatch):
    monkeypatch.setattr(instances, "docker_available", lambda: False)
    with pytest.raises(instances.InstanceUnavailable) as e:
        instances.resolve(with_local(redis_decl, closed_url), {})
    message = str(e.value)
    assert "no redis instance" in message and "testcontainers (no Docker engine)" in message
    assert "redis-server --daemonize yes" in message and "PRISM_REDIS_URL" in message


def test_embedded_engines_need_nothing_but_a_directory_removed_with_the_cell():
    found = instances.resolve(load_all()["memstore"], {})
    assert (found.url, found.source, found.ephemeral) == ("embedded:", "embedded", True)
    data_dir = Path(found.settings["data_dir"])
    assert data_dir.is_dir() and not any(data_dir.iterdir())
    found.stop()
    assert not data_dir.exists()


def test_embedded_directories_of_killed_cells_are_swept(tmp_path, monkeypatch):
    monkeypatch.setattr(instances.tempfile, "tempdir", str(tmp_path))
    dead = tmp_path / "prism-embedded-memstore-999999999-x"
    dead.mkdir()
    found = instances.resolve(load_all()["memstore"], {})
    assert not dead.exists() and Path(found.settings["data_dir"]).parent == tmp_path
    found.stop()


def test_container_configuration(monkeypatch):
    """The container testcontainers would start, built without an engine (its client stubbed)."""
    import testcontainers.core.container as tc

    monkeypatch.setattr(tc, "DockerClient", lambda **kw: object())
    spec = ContainerSpec(image="redis:7.0-alpine", port=6379, url="redis://{host}:{port}/0", env={"A": "1"})
    container = containers.container_for(spec)
    assert container.image == "redis:7.0-alpine"
    assert 6379 in container.ports
    assert container.env == {"A": "1"}
    assert containers.instance_url(spec, "10.0.0.5", "32768") == "redis://10.0.0.5:32768/0"


def test_container_command(monkeypatch):
    """nats.yaml's container replaces the image's command (JetStream on)."""
    import testcontainers.core.container as tc

    monkeypatch.setattr(tc, "DockerClient", lambda **kw: object())
    spec = load_all()["nats"].instance.container
    assert spec is not None and spec.command == ("-js",)
    assert containers.container_for(spec)._command == ["-js"]


def test_docker_probe_without_an_engine(monkeypatch, tmp_path):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no.sock")
    assert net.docker_available() is False
    monkeypatch.setenv("DOCKER_HOST", "tcp://127.0.0.1:1")
    assert net.docker_available() is False


def test_redact_hides_passwords_and_queries():
    assert net.redact("redis://:s3cret@127.0.0.1:6390/0") == "redis://***@127.0.0.1:6390/0"
    assert net.redact("postgresql://user:pw@db:5432/x?sslpassword=q") == "postgresql://***@db:5432/x?sslpassword=***"
    assert net.redact("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"
    assert net.host_port("redis://:s3cret@127.0.0.1:6390/0") == ("127.0.0.1", 6390)


def write_state(tmp_path, **state):
    path = tmp_path / ".prism-instance.json"
    path.write_text(json.dumps(state))
    return path


def test_cell_environ_reads_the_url_pants_handed_over(tmp_path):
    url_file = tmp_path / "redis.url"
    url_file.write_text("redis://:s3cret@127.0.0.1:6390/0")
    state = write_state(tmp_path, url_env="PRISM_REDIS_URL", url="redis://***@127.0.0.1:6390/0", url_file=str(url_file))
    env = instances.cell_environ({"PATH": "/bin"}, state)
    assert env == {"PATH": "/bin", "PRISM_REDIS_URL": "redis://:s3cret@127.0.0.1:6390/0"}


def test_cell_environ_takes_a_url_without_password_from_the_state(tmp_path):
    state = write_state(tmp_path, url_env="PRISM_REDIS_URL", url="redis://127.0.0.1:6390/0", url_file=None)
    assert instances.cell_environ({}, state) == {"PRISM_REDIS_URL": "redis://127.0.0.1:6390/0"}


def test_cell_environ_without_pants_is_the_process_environment(tmp_path):
    assert instances.cell_environ({"PRISM_REDIS_URL": "redis://h:1/0"}, tmp_path / "absent.json") == {"PRISM_REDIS_URL": "redis://h:1/0"}


def test_cell_environ_refuses_a_missing_or_changed_url_file(tmp_path):
    gone = write_state(tmp_path, url_env="PRISM_REDIS_URL", url="redis://***@h:1/0", url_file=str(tmp_path / "gone"))
    with pytest.raises(instances.InstanceSetupError, match="cannot be read"):
        instances.cell_environ({}, gone)
    other = tmp_path / "other.url"
    other.write_text("redis://:pw@elsewhere:2/0")
    changed = write_state(tmp_path, url_env="PRISM_REDIS_URL", url="redis://***@h:1/0", url_file=str(other))
    with pytest.raises(instances.InstanceSetupError, match="changed") as e:
        instances.cell_environ({}, changed)
    assert "pw@" not in str(e.value)


def test_an_unanswering_url_is_shown_without_its_password(redis_decl, closed_url):
    secret_url = closed_url.replace("redis://", "redis://:s3cret@")
    with pytest.raises(instances.ExplicitInstanceDown) as e:
        instances.resolve(redis_decl, {"PRISM_REDIS_URL": secret_url})
    assert "s3cret" not in str(e.value) and "redis://***@" in str(e.value)


def test_what_a_traceback_prints_of_an_instance_holds_no_password():
    """pytest prints a failing frame's arguments: the instance, its settings, the environment."""
    found = instances.Instance("redis://:s3cret@127.0.0.1:6390/0", "$PRISM_REDIS_URL")
    env = instances.cell_environ({"PRISM_REDIS_URL": "redis://:s3cret@h:1/0", "HOME": "/root"}, state_file=Path("/nonexistent"))
    for shown in (repr(found), repr(found.settings), str(found.settings), repr(env)):
        assert "s3cret" not in shown and "***" in shown, shown
    assert found.settings["url"] == "redis://:s3cret@127.0.0.1:6390/0" and env["PRISM_REDIS_URL"].endswith("@h:1/0")


# Embedded servers (instance.embedded as a mapping): kafka.yaml's noida-db broker.

FAKE_SERVER = """#!{python}
import os, signal, socket, sys
port = int(sys.argv[sys.argv.index("--port") + 1])
s = socket.socket()
s.bind(("127.0.0.1", port))
s.listen()
open(os.path.join(sys.argv[sys.argv.index("--data-dir") + 1], "started"), "w").write("started")  # made for it
signal.pause()  # serves until the harness stops it
"""


@pytest.fixture
def kafka_decl():
    return load_all()["kafka"]


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return not Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] == "Z"


def fake_server(tmp_path, script: str = FAKE_SERVER) -> Path:
    binary = tmp_path / "fake-server"
    binary.write_text(script.format(python=sys.executable))
    binary.chmod(0o755)
    return binary


def test_kafka_declares_the_noida_broker_as_its_embedded_server(kafka_decl):
    server = kafka_decl.instance.server
    assert server is not None and kafka_decl.instance.embedded is False
    assert (server.distribution, server.binary) == ("noida-db", "noida_db/noida-db")
    assert "{port}" in server.args and "{data_dir}" in server.args and server.url == "kafka://127.0.0.1:{port}"


def test_an_embedded_server_is_started_labelled_and_stopped(kafka_decl, tmp_path, monkeypatch):
    """The order's last resort: the binary started on a free port, its label from the
    distribution's version, stopped (by pid, data directory removed) by Instance.stop."""
    spec = replace(kafka_decl.instance.server, args=("--port", "{port}", "--data-dir", "{data_dir}"))
    monkeypatch.setattr(servers, "installed", lambda s: (fake_server(tmp_path), "9.8.7"))
    decl = replace(kafka_decl, instance=replace(kafka_decl.instance, local=None, container=None, server=spec))
    found = instances.resolve(decl, {})
    try:
        assert found.label == "noida-db 9.8.7, a Kafka-protocol broker, not Apache Kafka (started by the harness)"
        assert found.described == found.label and found.source == "embedded server noida-db"
        assert found.url.startswith("kafka://127.0.0.1:") and net.reachable(found.url)
        assert found.ephemeral  # its cell removes its namespace journal (compliance/cell.py)
    finally:
        found.stop()
    assert not net.reachable(found.url)


def test_an_embedded_server_that_exits_is_an_error_saying_why(kafka_decl, tmp_path, monkeypatch):
    binary = fake_server(tmp_path, "#!{python}\nimport sys\nprint('no such option')\nsys.exit(3)\n")
    monkeypatch.setattr(servers, "installed", lambda s: (binary, "9.8.7"))
    with pytest.raises(servers.ServerStartError, match="exited with status 3.*no such option"):
        servers.start(kafka_decl.instance.server)


def test_a_missing_distribution_is_a_skip_with_the_start_hint(kafka_decl, monkeypatch):
    spec = replace(kafka_decl.instance.server, distribution="no-such-distribution-here")
    decl = replace(kafka_decl, instance=replace(kafka_decl.instance, local=None, container=None, server=spec))
    monkeypatch.setattr(instances, "docker_available", lambda: False)
    with pytest.raises(instances.InstanceUnavailable, match="no-such-distribution-here is not installed.*PRISM_KAFKA_URL"):
        instances.resolve(decl, {})


def test_the_noida_broker_runs_for_a_cell_and_dies_with_it(kafka_decl):
    """The real binary from the installed distribution: its version from the metadata, its
    process gone (not only the port closed) once stopped."""
    started = servers.start(kafka_decl.instance.server)
    try:
        assert started.label.startswith(f"noida-db {metadata.version('noida-db')}, a Kafka-protocol broker, not Apache Kafka")
        assert net.reachable(started.url) and pid_alive(started.pid)
        assert Path(f"/proc/{started.pid}/exe").resolve().name == "noida-db"  # the binary, not a wrapper
    finally:
        started.stop()
    assert not pid_alive(started.pid) and not net.reachable(started.url)


def test_kafka_container_uses_the_testcontainers_kafka_module(kafka_decl, monkeypatch):
    """kafka.yaml's container: testcontainers' KafkaContainer in KRaft mode, which advertises
    the mapped port itself; the YAML's env (the CI service's listeners) is not applied to it."""
    import testcontainers.core.container as tc
    from testcontainers.kafka import KafkaContainer

    monkeypatch.setattr(tc, "DockerClient", lambda **kw: object())
    spec = kafka_decl.instance.container
    assert spec.module == "kafka" and spec.image.startswith("confluentinc/cp-kafka:")
    container = containers.container_for(spec)
    assert isinstance(container, KafkaContainer) and container.kraft_enabled and container.image == spec.image
    assert container.env.get("KAFKA_ADVERTISED_LISTENERS") is None  # set by the module at start, to the mapped port
    assert containers.served_port(spec, container) == container.port == 9093
    assert containers.instance_url(spec, "10.0.0.5", "32768") == "kafka://10.0.0.5:32768"
    assert spec.env["KAFKA_ADVERTISED_LISTENERS"] == "PLAINTEXT://localhost:9092"  # the CI service's


def test_data_directories_of_dead_cells_are_swept(kafka_decl, tmp_path):
    spec = kafka_decl.instance.server
    dead = subprocess_pid_that_exited()
    (tmp_path / f"prism-noida-db-{dead}-abc").mkdir()
    (tmp_path / f"prism-noida-db-{os.getpid()}-def").mkdir()
    assert servers.sweep_data_dirs(spec, tmp_path) == [tmp_path / f"prism-noida-db-{dead}-abc"]
    assert [p.name for p in tmp_path.iterdir()] == [f"prism-noida-db-{os.getpid()}-def"]


def subprocess_pid_that_exited() -> int:
    import subprocess

    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_host_networking_without_a_server_command_falls_through_to_the_embedded_server(kafka_decl, monkeypatch):
    """Kafka's container has no host_command: with a Docker engine of host networking only, its
    cells take the next source (the embedded Kafka-protocol broker), as without an engine."""
    monkeypatch.setattr(instances, "docker_available", lambda: True)
    monkeypatch.setattr(containers, "start", lambda *a: pytest.fail("no container can run without host_command"))
    started = []

    class Server:
        url, label, identity = "kafka://127.0.0.1:1", "noida-db", ""

        def stop(self):
            pass

    monkeypatch.setattr(servers, "start", lambda spec, column: started.append(spec.distribution) or Server())
    found = instances.resolve(kafka_decl, {"PRISM_CONTAINER_NETWORK": "host"})
    assert started == ["noida-db"] and found.source == "embedded server noida-db", found
