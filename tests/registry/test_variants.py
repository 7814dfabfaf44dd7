"""Server variants in a registry file: how they load, what a variant's cells run with, and each
kind of mistake explained (file, field, fix)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from prism_accept.registry import RegistryError, load_all, load_file, variant_names

BASE = textwrap.dedent(
    """\
    backend: {name}
    description: A test backend.
    plugin:
      module: prism_redis
    implements:
      - keyvalue_basic
      - list_basic
    limits:
      max_value_bytes: 1024
    instance:
      local: redis://127.0.0.1:6379/0
      start_hint: start Redis
    deviations:
      - cell: list_basic
        case: remove_extremes
        reason: the reference server's own documented behaviour
    """
)

VARIANT = textwrap.dedent(
    """\
    variants:
      fork-8.1:
        description: A fork of the server, from a distribution.
        instance:
          embedded:
            distribution: some-dist
            binary: some_dist/bin/server
            args: [--port, "{port}", --dir, "{data_dir}"]
            url: redis://127.0.0.1:{port}/0
            label: "{distribution} {version}"
          start_hint: installed with the lockfile
        deviations:
          - cell: keyvalue_basic
            case: get_missing
            reason: the fork's documented behaviour differs here
    """
)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(text)
    return path


def problems(path: Path) -> str:
    with pytest.raises(RegistryError) as e:
        load_file(path)
    return str(e.value)


def test_a_variant_runs_with_its_own_instance_and_only_its_own_deviations(tmp_path):
    decl = load_file(write(tmp_path, "b", BASE.format(name="b") + VARIANT))
    assert decl.variant_names == ("fork-8.1",) and str(decl.column) == "b"
    fork = decl.variant("fork-8.1")
    assert str(fork.column) == "b.fork-8.1" and fork.variant_name == "fork-8.1"
    assert fork.instance.server is not None and fork.instance.server.distribution == "some-dist"
    assert fork.instance.local is None  # nothing of the backend's instance is inherited
    assert [(d.cell, d.case) for d in fork.deviations] == [("keyvalue_basic", "get_missing")]
    assert [(d.cell, d.case) for d in decl.deviations] == [("list_basic", "remove_extremes")]  # the reference's stay its own
    assert (fork.implements, fork.limits, fork.plugin) == (decl.implements, decl.limits, decl.plugin)
    assert decl.variant("") is decl


def test_a_variant_without_deviations_has_none(tmp_path):
    text = BASE.format(name="b") + VARIANT.split("    deviations:")[0]
    assert load_file(write(tmp_path, "b", text)).variant("fork-8.1").deviations == ()


def test_an_unknown_variant_names_the_declared_ones(tmp_path):
    decl = load_file(write(tmp_path, "b", BASE.format(name="b") + VARIANT))
    with pytest.raises(RegistryError, match=r"b.yaml: field 'variants': no variant 'valkey' \(declared: fork-8.1\)"):
        decl.variant("valkey")


def test_a_variant_without_an_instance_says_what_to_add(tmp_path):
    text = BASE.format(name="b") + "variants:\n  fork:\n    description: A fork.\n"
    got = problems(write(tmp_path, "b", text))
    assert "field 'variants.fork.instance' is missing; fix: add `instance:` to the variant" in got


def test_a_variant_name_that_cannot_name_cells(tmp_path):
    text = BASE.format(name="b") + VARIANT.replace("fork-8.1:", "Fork@8:")
    got = problems(write(tmp_path, "b", text))
    assert "field 'variants': 'Fork@8' is not a variant name; fix: lower-case letters" in got


def test_a_variants_deviation_must_name_a_cell_of_the_backend(tmp_path):
    text = BASE.format(name="b") + VARIANT.replace("cell: keyvalue_basic", "cell: keyvalue_basik")
    got = problems(write(tmp_path, "b", text))
    want = "field 'variants.fork-8.1.deviations[0].cell': the backend has no cell 'keyvalue_basik'; fix: did you mean 'keyvalue_basic'?"
    assert want in got


def test_a_variants_embedded_server_names_the_missing_field(tmp_path):
    text = BASE.format(name="b") + VARIANT.replace('        label: "{distribution} {version}"\n', "")
    got = problems(write(tmp_path, "b", text))
    assert "field 'variants.fork-8.1.instance.embedded.label' is missing; fix: add `label:" in got


def test_a_variants_instance_that_says_nowhere(tmp_path):
    text = BASE.format(name="b") + "variants:\n  fork:\n    description: A fork.\n    instance:\n      start_hint: x\n"
    got = problems(write(tmp_path, "b", text))
    assert "field 'variants.fork.instance': says nowhere to find the backend; fix: add `embedded:`" in got


def test_variant_names_are_read_leniently_for_the_pants_plugin():
    assert variant_names(BASE.format(name="b") + VARIANT) == ["fork-8.1"]
    assert variant_names("backend: [unclosed") == [] and variant_names("variants: 3") == [] and variant_names("") == []


def test_the_declared_variants():
    """At least: Redis 6.2 and Valkey 8.1 beside the local Redis, PostgreSQL 18 beside the local
    15, NATS 2.15 beside the local 2.9; each started by the harness from its distribution."""
    backends = load_all()
    want = {"redis": ("redis-6.2", "valkey-8.1"), "postgres": ("postgresql-18",), "nats": ("nats-2.15",)}
    for backend, names in want.items():
        assert set(names) <= set(backends[backend].variant_names), backend
        for name in names:
            server = backends[backend].variant(name).instance.server
            assert server is not None and "{port}" in server.args, f"{backend}.{name}"
    postgres = backends["postgres"].variant("postgresql-18").instance.server
    assert postgres is not None and postgres.template is not None and postgres.user == "postgres"
