"""The MQTT plugin: pub/sub on an MQTT 5 broker (Mosquitto 2 here) through aiomqtt."""

from __future__ import annotations

import aiomqtt

from prism_mqtt.connection import MqttConnection
from prism_mqtt.pubsub import MqttPubSub
from prism_plugin.contracts.pubsub import basic as pubsub_basic
from prism_plugin.contracts.pubsub import ordering as pubsub_ordering
from prism_plugin.contracts.pubsub import persistent as pubsub_persistent
from prism_plugin.contracts.pubsub import wildcards as pubsub_wildcards
from prism_plugin.runtime import Plugin

VERSION = "0.1.0"


def build_plugin() -> Plugin:
    conn = MqttConnection()
    pubsub = MqttPubSub(conn)
    return Plugin(
        name="mqtt",
        version=VERSION,
        connector=conn,
        servicers=[
            pubsub_basic.Servicer(pubsub),
            pubsub_wildcards.Servicer(pubsub),
            pubsub_persistent.Servicer(pubsub),
            pubsub_ordering.Servicer(pubsub),
        ],
        unavailable_errors=(aiomqtt.MqttError,),
    )
