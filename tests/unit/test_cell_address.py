"""A cell's address names its backend, its server variant (if any) and its cell, and reads back
the same from every place it is spelled: the target, the report file Pants writes, the matrix."""

import pytest

from prism_accept.cellname import MODEL, CellAddress, CellName, Column
from prism_accept.reports.results import parse_report_name, report_path


@pytest.mark.parametrize(
    "text, backend, variant, cell",
    [
        ("redis#keyvalue_basic", "redis", "", "keyvalue_basic"),
        ("redis.valkey-8.1#keyvalue_basic", "redis", "valkey-8.1", "keyvalue_basic"),
        ("tests/compliance:postgres.postgresql-18#model-document", "postgres", "postgresql-18", "model-document"),
        ("tests/compliance:nats.nats-2.15#undeclared", "nats", "nats-2.15", "undeclared"),
        ("my_backend-2.v1.2.3#conventions", "my_backend-2", "v1.2.3", "conventions"),  # the first `.` separates
    ],
)
def test_parse_and_spell(text, backend, variant, cell):
    address = CellAddress.parse(text)
    assert (address.backend, address.variant, str(address.cell)) == (backend, variant, cell)
    assert str(address) == text.rpartition(":")[2]
    assert address.spec == f"tests/compliance:{address}"
    assert CellAddress.parse(address.spec) == address


def test_the_report_file_pants_writes_reads_back():
    """Pants names a report by Address.path_safe_spec: `.` for the path's `/`, `@` before the
    generated name (prism_cells' RuleRunner test checks the addresses it generates)."""
    address = CellAddress.of("redis", "model-keyvalue", "valkey-8.1")
    assert address.report_name == "tests.compliance.redis.valkey-8.1@model-keyvalue.xml"
    assert CellAddress.from_report(address.report_name) == address
    assert address.cell == CellName(MODEL, "keyvalue")
    reference = CellAddress.of("redis", "keyvalue_basic")
    assert reference.report_name == "tests.compliance.redis@keyvalue_basic.xml" and reference.variant == ""
    assert CellAddress.from_report("tests.unit.test_matrix.py.xml") is None
    assert CellAddress.from_report("tests.compliance.Bad Name@x.xml") is None


def test_results_name_reports_through_the_address(tmp_path):
    path = report_path(tmp_path, "redis.valkey-8.1", "keyvalue_basic")
    assert path.name == "tests.compliance.redis.valkey-8.1@keyvalue_basic.xml"
    assert parse_report_name(path) == ("redis.valkey-8.1", "keyvalue_basic")
    assert parse_report_name(report_path(tmp_path, "redis", "undeclared")) == ("redis", "undeclared")


@pytest.mark.parametrize("text", ["Redis", "redis.", "redis.Valkey", "redis.valkey#x", "redis.val@key", ".valkey", ""])
def test_names_that_are_no_column_are_refused(text):
    with pytest.raises(ValueError, match="is not <backend>"):
        Column.parse(text)


def test_a_column_is_its_backend_alone_or_backend_dot_variant():
    assert str(Column("redis")) == "redis" and str(Column("redis", "redis-6.2")) == "redis.redis-6.2"
    assert Column.parse("redis.redis-6.2") == Column("redis", "redis-6.2")


def test_a_cells_report_properties_name_the_cell():
    address = CellAddress.parse("redis.valkey-8.1#model-keyvalue")
    assert address.property_name("cpu_s") == "redis.valkey-8.1#model-keyvalue cpu_s"
    assert CellAddress.from_property(address.property_name("cpu_s")) == (address, "cpu_s")
    for other in ("cpu_s", "instance", "redis#keyvalue_basic", "not a cell", "redis#keyvalue_basic "):
        assert CellAddress.from_property(other) is None, other
