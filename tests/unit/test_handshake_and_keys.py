"""Small pure pieces: the plugin handshake line and Redis key mapping."""

from __future__ import annotations

import pytest

from prism_accept.plugins import handshake
from prism_accept.plugins.redis import keys


def test_handshake_round_trip():
    assert handshake.parse_line(handshake.format_line("127.0.0.1:4242") + "\n") == "127.0.0.1:4242"


@pytest.mark.parametrize("line", ["", "hello", "PRISM_PLUGIN|2|tcp|127.0.0.1:1|grpc", "PRISM_PLUGIN|1|unix|/x|grpc"])
def test_handshake_rejects_other_lines(line):
    with pytest.raises(ValueError):
        handshake.parse_line(line)


def test_redis_keys_are_injective_over_namespace_and_name():
    assert keys.key("a", "kv", "b:c") != keys.key("a:b", "kv", "c")
    assert keys.key("a", "kv", "x") != keys.key("a", "list", "x")


def test_glob_escape_makes_scan_match_literal():
    assert keys.glob_escape(b"a*b?[c]\\") == b"a\\*b\\?\\[c\\]\\\\"
    assert keys.match_prefix(b"p[") == b"p\\[*"
