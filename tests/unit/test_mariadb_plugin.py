"""The MariaDB plugin's pure helpers: URL handling (the password never shown), the statement
bound, byte ranges for prefixes, batch chunks, and the servicers' deadline wrapping."""

from __future__ import annotations

import asyncio

import grpc
import pytest

from prism_mariadb import deadlines
from prism_mariadb.connection import bounded, keeps_connection, parse_url
from prism_mariadb.keyvalue import chunks, prefix_range
from prism_plugin.contracts.keyvalue import basic as kv_basic
from prism_plugin.contracts.keyvalue import scan as kv_scan
from prism_plugin.status import StatusError


def test_a_url_gives_host_port_user_password_and_database():
    t = parse_url("mysql://app:p%40ss@db.example:3307/prism")
    assert (t.host, t.port, t.user, t.password, t.database) == ("db.example", 3307, "app", "p@ss", "prism")
    assert t.shown == "mysql://***@db.example:3307/prism"
    d = parse_url("mariadb://127.0.0.1/test")
    assert (d.port, d.user, d.password) == (3306, "root", "")


@pytest.mark.parametrize(
    "url, says",
    [
        ("postgresql://u:s3cret@db:5432/x", "the scheme must be"),
        ("mysql://u:s3cret@db:3306", "name one database"),
        ("mysql://u:s3cret@db:3306/x?ssl=s3cret", "no query options"),
        ("mysql://u:12/s3cret@db:3306/x", "ambiguous"),
    ],
)
def test_a_bad_url_is_invalid_and_never_shows_the_password(url, says):
    with pytest.raises(StatusError) as e:
        parse_url(url)
    assert e.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert says in e.value.message
    assert "s3cret" not in e.value.message


def test_a_statement_is_bounded_by_the_time_left():
    assert bounded("SELECT 1", 1.23456) == "SET STATEMENT max_statement_time=1.235 FOR SELECT 1"
    assert bounded("SELECT 1", 0) == "SET STATEMENT max_statement_time=0.001 FOR SELECT 1"  # 0 would mean no limit


def test_a_prefix_is_a_byte_range():
    assert prefix_range("a%_") == (b"a%_", b"a%`")
    assert prefix_range("\xff") == ("\xff".encode(), b"\xc3\xc0")
    assert prefix_range("") == (b"", None)


def test_batches_are_cut_by_size_in_order():
    rows = [(b"a", b"x" * 6), (b"b", b"y" * 6), (b"c", b"z" * 20)]
    assert chunks(rows, max_bytes=16) == [[rows[0], rows[1]], [rows[2]]]
    assert chunks([], max_bytes=16) == []


def test_server_errors_keep_the_connection_client_errors_drop_it():
    import pymysql

    assert keeps_connection(pymysql.err.OperationalError(1213, "Deadlock found"))
    assert not keeps_connection(pymysql.err.OperationalError(2013, "Lost connection"))
    assert not keeps_connection(asyncio.CancelledError())


class _Context:
    def __init__(self, left: float | None):
        self.left = left

    def time_remaining(self) -> float | None:
        return self.left


def test_every_rpc_records_the_callers_deadline():
    seen: list[float] = []

    class Store:
        async def get(self, ns, key):
            seen.append(deadlines.remaining())
            return b"v"

        async def count(self, ns, prefix):
            seen.append(deadlines.remaining())
            return 0

        async def scan(self, ns, prefix, limit, with_values):
            seen.append(deadlines.remaining())
            yield "k", b"v"

    basic = deadlines.bounded_by_call_deadlines(kv_basic.Servicer(Store()))
    scan = deadlines.bounded_by_call_deadlines(kv_scan.Servicer(Store()))
    assert set(deadlines.rpc_names(basic)) == {"Set", "Get", "Delete", "Exists"}

    async def go() -> None:
        await basic.Get(kv_basic.pb.GetRequest(namespace="n", key="k"), _Context(2.0))
        async for _ in scan.Scan(kv_scan.pb.ScanRequest(namespace="n", prefix=""), _Context(0.5)):
            pass
        await scan.Count(kv_scan.pb.CountRequest(namespace="n", prefix=""), _Context(None))

    asyncio.run(go())
    assert 1.5 < seen[0] <= 2.0 - deadlines.MARGIN_S
    assert 0 < seen[1] <= 0.5 - deadlines.MARGIN_S
    assert seen[2] == pytest.approx(deadlines.DEFAULT_CALL_S, abs=0.1)


def test_a_passed_deadline_is_deadline_exceeded():
    class Store:
        async def get(self, ns, key):
            return deadlines.remaining()

    basic = deadlines.bounded_by_call_deadlines(kv_basic.Servicer(Store()))
    with pytest.raises(StatusError) as e:
        asyncio.run(basic.Get(kv_basic.pb.GetRequest(namespace="n", key="k"), _Context(0.05)))
    assert e.value.code == grpc.StatusCode.DEADLINE_EXCEEDED
