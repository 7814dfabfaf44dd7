"""How namespaced names map to Redis keys, and the per-namespace index.

A key is b"prism:<byte length of ns>:<ns>:<model>:<name>": the length makes the mapping
injective whatever characters the namespace holds (a namespace "a:kv" cannot collide with "a").
Every key the plugin creates is also a member of its namespace's index, the sorted set
b"prism:<len>:<ns>:idx" (all scores 0, so ordered by bytes): a literal prefix of any model is a
lexicographic range of it, so Scan, Count and DropNamespace cost grows with the namespace, never
with the database. The index never equals a data key (data keys have "<model>:" after the prefix).
"""

from __future__ import annotations


def namespace_prefix(ns: str) -> bytes:
    raw = ns.encode()
    return b"prism:%d:%s:" % (len(raw), raw)


def model_prefix(ns: str, model: str) -> bytes:
    return namespace_prefix(ns) + model.encode() + b":"


def key(ns: str, model: str, name: str) -> bytes:
    return model_prefix(ns, model) + name.encode()


def index(ns: str) -> bytes:
    return namespace_prefix(ns) + b"idx"


def lex_range(prefix: bytes) -> tuple[bytes, bytes]:
    """ZRANGEBYLEX bounds of every member starting with `prefix` (non-empty)."""
    last = prefix.rstrip(b"\xff")
    if not last:
        return b"[" + prefix, b"+"
    return b"[" + prefix, b"(" + last[:-1] + bytes([last[-1] + 1])
