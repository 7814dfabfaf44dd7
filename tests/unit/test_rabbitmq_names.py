"""The RabbitMQ plugin's broker names (queues, exchanges, a durable name's queue, a delay
queue), routing keys and message-id tags are injective over the look-alike tuples of the
#conventions case."""

from __future__ import annotations

from prism_accept.runtime.isolation import assert_injective
from prism_rabbitmq import names
from prism_rabbitmq.durable import topic_tag

KINDS = [names.QUEUE, names.DELAY, names.INDEX, names.TOPICS, names.HEADERS, names.PERSISTENT, names.DURABLE, names.LAST]


def test_broker_names_are_injective():
    for kind in KINDS:
        assert_injective(lambda ns, name: names.broker_name(kind, ns, name))
        assert_injective(lambda ns, name: names.broker_name(kind, ns, name), longest=1000)  # the hashed form
    made = {names.broker_name(kind, "ns", "x"): kind for kind in KINDS}
    assert len(made) == len(KINDS)
    for ns, name in [("ns", "x" * 300), ("é" * 200, "c")]:
        assert len(names.broker_name(names.QUEUE, ns, name).encode()) <= names.MAX_AMQP_NAME_BYTES


def test_a_durable_names_queue_is_injective():
    assert_injective(lambda ns, topic, durable: names.broker_name(names.DURABLE, ns, names.durable_queue(topic, durable)), arity=3)


def test_routing_keys_and_tags_are_injective():
    assert_injective(lambda ns, topic: (ns, names.routing_key(topic)))
    assert_injective(topic_tag)
