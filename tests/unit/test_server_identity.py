"""Each plugin reports the product and version the server states, from recorded answers of the
reference server and of forks or emulations of it: a fork is never reported as the reference."""

from __future__ import annotations

import pytest

from prism_postgres.connection import server_identity as postgres_identity
from prism_rabbitmq.connection import server_identity as rabbitmq_identity
from prism_redis.connection import server_identity as redis_identity


@pytest.mark.parametrize(
    "info, want",
    [
        ({"redis_version": "7.0.15", "redis_mode": "standalone"}, "redis 7.0.15"),
        ({"redis_version": "6.2.14"}, "redis 6.2.14"),
        # Valkey 8.1 keeps redis_version for compatibility and names itself
        ({"redis_version": "7.2.4", "server_name": "valkey", "valkey_version": "8.1.8"}, "valkey 8.1.8 (compatible with redis 7.2.4)"),
        ({"redis_version": "6.2.11", "dragonfly_version": "df-v1.14.0"}, "dragonfly df-v1.14.0 (compatible with redis 6.2.11)"),
    ],
)
def test_redis_forks_name_themselves(info, want):
    assert redis_identity(info) == want


@pytest.mark.parametrize(
    "version, want",
    [
        (
            "PostgreSQL 15.19 (Debian 15.19-0+deb12u1) on x86_64-pc-linux-gnu, compiled by gcc (Debian 12.2.0-14) 12.2.0, 64-bit",
            "postgresql 15.19",
        ),
        ("PostgreSQL 18.6 on x86_64-pc-linux-gnu, compiled by gcc, 64-bit", "postgresql 18.6"),
        ("CockroachDB CCL v23.1.11 (x86_64-pc-linux-gnu, built 2023/09/27 01:53:43, go1.19.10)", "cockroachdb ccl v23.1.11"),
        ("", "unknown server (version() answered nothing)"),
    ],
)
def test_postgres_emulations_name_themselves(version, want):
    assert postgres_identity(version) == want


@pytest.mark.parametrize(
    "properties, want",
    [
        ({"product": b"RabbitMQ", "version": b"3.10.8", "platform": b"Erlang/OTP 25.2.3"}, "rabbitmq 3.10.8"),
        ({"product": "LavinMQ", "version": "1.2.0"}, "lavinmq 1.2.0"),
        ({}, "unknown amqp broker ?"),
    ],
)
def test_amqp_brokers_name_themselves(properties, want):
    assert rabbitmq_identity(properties) == want


@pytest.mark.parametrize(
    "stated, want",
    [
        ("mosquitto version 2.0.11", "mosquitto 2.0.11"),
        ("mosquitto version 1.6.9", "mosquitto 1.6.9"),
        ("", "an MQTT 5 broker that names no version ($SYS/broker/version)"),
        ("NanoMQ 0.21.2", "NanoMQ 0.21.2"),
    ],
)
def test_mqtt_brokers_name_themselves(stated, want):
    from prism_mqtt.connection import server_identity as mqtt_identity

    assert mqtt_identity(stated) == want


def test_nats_reports_the_info_lines_version():
    from prism_nats.connection import server_identity as nats_identity

    info = {"server_id": "NDX...", "server_name": "NDX...", "version": "2.15.1", "go": "go1.24.4", "jetstream": True}
    assert nats_identity(info) == "nats-server 2.15.1 (go1.24.4)"


@pytest.mark.parametrize(
    "version, comment, want",
    [
        ("10.11.19-MariaDB-0+deb12u1", "Debian 12", "mariadb 10.11.19"),
        ("11.4.2-MariaDB", "mariadb.org binary distribution", "mariadb 11.4.2"),
        ("8.0.36", "MySQL Community Server - GPL", "mysql 8.0.36"),
        ("8.0.36-28", "Percona Server (GPL), Release 28", "percona server 8.0.36"),
        ("8.0.11-TiDB-v7.5.0", "", "tidb v7.5.0 (compatible with mysql 8.0.11)"),
        ("", "", "unknown server (VERSION() answered nothing)"),
    ],
)
def test_mysql_protocol_servers_name_themselves(version, comment, want):
    from prism_mariadb.connection import server_identity as mariadb_identity

    assert mariadb_identity(version, comment) == want


def test_the_probe_reads_the_mysql_handshake():
    """net.server_identity's MySQL branch: the server version of the Initial Handshake Packet,
    without the connection id and salt that follow it."""
    import socket
    import threading

    from prism_accept.harness import net

    payload = b"\x0a" + b"5.5.5-10.11.19-MariaDB-0+deb12u1\0" + b"\x07\0\0\0" + b"saltsalt\0" + b"\xfe\xf7"
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        port = listener.getsockname()[1]

        def greet() -> None:
            conn, _ = listener.accept()
            with conn:
                conn.sendall(len(payload).to_bytes(3, "little") + b"\0" + payload)

        thread = threading.Thread(target=greet)
        thread.start()
        got = net.server_identity(f"mysql://root@127.0.0.1:{port}/test", timeout_s=2)
        thread.join(2)
    assert got == "protocol=10, server_version=5.5.5-10.11.19-MariaDB-0+deb12u1"
