"""URL redaction, framework side (prism_accept.harness.net, used by the harness and the reports)
and SDK side (prism_plugin.urls, used by plugins), held to one table of URL forms: the two copies
must behave alike, and no form lets its secret through."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import prism_plugin.urls as sdk
from prism_accept.harness import instances, net
from prism_accept.redact import redact as redact_report_text
from prism_accept.registry import BackendDeclaration, InstanceSpec, PluginLaunch

SECRET = "s3cret"
OK, REFUSED = False, True

# (url, what it shows, refused). Every secret in these URLs contains SECRET.
FORMS = [
    # user info: everything between `//` and the last `@` goes, user names too (one may be a token)
    ("redis://:s3cret@127.0.0.1:6390/0", "redis://***@127.0.0.1:6390/0", OK),
    ("postgresql://user:s3cret@db:5432/x", "postgresql://***@db:5432/x", OK),
    ("postgresql://me:p%40s3cret@db/x", "postgresql://***@db/x", OK),
    ("amqp://guest:s3cret:with:colons@h:5672/", "amqp://***@h:5672/", OK),
    ("redis://:p@s3cret@h:6379/0", "redis://***@h:6379/0", OK),  # parsers split at the last `@` too
    ("https://s3cret:x-oauth-basic@example.com/", "https://***@example.com/", OK),
    # token-only user info
    ("nats://s3cret@127.0.0.1:4222", "nats://***@127.0.0.1:4222", OK),
    ("postgresql://postgres@127.0.0.1:5432/test", "postgresql://***@127.0.0.1:5432/test", OK),
    # query values (keys stay) and fragments
    ("postgresql://user@db:5432/x?password=s3cret", "postgresql://***@db:5432/x?password=***", OK),
    ("postgresql://db/x?sslmode=require&sslpassword=s3cret", "postgresql://db/x?sslmode=***&sslpassword=***", OK),
    ("redis://127.0.0.1:6379/0?password=s3cret", "redis://127.0.0.1:6379/0?password=***", OK),
    ("postgresql://db/x?s3cret", "postgresql://db/x?***", OK),
    ("postgresql://db/x?a=1&&b=s3cret", "postgresql://db/x?a=***&&b=***", OK),
    ("redis://h:6379/0#s3cret", "redis://h:6379/0#***", OK),
    ("redis://:s3cret@h:6379/0?db=s3cret#s3cret", "redis://***@h:6379/0?db=***#***", OK),
    # IPv6 hosts
    ("redis://:s3cret@[::1]:6379/0", "redis://***@[::1]:6379/0", OK),
    ("redis://[::1]:6379/0", "redis://[::1]:6379/0", OK),
    ("postgresql://u:s3cret@[fe80::1%25eth0]:5432/x", "postgresql://***@[fe80::1%25eth0]:5432/x", OK),
    # no secret at all: unchanged
    ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0", OK),
    ("kafka://a:9092,b:9092", "kafka://a:9092,b:9092", OK),
    ("a:9092,b:9092", "a:9092,b:9092", OK),
    ("amqp://127.0.0.1:5672/", "amqp://127.0.0.1:5672/", OK),
    ("embedded:", "embedded:", OK),
    ("", "", OK),
    # ambiguous: an unencoded `#`, `/` or `?` in a password (a parser ends the user info there and
    # reads part of the password as host or port), an `@` after the authority, a space or quote,
    # user info without a scheme, an authority that does not parse
    ("redis://:pa#s3cret@h:6379/0", "redis://***@h:6379/0", REFUSED),
    ("redis://:pa/s3cret@h:6379/0", "redis://***@h:6379/0", REFUSED),
    ("redis://:pa?s3cret@h:6379/0", "redis://***@h:6379/0", REFUSED),
    ("postgresql://u:1234/s3cret@db:5432/x", "postgresql://***@db:5432/x", REFUSED),
    ("nats://s3cret#x@h:4222", "nats://***@h:4222", REFUSED),
    ("nats://s3cret/x@h:4222", "nats://***@h:4222", REFUSED),
    ("http://h/p?email=s3cret@b", "http://***@b", REFUSED),
    ("amqp://guest:s3 cret@h:5672/", "amqp://***@h:5672/", REFUSED),
    ("amqp://guest:s3'cret@h:5672/", "amqp://***@h:5672/", REFUSED),
    ("u:s3cret@h:9092", "***@h:9092", REFUSED),
    ("redis://:s3cret@[::1:6379/0", "redis://***@[::1:6379/0", REFUSED),
]
SIDES = {"framework": net, "sdk": sdk}
SHARED = ("_pattern_parts", "_redact_query_item", "redact", "redact_text", "has_secret", "refusal")


def secret_in(text: str) -> bool:
    return bool(re.search("s3.?cret", text))


@pytest.mark.parametrize("side", SIDES)
@pytest.mark.parametrize("url, shown, refused", FORMS)
def test_each_form_shows_no_secret(side, url, shown, refused):
    m = SIDES[side]
    assert m.redact(url) == shown
    assert not secret_in(m.redact(url))
    assert m.redact(m.redact(url)) == m.redact(url)  # idempotent: a report redacted twice reads the same
    assert m.has_secret(url) == (shown != url)


@pytest.mark.parametrize("side", SIDES)
@pytest.mark.parametrize("url, shown, refused", FORMS)
def test_ambiguous_forms_are_refused_with_the_redacted_form(side, url, shown, refused):
    why = SIDES[side].refusal(url)
    assert (why is not None) == refused, why
    if why is not None:
        assert why.startswith(shown + " ") and not secret_in(why) and "percent-encode" in why


@pytest.mark.parametrize("side", SIDES)
@pytest.mark.parametrize("url, shown, refused", [f for f in FORMS if f[0] and not re.search(r"\s|'", f[0])])
def test_text_redacts_each_form_where_it_stands(side, url, shown, refused):
    """Messages, tracebacks and reports quote URLs among other words, in reprs and in JSON."""
    m = SIDES[side]
    if "://" not in url:
        return  # without a scheme, nothing in free text says it is a URL (Kafka's bootstrap list)
    for template in ("cannot reach {} (ConnectionError)", "Instance('{}', source='$X')", '{{"url": "{}"}}', "<{}>", "url={}\nnext"):
        assert m.redact_text(template.format(url)) == template.format(shown)


@pytest.mark.parametrize("side", SIDES)
def test_text_takes_punctuation_after_a_url_as_part_of_it(side):
    """A URL in text ends at a space or quote only: a password or query value may end in `.`,
    `:` or `)`, so what follows it up to the space is hidden with it."""
    m = SIDES[side]
    assert m.redact_text("at redis://:s3cret@h:6379/0: refused.") == "at redis://***@h:6379/0: refused."
    assert m.redact_text("at redis://h:6379/0?password=s3cret.: refused") == "at redis://h:6379/0?password=*** refused"
    assert m.redact_text("(redis://:s3cret)@h:6379/0)") == "(redis://***@h:6379/0)"


@pytest.mark.parametrize("side", SIDES)
def test_text_keeps_what_is_no_url(side):
    m = SIDES[side]
    text = "Get k: got b'1', want b'2' (mail me@example.com, path /a/b?c, time 12:00)"
    assert m.redact_text(text) == text
    assert m.redact_text("redis://:a@h1:1/0 and nats://tok@h2:2") == "redis://***@h1:1/0 and nats://***@h2:2"
    assert m.redact_text(None) == ""  # type: ignore[arg-type]


def test_the_report_redaction_is_the_text_redaction():
    line = "failed with PluginStartError: postgresql://u@h:1/x?password=s3cret refused; redis://:s3cret@h/0"
    want = "failed with PluginStartError: postgresql://***@h:1/x?password=*** refused; redis://***@h/0"
    assert redact_report_text(line) == net.redact_text(line) == want


def shared_block(path: Path) -> str:
    text = path.read_text()
    return text[text.index("# --- Redaction by pattern") : text.index("# --- end of the shared block")]


def test_the_two_copies_are_the_same_code():
    """The framework and the SDK cannot import each other: their copies must not drift apart."""
    root = Path(net.__file__).resolve().parents[3]
    framework, plugin = shared_block(Path(net.__file__)), shared_block(Path(sdk.__file__))
    assert framework == plugin
    assert all(f"def {name}(" in framework for name in SHARED)
    assert sdk.redacted is sdk.redact
    assert (root / "src" / "prism_accept" / "harness" / "net.py").samefile(net.__file__)


def test_a_refused_url_names_no_host_to_probe():
    """The parser's host of an ambiguous URL may be part of its password: nothing probes it."""
    assert net.host_port("postgresql://u:1234/s3cret@db:5432/x") is None
    assert net.host_port("redis://:pa#s3cret@127.0.0.1:6379/0") is None
    assert not net.reachable("postgresql://u:1234/s3cret@db:5432/x")
    assert net.host_port("redis://:s3cret@[::1]:6390/0") == ("::1", 6390)
    assert net.host_port("redis://:s3cret@[::1:6390/0") is None  # never raises: a traceback prints arguments


