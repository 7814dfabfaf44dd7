"""Small pure pieces: the plugin handshake line and Redis key mapping."""

from __future__ import annotations

import pytest

from prism_accept.harness import handshake
from prism_plugin import handshake as plugin_handshake
from prism_redis import keys


def test_handshake_round_trip():
    assert handshake.parse_line(plugin_handshake.format_line("127.0.0.1:4242") + "\n") == "127.0.0.1:4242"


@pytest.mark.parametrize("line", ["", "hello", "PRISM_PLUGIN|2|tcp|127.0.0.1:1|grpc", "PRISM_PLUGIN|1|unix|/x|grpc"])
def test_handshake_rejects_other_lines(line):
    with pytest.raises(ValueError):
        handshake.parse_line(line)


def test_redis_keys_are_injective_over_namespace_and_name():
    assert keys.key("a", "kv", "b:c") != keys.key("a:b", "kv", "c")
    assert keys.key("a", "kv", "x") != keys.key("a", "list", "x")


def test_a_prefix_is_a_lexicographic_range_of_the_index():
    assert keys.lex_range(b"p[") == (b"[p[", b"(p\\")
    assert keys.lex_range(b"a*") == (b"[a*", b"(a+")
    assert keys.lex_range(b"\xff") == (b"[\xff", b"+")
    assert keys.index("a") != keys.key("a", "idx", "") and not keys.key("a", "kv", "x").startswith(keys.index("a"))
