"""The registry: every real backend file is valid, and each kind of mistake is explained."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from prism_accept.catalog import load_catalog
from prism_accept.paths import registry_dir
from prism_accept.registry import RegistryError, load_all, load_file

GOOD = textwrap.dedent(
    """\
    backend: {name}
    description: A test backend.
    plugin:
      module: prism_accept.plugins.memstore
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


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(text)
    return path


def problems(path: Path) -> str:
    with pytest.raises(RegistryError) as e:
        load_file(path)
    return str(e.value)


def test_every_backend_file_is_valid():
    backends = load_all()
    assert {"memstore", "redis"} <= set(backends)
    for name, decl in backends.items():
        assert decl.backend == name
        assert decl.implements, f"{name} implements nothing"


def test_a_good_file_loads(tmp_path):
    decl = load_file(write(tmp_path, "good", GOOD.format(name="good")))
    assert decl.implements == ("keyvalue_basic", "list_basic")
    assert decl.instance.embedded and decl.plugin.module == "prism_accept.plugins.memstore"


def test_unknown_interface_suggests_the_closest(tmp_path):
    path = write(tmp_path, "typo", GOOD.format(name="typo").replace("- list_basic", "- keyvalue_basik"))
    message = problems(path)
    assert str(path.name) in message
    assert "implements[1]" in message
    assert "'keyvalue_basik' is not a known interface" in message
    assert "did you mean 'keyvalue_basic'?" in message


def test_duplicate_interface(tmp_path):
    path = write(tmp_path, "dup", GOOD.format(name="dup").replace("- list_basic", "- list_basic\n  - list_basic"))
    message = problems(path)
    assert "dup.yaml" in message and "field 'implements'" in message
    assert "'list_basic' listed more than once" in message and "remove the duplicate" in message


def test_missing_field_says_what_to_add(tmp_path):
    text = GOOD.format(name="nodesc").replace("description: A test backend.\n", "")
    message = problems(write(tmp_path, "nodesc", text))
    assert "nodesc.yaml: field 'description' is missing; fix: add `description:" in message


def test_missing_nested_field(tmp_path):
    text = GOOD.format(name="nohint").replace("  start_hint: nothing to start\n", "")
    message = problems(write(tmp_path, "nohint", text))
    assert "field 'instance.start_hint' is missing" in message


def test_file_name_must_match_backend(tmp_path):
    message = problems(write(tmp_path, "other-name", GOOD.format(name="good")))
    assert "other-name.yaml: field 'backend': 'good' disagrees with the file name 'other-name.yaml'" in message
    assert "rename the file to good.yaml or set `backend: other-name`" in message


def test_unknown_field_suggests_the_closest(tmp_path):
    text = GOOD.format(name="extra").replace("implements:", "implement:")
    message = problems(write(tmp_path, "extra", text))
    assert "unknown field 'implement' (did you mean 'implements'?)" in message
    assert "field 'implements' is missing" in message


def test_batch_needs_a_declared_limit(tmp_path):
    text = GOOD.format(name="batch").replace("- list_basic", "- keyvalue_batch")
    message = problems(write(tmp_path, "batch", text))
    assert "field 'limits.max_batch_size' is missing" in message


def test_invalid_yaml_names_the_line(tmp_path):
    message = problems(write(tmp_path, "broken", "backend: broken\nimplements: [keyvalue_basic\n"))
    assert re.search(r"broken\.yaml: not valid YAML at line \d+, column \d+", message), message


def test_load_all_names_every_bad_file(tmp_path):
    write(tmp_path, "a", GOOD.format(name="a").replace("- list_basic", "- nope"))
    write(tmp_path, "b", GOOD.format(name="bee"))
    write(tmp_path, "c", GOOD.format(name="c"))
    with pytest.raises(RegistryError) as e:
        load_all(tmp_path)
    assert "a.yaml" in str(e.value) and "b.yaml" in str(e.value) and "c.yaml" not in str(e.value)


def test_catalog_has_45_interfaces_over_10_models():
    catalog = load_catalog()
    assert len(catalog) == 45
    assert len({i.name for i in catalog}) == 45
    assert len({i.model for i in catalog}) == 10
    for interface in catalog:
        assert interface.name.startswith(interface.model + "_"), interface


def test_tests_compliance_build_lists_every_backend():
    """tests/compliance/BUILD is written by hand; it must name each registry backend once."""
    build = Path("tests/compliance/BUILD").read_text()
    declared = re.findall(r'compliance_cells\(\s*name="([^"]+)"', build)
    files = sorted(p.stem for p in (registry_dir() / "backends").glob("*.yaml"))
    assert sorted(declared) == files, (
        f"tests/compliance/BUILD has compliance_cells for {sorted(declared)}, registry/backends has {files}: "
        "add or remove `compliance_cells(name=...)` lines to match"
    )
