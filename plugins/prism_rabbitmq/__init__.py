"""The RabbitMQ plugin: queues as classic queues and pub/sub as topic and headers exchanges,
through aio-pika (AMQP 0-9-1)."""

from __future__ import annotations

from prism_plugin.contracts.pubsub import basic as pubsub_basic
from prism_plugin.contracts.pubsub import filtering, ordering, persistent, wildcards
from prism_plugin.contracts.queue import basic as queue_basic
from prism_plugin.contracts.queue import dead_letter, delayed, priority, visibility
from prism_plugin.conventions import Limits
from prism_plugin.runtime import Plugin
from prism_rabbitmq.connection import UNAVAILABLE_ERRORS, RabbitConnection
from prism_rabbitmq.durable import RabbitDurable
from prism_rabbitmq.pubsub import RabbitPubSub
from prism_rabbitmq.queues import RabbitQueues

VERSION = "0.1.0"


def build_plugin() -> Plugin:
    conn = RabbitConnection()
    queues = RabbitQueues(conn)
    pubsub = RabbitPubSub(conn)
    durable = RabbitDurable(conn, pubsub)
    return Plugin(
        name="rabbitmq",
        version=VERSION,
        connector=conn,
        servicers=[
            queue_basic.Servicer(queues),
            visibility.Servicer(queues),
            dead_letter.Servicer(queues),
            priority.Servicer(queues),
            delayed.Servicer(queues),
            pubsub_basic.Servicer(pubsub),
            wildcards.Servicer(pubsub),
            filtering.Servicer(pubsub),
            ordering.Servicer(pubsub),
            persistent.Servicer(durable),
        ],
        unavailable_errors=UNAVAILABLE_ERRORS,
        # as registry/backends/rabbitmq.yaml declares: headers must fit one AMQP frame
        limits=Limits(max_attributes_bytes=16384),
    )
