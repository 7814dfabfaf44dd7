"""The NATS plugin's key-value store: one JetStream KV bucket per namespace (created on its first
write, history 1), a key being the bucket subject $KV.<bucket>.<encoded key> (names.py).

Every conditional change is one publish with Nats-Expected-Last-Subject-Sequence (the sequence
of the value the decision was made on): the server refuses it if the key changed meanwhile,
and the operation reads again. A delete is a purge of the key's subject below the sequence read,
so the key then has no message at all (no delete marker), and "absent" is simply "no message".

NATS 2.9 has no per-key TTL (a bucket's max age applies to all its keys; per-message TTLs
came with 2.11). So a key's expiry is a header of its value, Prism-Expires-At (epoch ms): a value
past it is treated as absent by every read, and removed by the next delete or conditional write.
"""

from __future__ import annotations

import time

import nats.js.errors
from nats.js.api import RawStreamMsg, StorageType, StreamConfig

from prism_nats import names
from prism_nats.connection import NatsConnection

EXPIRES = "Prism-Expires-At"
EXPECTED_LAST_SUBJECT_SEQ = "Nats-Expected-Last-Subject-Sequence"
WRONG_LAST_SEQUENCE = 10071  # JetStream's error code for a failed expected-sequence publish
BUCKET_MAX_BYTES = 64 * 1024 * 1024
MAX_VALUE_BYTES = 1024 * 1024 - 1024  # the server's max_payload (1 MiB) less room for headers


def bucket(ns: str) -> str:
    return names.kv_bucket(ns)


def stream_config(ns: str) -> StreamConfig:
    """The stream of a KV bucket, as `nats kv add` makes it."""
    b = bucket(ns)
    return StreamConfig(
        name=f"KV_{b}",
        subjects=[f"$KV.{b}.>"],
        max_msgs_per_subject=1,
        max_bytes=BUCKET_MAX_BYTES,
        max_msg_size=1024 * 1024,
        storage=StorageType.FILE,
        allow_rollup_hdrs=True,
        deny_delete=True,
        discard=nats.js.api.DiscardPolicy.NEW,
        num_replicas=1,
        allow_direct=True,
    )


def now_ms() -> int:
    return int(time.time() * 1000)


def expires_at(msg: RawStreamMsg) -> int | None:
    value = (msg.headers or {}).get(EXPIRES)
    return int(value) if value else None


def live(msg: RawStreamMsg | None) -> RawStreamMsg | None:
    """The message if it holds a value now (not past its expiry)."""
    if msg is None:
        return None
    at = expires_at(msg)
    return msg if at is None or at > now_ms() else None


class Conflict(Exception):
    """The key changed between the read and the conditional write."""


class NatsKeyValue:
    def __init__(self, conn: NatsConnection) -> None:
        self.conn = conn

    # -- one key's message ---------------------------------------------------------------

    def _stream(self, ns: str) -> str:
        return f"KV_{bucket(ns)}"

    def _subject(self, ns: str, key: str) -> str:
        return f"$KV.{bucket(ns)}.{names.encode(key)}"

    async def _read(self, ns: str, key: str) -> RawStreamMsg | None:
        """The key's message, expired or not; None if it has none."""
        return await self.conn.last_message(self._stream(ns), self._subject(ns, key))

    async def _write(self, ns: str, key: str, value: bytes, expires: int | None, after_seq: int | None) -> None:
        """Publish the key's new value; with after_seq, only if its last message is that one
        (0: none), else Conflict."""
        headers: dict[str, str] = {}
        if expires is not None:
            headers[EXPIRES] = str(expires)
        if after_seq is not None:
            headers[EXPECTED_LAST_SUBJECT_SEQ] = str(after_seq)
        await self.conn.ensure_stream(stream_config(ns))
        try:
            await self.conn.js.publish(self._subject(ns, key), value, headers=headers or None)
        except nats.js.errors.NoStreamResponseError:
            # The bucket was deleted behind the connection's back (a DropNamespace elsewhere).
            self.conn.forget_stream(self._stream(ns))
            await self.conn.ensure_stream(stream_config(ns))
            await self.conn.js.publish(self._subject(ns, key), value, headers=headers or None)
        except nats.js.errors.APIError as e:
            if e.err_code == WRONG_LAST_SEQUENCE:
                raise Conflict from e
            raise

    async def _remove(self, ns: str, key: str, msg: RawStreamMsg) -> bool:
        """Purge the key if its last message is still `msg`; whether it was."""
        assert msg.seq is not None
        return await self.conn.purge(self._stream(ns), self._subject(ns, key), below_seq=msg.seq + 1) > 0

    # -- keyvalue_basic --------------------------------------------------------------------

    async def set(self, ns: str, key: str, value: bytes) -> None:
        await self._write(ns, key, value, None, None)

    async def get(self, ns: str, key: str) -> bytes | None:
        msg = live(await self._read(ns, key))
        return None if msg is None else (msg.data or b"")

    async def delete(self, ns: str, key: str) -> bool:
        while True:
            msg = await self._read(ns, key)
            if msg is None:
                return False
            if await self._remove(ns, key, msg):
                return live(msg) is not None

    async def exists(self, ns: str, key: str) -> bool:
        return live(await self._read(ns, key)) is not None

    # -- keyvalue_ttl ----------------------------------------------------------------------

    async def set_with_ttl(self, ns: str, key: str, value: bytes, ttl_ms: int) -> None:
        await self._write(ns, key, value, now_ms() + ttl_ms, None)

    async def _rewrite_expiry(self, ns: str, key: str, expiry: int | None, only_if_expiring: bool) -> bool:
        while True:
            msg = live(await self._read(ns, key))
            if msg is None or (only_if_expiring and expires_at(msg) is None):
                return False
            assert msg.seq is not None
            try:
                await self._write(ns, key, msg.data or b"", expiry, msg.seq)
                return True
            except Conflict:
                continue

    async def expire(self, ns: str, key: str, ttl_ms: int) -> bool:
        return await self._rewrite_expiry(ns, key, now_ms() + ttl_ms, False)

    async def remaining_ttl(self, ns: str, key: str) -> int | None:
        msg = live(await self._read(ns, key))
        if msg is None:
            return None
        at = expires_at(msg)
        return -1 if at is None else max(1, at - now_ms())

    async def persist(self, ns: str, key: str) -> bool:
        return await self._rewrite_expiry(ns, key, None, True)

    # -- keyvalue_cas ----------------------------------------------------------------------

    async def compare_and_swap(self, ns: str, key: str, expected: bytes | None, new: bytes) -> tuple[bool, bytes | None]:
        while True:
            msg = await self._read(ns, key)
            current = live(msg)
            value = None if current is None else (current.data or b"")
            if value != expected:
                return False, value
            try:
                await self._write(ns, key, new, None, 0 if msg is None else msg.seq)
                return True, new
            except Conflict:
                continue

    async def compare_and_delete(self, ns: str, key: str, expected: bytes) -> tuple[bool, bytes | None]:
        while True:
            msg = await self._read(ns, key)
            current = live(msg)
            value = None if current is None else (current.data or b"")
            if value != expected:
                return False, value
            assert msg is not None
            if await self._remove(ns, key, msg):
                return True, None