def test_what_a_traceback_prints_of_settings_holds_no_secret():
    env = net.Redacted(
        A="redis://:pa#s3cret@h:1/0", B="postgresql://h/x?password=s3cret", C="--url nats://s3cret@h:4222 -v", D="plain", E=3
    )
    shown = repr(env)
    assert not secret_in(shown) and "'D': 'plain'" in shown and "'E': 3" in shown
    assert "nats://***@h:4222 -v" in str(env)


DECL = BackendDeclaration(
    path="registry/backends/redis.yaml",
    backend="redis",
    description="d",
    plugin=PluginLaunch(module="prism_redis"),
    implements=("keyvalue_basic",),
    instance=InstanceSpec(start_hint="start it", url_env="PRISM_REDIS_URL", local="redis://127.0.0.1:6379/0"),
)


@pytest.mark.parametrize("url, shown, refused", [f for f in FORMS if f[2]])
def test_the_harness_refuses_an_ambiguous_explicit_url(url, shown, refused):
    """Before anything connects (a client would read a different host, password or port)."""
    with pytest.raises(instances.InstanceURLRefused) as e:
        instances.resolve(DECL, {"PRISM_REDIS_URL": url})
    assert f"$PRISM_REDIS_URL={shown} " in str(e.value) and not secret_in(str(e.value))


