"""The matrix counts the interfaces that two independent real engines pass: the reference and
an emulating server do not count, and a backend's engines count once however many columns."""

from prism_accept.reports.engines import engine_coverage
from prism_accept.reports.matrix import Matrix
from prism_accept.reports.results import CellResult


def cell(column: str, interface: str, status: str, engine: str) -> CellResult:
    backend, _, variant = column.partition(".")
    return CellResult(backend, interface, status, variant, engine=engine)


def matrix(*cells: CellResult) -> Matrix:
    rows: dict[str, dict[str, CellResult]] = {}
    for c in cells:
        rows.setdefault(c.column, {})[c.cell] = c
    return Matrix(rows, models={"set_basic": "set", "stream_basic": "stream", "pubsub_basic": "pubsub"})


def test_two_independent_engines_cover_an_interface_and_the_rest_are_listed():
    m = matrix(
        cell("memstore", "set_basic", "pass", "reference"),
        cell("redis", "set_basic", "pass", "redis"),
        cell("redis.valkey-8.1", "set_basic", "pass", "redis"),  # a fork: the same engine
        cell("postgres", "set_basic", "deviation", "postgresql"),  # PASS* counts
        cell("kafka", "stream_basic", "pass", "Apache Kafka emulation"),
        cell("redis", "stream_basic", "pass", "redis"),
        cell("nats", "pubsub_basic", "fail", "nats"),
        cell("mqtt", "pubsub_basic", "skip", "mosquitto"),
    )
    coverage = engine_coverage(m)
    assert coverage.engines == {"set_basic": ["postgresql", "redis"], "stream_basic": ["redis"], "pubsub_basic": []}
    assert coverage.covered == ["set_basic"]
    assert coverage.line() == "1/3 interfaces passed by >= 2 independent real engines (short: stream_basic redis, pubsub_basic none)"
