"""The NATS plugin's queues: one JetStream work-queue stream per (namespace, queue), consumed by
one durable pull consumer, "work" (a work-queue stream admits one consumer per subject); a
message leaves the stream when it is acked.

- Dequeue pulls one message and acks it. A pull is a no-wait request that expires after 50 ms:
  NATS 2.9 answers "no messages" at once only when the consumer has nothing left to deliver.
- DequeueWithTimeout pulls one and NAKs it with a delay of the visibility timeout: JetStream keeps
  it pending and delivers it again after the delay; ExtendVisibility NAKs it again with the new
  delay, Release NAKs it without one (redeliveries go before newer messages, so it keeps its
  place), Ack acks it. The consumer's AckWait is longer than any timeout, so only these NAKs make
  a message visible again. A receipt is "<stream sequence>.<delivery number>"; it is current while
  it is the message's latest delivery through this plugin, its timeout has not passed, and it was
  neither acked nor released. The delivery number is JetStream's, or one more than the plugin's
  last one when that is higher (NATS 2.9 may count a delivery to an expired pull as a first one).
- A message's id is a header (Prism-Id), so it survives a move to the dead-letter queue; so does
  the number of deliveries it had before (Prism-Deliveries), which counts in its delivery_count.
- Dead letters: ConfigureDeadLetter sets the consumer's MaxDeliver, so JetStream stops delivering
  a message after max_deliveries; a message whose last delivery timed out or was released is then
  moved by the plugin (published to the dead-letter queue, deleted from the source) at the next
  Dequeue, Peek or GetDeadLetterQueue of the source queue (and one delivered beyond the maximum
  is moved instead of delivered). The target, the maximum and the count moved are kept in the
  source stream's description. The deliveries are tracked in the plugin's memory: a message
  whose last delivery was made by a plugin that stopped is not moved.
- Peek reads the first message (STREAM.MSG.GET next_by_subj) that is not hidden by a delivery.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

import nats.errors
import nats.js.errors
from nats.aio.msg import Msg
from nats.js.api import AckPolicy, ConsumerConfig, DiscardPolicy, RetentionPolicy, StorageType, StreamConfig

from prism_nats import names
from prism_nats.connection import REQUEST_TIMEOUT_S, NatsConnection
from prism_plugin.contracts.queue.basic import MAX_DURATION_MS, Delivered
from prism_plugin.status import resource_exhausted, shown, unavailable

KIND = "q"
WORKER = "work"
ID_HEADER = "Prism-Id"
DELIVERIES_HEADER = "Prism-Deliveries"
QUEUE_MAX_BYTES = 64 * 1024 * 1024
ACK_WAIT_S = MAX_DURATION_MS / 1000 * 2  # longer than any visibility timeout
STREAM_FULL = 10047
# The server makes a message visible again this much after the visibility timeout the plugin
# tracks, so that an Ack the plugin accepts just before the timeout reaches the server before it
# redelivers the message (a receipt whose timeout passed is no longer current).
SERVER_MARGIN_MS = 25
PEEK_SCAN = 1000
# A no-wait pull of NATS 2.9 answers "no messages" at once only when the consumer has nothing
# to deliver; when it has (messages other requests are about to take), it waits for one, so it
# must expire. Its expiry bounds how long a Dequeue can wait, and stays below the declared timing
# tolerance (a message that becomes visible meanwhile is delivered). The answer is awaited
# PULL_WAIT_S at most (an expired request is not always answered).
PULL_EXPIRES_S = 0.05
PULL_WAIT_S = 0.25  # messages Peek looks at past hidden ones before it gives up


@dataclass
class _Delivery:
    msg: Msg
    seq: int
    number: int  # JetStream's delivery count in this queue
    before: int  # deliveries in queues it was moved from
    visible_at: float  # time.monotonic(); after it the message may be delivered again
    settled: bool = False  # acked or released

    @property
    def receipt(self) -> str:
        return f"{self.seq}.{self.number}"


def header(msg: Any, name: str, default: str = "") -> str:
    return (getattr(msg, "headers", None) or {}).get(name, default)


class NatsQueues:
    def __init__(self, conn: NatsConnection) -> None:
        self.conn = conn
        self._deliveries: dict[tuple[str, str], dict[int, _Delivery]] = {}
        self._ready: set[str] = set()  # queue streams whose consumer this plugin made or saw
        self._watchers: set[asyncio.Future[None]] = set()  # inboxes of pulls answered late
        self._policies: dict[tuple[str, str], dict[str, Any] | None] = {}  # dead-letter policies read
        conn.on_drop(self.forget)

    def forget(self, ns: str) -> None:
        self._deliveries = {k: v for k, v in self._deliveries.items() if k[0] != ns}
        self._policies = {k: v for k, v in self._policies.items() if k[0] != ns}
        prefix = names.resource_prefix(KIND, ns)
        self._ready = {name for name in self._ready if not name.startswith(prefix)}

    # -- the work-queue stream ---------------------------------------------------------------

    @staticmethod
    def name(ns: str, queue: str) -> str:
        return names.resource(KIND, ns, queue)

    @staticmethod
    def subject(ns: str, queue: str) -> str:
        return f"{names.subject_prefix(KIND, ns)}.{names.encode(queue)}"

    async def _ensure(self, ns: str, queue: str) -> str:
        name = self.name(ns, queue)
        if name in self._ready:
            return name
        await self.conn.ensure_stream(
            StreamConfig(
                name=name,
                subjects=[self.subject(ns, queue)],
                retention=RetentionPolicy.WORK_QUEUE,
                storage=StorageType.FILE,
                max_bytes=QUEUE_MAX_BYTES,
                discard=DiscardPolicy.NEW,
                num_replicas=1,
            )
        )
        try:
            await self.conn.js.consumer_info(name, WORKER)
        except nats.js.errors.NotFoundError:
            config = ConsumerConfig(
                durable_name=WORKER,
                ack_policy=AckPolicy.EXPLICIT,
                ack_wait=ACK_WAIT_S,
                max_deliver=-1,
                max_ack_pending=-1,
                filter_subject=self.subject(ns, queue),
                num_replicas=1,
            )
            await self.conn.js.add_consumer(name, config)
        self._ready.add(name)
        return name

    async def _exists(self, ns: str, queue: str) -> bool:
        name = self.name(ns, queue)
        if name in self._ready:
            return True
        try:
            await self.conn.js.consumer_info(name, WORKER)
        except nats.js.errors.NotFoundError:
            return False
        self._ready.add(name)
        return True

    async def _publish(self, ns: str, queue: str, payload: bytes, headers: dict[str, str]) -> None:
        await self._ensure(ns, queue)
        try:
            await self.conn.js.publish(self.subject(ns, queue), payload, headers=headers)
        except nats.js.errors.APIError as e:
            if e.err_code == STREAM_FULL:
                raise resource_exhausted(f"queue {shown(queue)} is full ({QUEUE_MAX_BYTES} bytes)") from e
            raise

    async def _pull(self, name: str) -> Msg | None:
        """The next message for the work consumer, or None when there is none.

        The request expires after PULL_EXPIRES_S (see there); NATS 2.9 does not always answer an
        expired request, so the plugin waits PULL_WAIT_S for the answer, then calls the queue
        empty and hands the inbox to a watcher that gives back (NAKs) a message arriving late."""
        nc = self.conn.nc
        inbox = nc.new_inbox()
        sub = await nc.subscribe(inbox, max_msgs=1)
        request = json.dumps({"batch": 1, "no_wait": True, "expires": int(PULL_EXPIRES_S * 1e9)}).encode()
        try:
            await nc.publish(f"$JS.API.CONSUMER.MSG.NEXT.{name}.{WORKER}", request, reply=inbox)
            msg = await sub.next_msg(timeout=PULL_WAIT_S)
        except nats.errors.TimeoutError:
            watcher = asyncio.ensure_future(self._give_back_late(sub))
            self._watchers.add(watcher)
            watcher.add_done_callback(self._watchers.discard)
            return None
        except BaseException:
            await _unsubscribe(sub)
            raise
        await _unsubscribe(sub)
        status = header(msg, "Status")
        if status in ("404", "408", "409"):
            return None
        if status:
            raise unavailable(f"JetStream answered a pull of {name} with status {status}")
        return msg

    async def _give_back_late(self, sub: Any) -> None:
        try:
            msg = await sub.next_msg(timeout=REQUEST_TIMEOUT_S)
            if msg.reply and not header(msg, "Status"):
                await self.conn.nc.publish(msg.reply, b"-NAK")
        except (nats.errors.Error, asyncio.TimeoutError):
            pass
        finally:
            await _unsubscribe(sub)

    async def _settle(self, d: _Delivery, body: bytes) -> None:
        """ACK or NAK a delivery, confirmed by the server."""
        assert d.msg.reply
        await self.conn.nc.request(d.msg.reply, body, timeout=REQUEST_TIMEOUT_S)

    @staticmethod
    def _nak(delay_ms: int) -> bytes:
        if not delay_ms:
            return b"-NAK"
        return b"-NAK " + json.dumps({"delay": (delay_ms + SERVER_MARGIN_MS) * 1_000_000}).encode()

    # -- queue_basic / queue_visibility --------------------------------------------------------

    async def enqueue(self, ns, queue, payload, priority, delay_ms) -> str:
        message_id = uuid.uuid4().hex
        await self._publish(ns, queue, payload, {ID_HEADER: message_id})
        return message_id

    async def dequeue(self, ns, queue, visibility_ms) -> Delivered | None:
        if not await self._exists(ns, queue):
            return None
        name = self.name(ns, queue)
        await self._move_due(ns, queue)
        deliveries = self._deliveries.setdefault((ns, queue), {})
        while True:
            msg = await self._pull(name)
            if msg is None:
                return None
            meta = msg.metadata
            seq, previous = meta.sequence.stream, deliveries.get(meta.sequence.stream)
            # JetStream's count, unless the plugin counted more: NATS 2.9 may count a delivery
            # that went to an expired pull request as a first one again.
            number = max(meta.num_delivered, previous.number + 1 if previous is not None else 1)
            d = _Delivery(msg, seq, number, int(header(msg, DELIVERIES_HEADER, "0")), 0.0)
            policy = await self._policy(ns, queue) if number > 1 else None
            if policy is not None and number > int(policy["max"]):
                await self._move(ns, queue, policy, [d])  # delivered beyond max_deliveries: a dead letter
                continue
            break
        if visibility_ms is None:
            await self._settle(d, b"+ACK")
            deliveries.pop(d.seq, None)
            return Delivered(header(msg, ID_HEADER), msg.data, d.before + d.number)
        d.visible_at = time.monotonic() + visibility_ms / 1000
        deliveries[d.seq] = d
        await self._settle(d, self._nak(visibility_ms))
        return Delivered(header(msg, ID_HEADER), msg.data, d.before + d.number, receipt=d.receipt)

    def _current(self, ns: str, queue: str, receipt: str) -> _Delivery | None:
        seq, _, _ = receipt.partition(".")
        d = self._deliveries.get((ns, queue), {}).get(int(seq)) if seq.isdigit() else None
        if d is None or d.receipt != receipt or d.settled or d.visible_at <= time.monotonic():
            return None
        return d

    async def extend(self, ns, queue, receipt, visibility_ms) -> bool:
        d = self._current(ns, queue, receipt)
        if d is None:
            return False
        d.visible_at = time.monotonic() + visibility_ms / 1000
        await self._settle(d, self._nak(visibility_ms))
        return True

    async def release(self, ns, queue, receipt) -> bool:
        d = self._current(ns, queue, receipt)
        if d is None:
            return False
        d.settled, d.visible_at = True, time.monotonic()
        await self._settle(d, self._nak(0))
        return True

    async def ack(self, ns, queue, receipt) -> bool:
        d = self._current(ns, queue, receipt)
        if d is None:
            return False
        d.settled = True
        await self._settle(d, b"+ACK")
        self._deliveries.get((ns, queue), {}).pop(d.seq, None)
        return True

    async def peek(self, ns, queue) -> Delivered | None:
        if not await self._exists(ns, queue):
            return None
        await self._move_due(ns, queue)
        name, subject = self.name(ns, queue), self.subject(ns, queue)
        deliveries = self._deliveries.get((ns, queue), {})
        seq, now = 1, time.monotonic()
        for _ in range(PEEK_SCAN):
            try:
                answer = await self.conn.api(f"STREAM.MSG.GET.{name}", {"seq": seq, "next_by_subj": subject})
            except nats.js.errors.NotFoundError:
                return None
            raw = answer["message"]
            seq = int(raw["seq"])
            d = deliveries.get(seq)
            if d is None or d.visible_at <= now:
                headers = _raw_headers(raw)
                number = d.number if d is not None else 0
                return Delivered(headers.get(ID_HEADER, ""), _raw_data(raw), int(headers.get(DELIVERIES_HEADER, "0")) + number)
            seq += 1
        return None

    # -- queue_dead_letter -----------------------------------------------------------------

    async def _policy(self, ns: str, queue: str) -> dict[str, Any] | None:
        """The queue's dead-letter policy, read from its stream once (Dequeue asks often)."""
        if (ns, queue) in self._policies:
            return self._policies[(ns, queue)]
        try:
            info = await self.conn.js.stream_info(self.name(ns, queue))
        except nats.js.errors.NotFoundError:
            return None
        policy = json.loads(info.config.description) if info.config.description else None
        self._policies[(ns, queue)] = policy
        return policy

    async def configure_dead_letter(self, ns, queue, dead_letter_queue, max_deliveries) -> None:
        name = await self._ensure(ns, queue)
        info = await self.conn.js.stream_info(name)
        old = json.loads(info.config.description) if info.config.description else {}
        config = info.config
        policy = {"dlq": dead_letter_queue, "max": max_deliveries, "moved": old.get("moved", 0)}
        config.description = json.dumps(policy)
        await self.conn.js.update_stream(config)
        self._policies[(ns, queue)] = policy
        consumer = (await self.conn.js.consumer_info(name, WORKER)).config
        consumer.max_deliver = max_deliveries
        await self.conn.js.add_consumer(name, consumer)

    async def dead_letter(self, ns, queue) -> tuple[str, int, int] | None:
        await self._move_due(ns, queue)
        policy = await self._policy(ns, queue)
        if policy is None:
            return None
        return policy["dlq"], int(policy["max"]), int(policy.get("moved", 0))

    async def _move_due(self, ns: str, queue: str) -> None:
        """Move to the dead-letter queue the messages that had their last delivery."""
        deliveries = self._deliveries.get((ns, queue))
        if not deliveries:
            return
        now = time.monotonic()
        candidates = [d for d in deliveries.values() if d.visible_at <= now]
        if not candidates:
            return
        policy = await self._policy(ns, queue)
        if policy is None:
            return
        due = [d for d in candidates if d.number >= int(policy["max"])]
        if due:
            await self._move(ns, queue, policy, due)

    async def _move(self, ns: str, queue: str, policy: dict[str, Any], due: list[_Delivery]) -> None:
        """Publish the messages to the dead-letter queue, then delete them from the source."""
        deliveries = self._deliveries.get((ns, queue), {})
        for d in sorted(due, key=lambda d: d.seq):
            await self._publish(
                ns,
                policy["dlq"],
                d.msg.data,
                {ID_HEADER: header(d.msg, ID_HEADER), DELIVERIES_HEADER: str(d.before + min(d.number, int(policy["max"])))},
            )
            await self.conn.api(f"STREAM.MSG.DELETE.{self.name(ns, queue)}", {"seq": d.seq})
            deliveries.pop(d.seq, None)
        info = await self.conn.js.stream_info(self.name(ns, queue))
        config = info.config
        policy["moved"] = int(policy.get("moved", 0)) + len(due)
        config.description = json.dumps(policy)
        await self.conn.js.update_stream(config)


def _raw_headers(raw: dict[str, Any]) -> dict[str, str]:
    """Headers of a STREAM.MSG.GET answer (base64 of 'NATS/1.0\\r\\nName: value\\r\\n...')."""
    if not raw.get("hdrs"):
        return {}
    lines = base64.b64decode(raw["hdrs"]).decode("utf-8", "replace").split("\r\n")[1:]
    pairs = (line.split(":", 1) for line in lines if ":" in line)
    return {k.strip(): v.strip() for k, v in pairs}


def _raw_data(raw: dict[str, Any]) -> bytes:
    return base64.b64decode(raw.get("data") or "")


async def _unsubscribe(sub: Any) -> None:
    try:
        await sub.unsubscribe()
    except nats.errors.Error:
        pass