def test_the_merged_junit_report_holds_no_secret_anywhere(tmp_path):
    """Every attribute and text of a cell's report: messages, tracebacks, properties, output,
    names (a parametrized case's id may quote a URL)."""
    from types import SimpleNamespace

    from prism_accept.reports.junit import merge_reports
    from prism_accept.reports.results import report_path

    urls = [url for url, _, _ in FORMS if SECRET in url and "://" in url and not re.search(r"\s|'", url)]
    quoted = " ".join(urls)
    report = report_path(tmp_path, "redis", "keyvalue_basic")
    report.write_text(
        f'<testsuites><testsuite name="pytest" hostname="h"><properties><property name="instance" value="{quoted}"/></properties>'
        f'<testcase classname="c {quoted}" name="test_a[{urls[0]}]"><failure message="{quoted}">{quoted}</failure>'
        f"<system-out>{quoted}</system-out><system-err>{quoted}</system-err></testcase>"
        f"<system-out>{quoted}</system-out></testsuite></testsuites>".replace("&", "&amp;")
    )
    out = tmp_path / "junit.xml"
    merge_reports(SimpleNamespace(cells={"redis": ["keyvalue_basic"]}), tmp_path, out)
    merged = out.read_text()
    assert SECRET in report.read_text() and not secret_in(merged)
    assert "redis://***@127.0.0.1:6390/0" in merged and "postgresql://db/x?sslmode=***&amp;sslpassword=***" in merged


def test_the_results_of_a_report_hold_no_secret(tmp_path):
    from prism_accept.reports.results import read_report

    path = tmp_path / "tests.compliance.redis@keyvalue_basic.xml"
    path.write_text(
        '<testsuite><properties><property name="instance" value="nats://s3cret@h:4222 (x)"/></properties>'
        '<testcase name="test_a[redis://:pa#s3cret@h:1/0]"><error message="at postgresql://h/x?password=s3cret">'
        "redis://:p/s3cret@h:1/0</error></testcase></testsuite>"
    )
    result = read_report(path)
    assert result.instance == "nats://***@h:4222 (x)" and result.status == "error"
    assert not secret_in(repr(result)), repr(result)


def connection(backend: str):
    from prism_kafka.connection import KafkaConnection
    from prism_mqtt.connection import MqttConnection
    from prism_nats.connection import NatsConnection
    from prism_postgres.connection import PostgresConnection
    from prism_rabbitmq.connection import RabbitConnection
    from prism_redis.connection import RedisConnection

    classes = {"redis": RedisConnection, "postgres": PostgresConnection, "nats": NatsConnection, "mqtt": MqttConnection}
    classes.update(rabbitmq=RabbitConnection, kafka=KafkaConnection)
    return classes[backend]()


PLUGIN_URLS = {
    "redis": "redis://:pa#s3cret@127.0.0.1:1/0",
    "postgres": "postgresql://u:1234/s3cret@127.0.0.1:1/x",
    "nats": "nats://s3cret#x@127.0.0.1:1",
    "mqtt": "mqtt://u:pa/s3cret@127.0.0.1:1",
    "rabbitmq": "amqp://guest:pa#s3cret@127.0.0.1:1/",
    "kafka": "kafka://u:pa?s3cret@127.0.0.1:1",
}


@pytest.mark.parametrize("backend", PLUGIN_URLS)
def test_a_plugin_refuses_an_ambiguous_url_before_its_client_parses_it(backend):
    """Initialize answers INVALID_ARGUMENT with the redacted form: a client library would read part
    of the password as host or port, and quote it in its error."""
    import asyncio

    import grpc

    from prism_plugin.status import StatusError

    with pytest.raises(StatusError) as e:
        asyncio.run(connection(backend).connect({"url": PLUGIN_URLS[backend]}))
    assert e.value.code == grpc.StatusCode.INVALID_ARGUMENT and "is ambiguous" in e.value.message
    assert sdk.redact(PLUGIN_URLS[backend]) in e.value.message and not secret_in(e.value.message)
