"""The NATS plugin: pub/sub on core NATS subjects, and (JetStream) KV buckets, streams and
work-queue streams, through nats-py (asyncio)."""

from __future__ import annotations

import nats.errors
import nats.js.errors

from prism_nats import names
from prism_nats.connection import NatsConnection
from prism_nats.keyvalue import MAX_VALUE_BYTES, NatsKeyValue
from prism_nats.pubsub import NatsPubSub
from prism_nats.queues import NatsQueues
from prism_nats.streams import MAX_HEADERS_BYTES, NatsStreams
from prism_plugin.contracts.keyvalue import basic, cas, ttl
from prism_plugin.contracts.pubsub import basic as pubsub_basic
from prism_plugin.contracts.pubsub import persistent as pubsub_persistent
from prism_plugin.contracts.pubsub import wildcards as pubsub_wildcards
from prism_plugin.contracts.queue import basic as queue_basic
from prism_plugin.contracts.queue import dead_letter as queue_dead_letter
from prism_plugin.contracts.queue import visibility as queue_visibility
from prism_plugin.contracts.stream import basic as stream_basic
from prism_plugin.contracts.stream import consumer_groups as stream_consumer_groups
from prism_plugin.contracts.stream import partitioning as stream_partitioning
from prism_plugin.contracts.stream import replay as stream_replay
from prism_plugin.contracts.stream import retention as stream_retention
from prism_plugin.conventions import Limits
from prism_plugin.runtime import Plugin

VERSION = "0.1.0"


def build_plugin() -> Plugin:
    conn = NatsConnection()
    kv = NatsKeyValue(conn)
    pubsub = NatsPubSub(conn)
    streams = NatsStreams(conn)
    queues = NatsQueues(conn)
    return Plugin(
        name="nats",
        version=VERSION,
        connector=conn,
        servicers=[
            basic.Servicer(kv),
            ttl.Servicer(kv),
            cas.Servicer(kv),
            pubsub_basic.Servicer(pubsub),
            pubsub_wildcards.Servicer(pubsub),
            pubsub_persistent.Servicer(pubsub),
            stream_basic.Servicer(streams),
            stream_replay.Servicer(streams),
            stream_retention.Servicer(streams),
            stream_consumer_groups.Servicer(streams),
            stream_partitioning.Servicer(streams),
            queue_basic.Servicer(queues),
            queue_visibility.Servicer(queues),
            queue_dead_letter.Servicer(queues),
        ],
        limits=Limits(max_value_bytes=MAX_VALUE_BYTES, max_name_bytes=names.MAX_NAME_BYTES, max_attributes_bytes=MAX_HEADERS_BYTES),
        # A JetStream server error (500) or unavailability (503) is the backend failing, not the request.
        unavailable_errors=(
            nats.errors.ConnectionClosedError,
            nats.errors.NoServersError,
            nats.errors.TimeoutError,
            nats.errors.NoRespondersError,
            nats.js.errors.ServerError,
            nats.js.errors.ServiceUnavailableError,
        ),
    )
