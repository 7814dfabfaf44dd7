"""How namespaced names map to Redis keys, and how to match them literally with SCAN.

A key is b"prism:<byte length of ns>:<ns>:<model>:<name>": the length makes the mapping
injective whatever characters the namespace holds (a namespace "a:kv" cannot collide with "a").
"""

from __future__ import annotations

GLOB_SPECIALS = frozenset(b"\\*?[]")


def namespace_prefix(ns: str) -> bytes:
    raw = ns.encode()
    return b"prism:%d:%s:" % (len(raw), raw)


def model_prefix(ns: str, model: str) -> bytes:
    return namespace_prefix(ns) + model.encode() + b":"


def key(ns: str, model: str, name: str) -> bytes:
    return model_prefix(ns, model) + name.encode()


def glob_escape(literal: bytes) -> bytes:
    """SCAN MATCH treats * ? [ ] \\ as glob syntax; escape them to match literally."""
    return b"".join(b"\\" + bytes([c]) if c in GLOB_SPECIALS else bytes([c]) for c in literal)


def match_prefix(prefix: bytes) -> bytes:
    return glob_escape(prefix) + b"*"
