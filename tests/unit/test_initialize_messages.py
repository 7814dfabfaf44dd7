"""Initialize says what is wrong with the URL, and what the server said, not a symptom."""

from __future__ import annotations

import pytest

from prism_plugin.urls import bad_port
from prism_postgres.connection import server_said


@pytest.mark.parametrize(
    "url, want",
    [
        ("redis://127.0.0.1:abc/0", "port 'abc' of redis://127.0.0.1:abc/0 is not a number from 1 to 65535"),
        ("postgresql://u:pw@db:99999/test", "port '99999' of postgresql://***@db:99999/test is not a number from 1 to 65535"),
        ("kafka://a:9092,b:x", "port 'x' of kafka://a:9092,b:x is not a number from 1 to 65535"),
        ("kafka://a:9092,b:9093", None),
        ("redis://[::1]:6379/0", None),
        ("redis://[::1]/0", None),
        ("amqp://127.0.0.1/", None),
    ],
)
def test_a_port_that_is_no_number_is_named(url, want):
    assert bad_port(url) == want


def test_postgres_says_what_the_server_said():
    import psycopg

    e = psycopg.OperationalError(
        'connection failed: connection to server at "127.0.0.1", port 5432 failed: FATAL:  role "x" does not exist'
    )
    assert server_said(e) == 'FATAL: role "x" does not exist'
