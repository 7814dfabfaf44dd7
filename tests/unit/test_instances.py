"""Instance resolution order and the testcontainers configuration (no Docker engine here)."""

from __future__ import annotations

import socket

import pytest

from prism_accept.harness import containers, instances, net
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


def test_an_explicit_url_that_does_not_answer_is_unavailable_not_ignored(redis_decl, closed_url):
    with pytest.raises(instances.InstanceUnavailable, match=r"\$PRISM_REDIS_URL=.* does not answer(.|\n)*redis-server"):
        instances.resolve(redis_decl, {"PRISM_REDIS_URL": closed_url})


def test_the_local_service_comes_next(redis_decl, listening):
    found = instances.resolve(with_local(redis_decl, listening), {})
    assert (found.url, found.source) == (listening, "local service")


def test_testcontainers_when_docker_answers(redis_decl, closed_url, monkeypatch):
    monkeypatch.setattr(instances, "docker_available", lambda: True)
    started = []
    monkeypatch.setattr(containers, "start", lambda spec: started.append(spec) or containers.StartedContainer("redis://h:1/0", lambda: None))
    found = instances.resolve(with_local(redis_decl, closed_url), {})
    assert found.source == "testcontainers redis:7.0-alpine" and started == [redis_decl.instance.container]


def test_nothing_available_says_how_to_start_it(redis_decl, closed_url, monkeypatch):
    monkeypatch.setattr(instances, "docker_available", lambda: False)
    with pytest.raises(instances.InstanceUnavailable) as e:
        instances.resolve(with_local(redis_decl, closed_url), {})
    message = str(e.value)
    assert "no redis instance" in message and "testcontainers (no Docker engine)" in message
    assert "redis-server --daemonize yes" in message and "PRISM_REDIS_URL" in message


def test_embedded_engines_need_nothing():
    found = instances.resolve(load_all()["memstore"], {})
    assert (found.url, found.source) == ("embedded:", "embedded")


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


def test_docker_probe_without_an_engine(monkeypatch, tmp_path):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no.sock")
    assert net.docker_available() is False
    monkeypatch.setenv("DOCKER_HOST", "tcp://127.0.0.1:1")
    assert net.docker_available() is False
