"""The Redis plugin's keys are injective over the look-alike tuples of the #conventions case,
for every model, and no data key is a namespace's index."""

from __future__ import annotations

from prism_accept.runtime.isolation import assert_injective
from prism_redis import keys, keyvalue, lists, pubsub, sets, sortedsets, streams

MODELS = [keyvalue.KV, lists.LIST, pubsub.MODEL, sets.SET, sortedsets.ZSET, streams.STREAM]


def test_keys_are_injective():
    for model in MODELS:
        assert_injective(lambda ns, name: keys.key(ns, model, name))
    keyed = {keys.key("ns", model, "k"): model for model in MODELS}
    assert len(keyed) == len(MODELS)
    assert not [m for m in MODELS if ":" in m], "a model name ends at the first ':' after the namespace"


def test_an_index_is_never_a_data_key():
    assert keys.index("ns") not in {keys.key("ns", model, "idx") for model in MODELS}
    assert not keys.key("ns:1:x", "kv", "k").startswith(keys.namespace_prefix("ns"))
