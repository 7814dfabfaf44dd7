"""The PostgreSQL plugin keys rows by (namespace, name) columns (bytea); what it composes from
the parts is injective over the look-alike tuples of the #conventions case: the names of
document indexes, the identity of a time series' label set, and key prefix ranges."""

from __future__ import annotations

from prism_accept.runtime.isolation import assert_injective
from prism_postgres.documents import _pg_name
from prism_postgres.keyvalue import prefix_range
from prism_postgres.timeseries import label_hash


def test_document_index_names_are_injective():
    assert_injective(lambda ns, collection, name: _pg_name(ns.encode(), collection.encode(), name.encode()), arity=3)
    assert len(_pg_name(b"n" * 1000, b"c", b"i")) <= 63, "PostgreSQL cuts identifiers at 63 bytes"


def test_label_set_identities_are_injective():
    assert_injective(lambda name, value: label_hash({name: value}))
    assert_injective(lambda a, b, c: label_hash({"a": a, "b": b, "c": c}), arity=3)
    assert label_hash({"a": "1,b=2"}) != label_hash({"a": "1", "b": "2"})
    assert label_hash({"a": "1", "b": "2"}) == label_hash({"b": "2", "a": "1"})


def test_a_prefix_range_holds_exactly_the_keys_with_the_prefix():
    keys = [k.encode() for pair in ("a", "a\0", "a\xff", "ab", "b", "\xff") for k in (pair, pair + "x")]
    for prefix in ("a", "a\xff", "\xff"):
        lo, hi = prefix_range(prefix)
        inside = [k for k in keys if lo <= k and (hi is None or k < hi)]
        assert inside == [k for k in keys if k.startswith(prefix.encode())], prefix
