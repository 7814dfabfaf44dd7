"""A cell's name parses into one kind and subject, and back to the same name."""

import pytest

from prism_accept.cellname import CHAOS, CONVENTIONS, INTERFACE, KINDS, MODEL, REPLICAS, UNDECLARED, CellName, kind_of


@pytest.mark.parametrize(
    "text, kind, subject",
    [
        ("keyvalue_basic", INTERFACE, "keyvalue_basic"),
        ("model-keyvalue", MODEL, "keyvalue"),
        ("conventions", CONVENTIONS, ""),
        ("undeclared", UNDECLARED, ""),
        ("chaos-queue", CHAOS, "queue"),
        ("replicas", REPLICAS, ""),
        ("tests/compliance:redis#model-list", MODEL, "list"),
        ("model-", INTERFACE, "model-"),  # a prefix with no subject is no model cell
    ],
)
def test_parse(text, kind, subject):
    name = CellName.parse(text)
    assert (name.kind, name.subject) == (kind, subject), f"parse({text!r}): got {name}, want {kind}/{subject}"
    assert str(name) == text.rpartition("#")[2]


def test_round_trip_of_every_kind():
    names = [CellName.of_interface("set_basic"), CellName.of_model("set"), CellName(CHAOS, "set"), *(CellName(k) for k in KINDS if k.fixed)]
    assert {n.kind for n in names} == set(KINDS)
    for name in names:
        assert CellName.parse(str(name)) == name
        assert kind_of(str(name)) == name.kind.name


def test_subject_accessors():
    assert CellName.parse("list_range").interface == "list_range" and CellName.parse("list_range").model is None
    assert CellName.parse("model-list").model == "list" and CellName.parse("model-list").interface is None
    assert CellName.parse("chaos-list").model == "list" and CellName.parse("chaos-list").interface is None
    assert CellName.parse("conventions").kind.hypothesis and not CellName.parse("undeclared").kind.hypothesis


def test_empty_name_is_refused():
    with pytest.raises(ValueError, match="names no cell"):
        CellName.parse("tests/compliance:redis#")


def test_titles_say_what_a_cell_checks():
    assert [CellName.parse(c).title for c in ("model-set", "chaos-set", "replicas", "set_basic")] == [
        "set data model",
        "set under faults",
        "plugin replicas",
        "set_basic",
    ]
