"""The Kafka plugin: streams and pub/sub topics as Kafka topics, durable subscriptions and stream
consumer groups as Kafka consumer groups, through confluent-kafka (librdkafka). Works with any Kafka-protocol cluster
given its bootstrap servers (instance URL kafka://HOST:PORT[,HOST:PORT...])."""

from __future__ import annotations

from confluent_kafka import KafkaException

from prism_kafka.connection import KafkaConnection
from prism_kafka.groups import KafkaGroups
from prism_kafka.pubsub import KafkaPubSub
from prism_kafka.streams import KafkaStreams
from prism_plugin.contracts.pubsub import basic as pubsub_basic
from prism_plugin.contracts.pubsub import ordering as pubsub_ordering
from prism_plugin.contracts.pubsub import persistent as pubsub_persistent
from prism_plugin.contracts.stream import basic as stream_basic
from prism_plugin.contracts.stream import consumer_groups as stream_consumer_groups
from prism_plugin.contracts.stream import partitioning as stream_partitioning
from prism_plugin.contracts.stream import replay as stream_replay
from prism_plugin.contracts.stream import retention as stream_retention
from prism_plugin.conventions import Limits
from prism_plugin.runtime import Plugin

VERSION = "0.1.0"
MAX_VALUE_BYTES = 512 * 1024  # below librdkafka's default message.max.bytes (1 MB) with headers


def build_plugin() -> Plugin:
    conn = KafkaConnection()
    streams, pubsub, groups = KafkaStreams(conn), KafkaPubSub(conn), KafkaGroups(conn)
    conn.on_drop.append(groups.forget)
    return Plugin(
        name="kafka",
        version=VERSION,
        connector=conn,
        servicers=[
            stream_basic.Servicer(streams),
            stream_replay.Servicer(streams),
            stream_retention.Servicer(streams),
            stream_partitioning.Servicer(streams),
            stream_consumer_groups.Servicer(groups),
            pubsub_basic.Servicer(pubsub),
            pubsub_persistent.Servicer(pubsub),
            pubsub_ordering.Servicer(pubsub),
        ],
        limits=Limits(max_value_bytes=MAX_VALUE_BYTES),
        unavailable_errors=(KafkaException,),
    )
