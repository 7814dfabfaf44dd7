"""The registry: every real backend file is valid, and each kind of mistake is explained."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from prism_accept.catalog import load_catalog
from prism_accept.registry import RegistryError, load_all, load_file, parse_declaration

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
    assert decl.instance.embedded and decl.plugin.module == "prism_memstore"


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


def test_parse_declaration_reads_no_file():
    """The Pants plugin parses registry text it read through the engine: names come from the caller."""
    decl = parse_declaration(GOOD.format(name="pure"), "somewhere/pure.yaml", ["keyvalue_basic", "list_basic"])
    assert decl.path == "somewhere/pure.yaml" and decl.implements == ("keyvalue_basic", "list_basic")
    with pytest.raises(RegistryError) as e:
        parse_declaration(GOOD.format(name="pure"), "somewhere/pure.yaml", ["keyvalue_basic"])
    assert "somewhere/pure.yaml: field 'implements[1]': 'list_basic' is not a known interface" in str(e.value)


def test_parse_declaration_names_the_yaml_error():
    with pytest.raises(RegistryError, match=r"^x/bad\.yaml: not valid YAML at line 3, column 1"):
        parse_declaration("backend: bad\nimplements: [a\n", "x/bad.yaml", ["a"])


def test_implements_given_as_a_string_is_one_clear_error(tmp_path):
    text = GOOD.format(name="b").replace("implements:\n  - keyvalue_basic\n  - list_basic\n", "implements: keyvalue_basic\n")
    got = problems(write(tmp_path, "b", text))
    assert "b.yaml: field 'implements': 'keyvalue_basic' is a str, not a list; fix: one interface per line, e.g. " in got
    assert got.endswith("`implements: [keyvalue_basic]`")
    assert got.count("\n") == 0, f"one problem, not one per character or rule: {got}"


def test_an_empty_file_says_what_to_declare(tmp_path):
    assert "the file is empty; fix: declare backend" in problems(write(tmp_path, "e", ""))


def test_a_deviation_needs_a_case_and_a_reason(tmp_path):
    text = GOOD.format(name="d") + "deviations:\n  - cell: keyvalue_basic\n    reason: too short\n"
    got = problems(write(tmp_path, "d", text))
    assert "field 'deviations[0].case' is missing" in got and "reason" in got, got


def test_registry_check_command_prints_problems_without_a_traceback(tmp_path, capsys):
    from prism_accept.registry import main

    write(tmp_path, "e", "")
    assert main(["--check", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "the file is empty" in err and "Traceback" not in err


def test_only_the_text_the_pants_plugin_validated_skips_validation(tmp_path, monkeypatch):
    from prism_accept.registry import VALIDATED_ENV, text_digest

    path = write(tmp_path, "b", GOOD.format(name="b").replace("list_basic", "list_basik"))
    monkeypatch.setenv(VALIDATED_ENV, text_digest(GOOD.format(name="b")))  # another text's digest
    assert "'list_basik' is not a known interface" in problems(path)


def test_a_key_given_twice_names_both_lines(tmp_path):
    text = GOOD.format(name="twice") + "implements:\n  - list_basic\n"
    got = problems(write(tmp_path, "twice", text))
    assert re.search(r"twice\.yaml: field 'implements' is given twice \(lines 5 and \d+\); fix: keep one", got), got


def test_a_deviation_of_a_cell_the_backend_lacks_suggests_one(tmp_path):
    deviation = "deviations:\n  - cell: {cell}\n    case: get_non_existent\n    reason: a reason long enough\n"
    for cell, hint in (
        ("keyvalue_scan", "declare 'keyvalue_scan' under `implements:`, or remove the deviation"),
        ("model-keyvalu", "did you mean 'model-keyvalue'?"),
        (
            "undeclared",
            "name one of keyvalue_basic, list_basic, model-keyvalue, model-list, chaos-keyvalue, chaos-list, conventions, replicas",
        ),
    ):
        got = problems(write(tmp_path, "dev", GOOD.format(name="dev") + deviation.format(cell=cell)))
        assert f"field 'deviations[0].cell': the backend has no cell '{cell}'; fix: {hint}" in got, got
    for cell in ("keyvalue_basic", "model-list", "conventions"):
        load_file(write(tmp_path, "dev", GOOD.format(name="dev") + deviation.format(cell=cell)))


def test_a_limit_too_large_to_use_says_the_largest(tmp_path):
    got = problems(write(tmp_path, "big", GOOD.format(name="big").replace("1024", "99999999999999999999999")))
    assert "field 'limits.max_value_bytes': 99999999999999999999999 is above the largest value the suites can use, 33554432" in got, got
