"""The MariaDB plugin's document unique slots (JSON-equal values take the same slot, a missing
field none), the SQL prefilter (only what MariaDB answers exactly), and the traversal statement
(placeholders counted as the parameters are built)."""

from __future__ import annotations

import pytest

from prism_mariadb.documents import _slot, prefilter
from prism_mariadb.graph import _reachable_edges
from prism_plugin.contracts.document import filters


def test_json_equal_values_take_the_same_slot():
    fields = [("a",), ("b", "c")]
    one = _slot(b"i", fields, {"a": 1, "b": {"c": {"x": 1, "y": [True]}}})
    assert one == _slot(b"i", fields, {"b": {"c": {"y": [True], "x": 1.0}}, "a": 1.0})
    assert one != _slot(b"j", fields, {"a": 1, "b": {"c": {"x": 1, "y": [True]}}})  # per index
    assert _slot(b"i", [("a",)], {"a": True}) != _slot(b"i", [("a",)], {"a": 1})
    assert _slot(b"i", [("a",)], {"a": 0.0}) == _slot(b"i", [("a",)], {"a": -0.0})
    assert _slot(b"i", [("a",)], {"a": None}) is not None  # null is a value
    assert _slot(b"i", fields, {"a": 1}) is None  # a missing field: unconstrained


def test_index_names_cannot_run_into_the_values():
    assert _slot(b"ab", [("a",)], {"a": "c"}) != _slot(b"a", [("a",)], {"a": "bc"})


@pytest.mark.parametrize("direction, uses", [("outgoing", 2), ("incoming", 2), ("both", 4)])
@pytest.mark.parametrize("labels", [0, 1, 3])
def test_the_traversal_takes_one_namespace_and_the_labels_per_use(direction, uses, labels):
    statement, counted = _reachable_edges(direction, labels)
    assert counted == uses
    assert statement.count("%s") == 2 + uses * (1 + labels) + 1  # start, each use, the row cap
    assert "WITH RECURSIVE" in statement


def test_the_prefilter_takes_plain_paths_and_plain_strings_only():
    params: list = []
    sql = prefilter(filters.parse({"a.b": "x y", "c": {"$exists": True}, "q": 'say "hi"', "k-1": "v", "n": 5, "e": "\u00e9"}), params)
    assert sql == "JSON_VALUE(body, %s) = %s COLLATE utf8mb4_bin AND JSON_CONTAINS_PATH(body, 'one', %s)"
    assert params == ['$."a"."b"', "x y", '$."c"']


@pytest.mark.parametrize("filter_", [{}, {"$or": [{"a": "x"}]}, {"a": {"$exists": False}}, {"a": {"$ne": "x"}}])
def test_the_prefilter_leaves_the_rest_to_the_plugin(filter_):
    params: list = []
    assert prefilter(filters.parse(filter_), params) == "TRUE" and params == []
