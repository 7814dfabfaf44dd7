"""The `slo:` field of a registry file (performance objectives per declared interface): what it
accepts, and errors that name the file, the field and the fix."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from prism_accept.registry import RegistryError, load_file

GOOD = textwrap.dedent(
    """\
    backend: {name}
    description: A test backend.
    plugin:
      module: prism_memstore
    implements:
      - keyvalue_basic
      - list_basic
    limits:
      max_value_bytes: 1024
    instance:
      embedded: true
      start_hint: nothing to start
    """
)


def write(tmp_path: Path, text: str, name: str = "perf") -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(GOOD.format(name=name) + text)
    return path


def problems(path: Path) -> str:
    with pytest.raises(RegistryError) as e:
        load_file(path)
    return str(e.value)


def test_an_slo_per_declared_interface_loads(tmp_path):
    decl = load_file(write(tmp_path, "slo:\n  keyvalue_basic: {p99_ms: 5, throughput_ops: 10000}\n  list_basic: {p99_ms: 2.5}\n"))
    assert decl.slo == {"keyvalue_basic": {"p99_ms": 5, "throughput_ops": 10000}, "list_basic": {"p99_ms": 2.5}}


def test_no_slo_is_an_empty_mapping(tmp_path):
    assert load_file(write(tmp_path, "")).slo == {}


@pytest.mark.parametrize(
    "text, want",
    [
        (
            "slo:\n  keyvalue_basik: {p99_ms: 5}\n",
            "field 'slo.keyvalue_basik': 'keyvalue_basik' is not a known interface; fix: did you mean 'keyvalue_basic'?",
        ),
        (
            "slo:\n  keyvalue_scan: {p99_ms: 5}\n",
            "field 'slo.keyvalue_scan': the backend does not declare 'keyvalue_scan'; "
            "fix: declare it under `implements:`, or remove its SLO",
        ),
        ("slo:\n  keyvalue_basic: {p99_ms: 0}\n", "field 'slo.keyvalue_basic.p99_ms': 0 is not above 0; fix: give a positive number"),
        (
            "slo:\n  keyvalue_basic: {p99: 5}\n",
            "field 'slo.keyvalue_basic': unknown field 'p99' (did you mean 'p99_ms'?); fix: remove it or use one of p99_ms, throughput_ops",
        ),
        ("slo:\n  keyvalue_basic: {p99_ms: fast}\n", "field 'slo.keyvalue_basic.p99_ms': 'fast' is not of type 'number'"),
    ],
)
def test_a_bad_slo_names_the_file_field_and_fix(tmp_path, text, want):
    got = problems(write(tmp_path, text))
    assert got.startswith(str(tmp_path / "perf.yaml")) or "perf.yaml" in got.splitlines()[0], got
    assert want in got, got
