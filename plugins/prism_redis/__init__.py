"""The Redis plugin: keyvalue as Redis strings, lists, sets, sorted sets and streams as their
Redis types, through redis-py (asyncio)."""

from __future__ import annotations

import redis.exceptions

from prism_plugin.contracts.keyvalue import basic, batch, cas, scan, transactional, ttl
from prism_plugin.contracts.list import basic as list_basic
from prism_plugin.contracts.list import blocking, indexing
from prism_plugin.contracts.list import range as list_range
from prism_plugin.contracts.pubsub import basic as pubsub_basic
from prism_plugin.contracts.pubsub import wildcards as pubsub_wildcards
from prism_plugin.contracts.set import basic as set_basic
from prism_plugin.contracts.set import cardinality as set_cardinality
from prism_plugin.contracts.set import operations as set_operations
from prism_plugin.contracts.set import random as set_random
from prism_plugin.contracts.sortedset import basic as zset_basic
from prism_plugin.contracts.sortedset import lex as zset_lex
from prism_plugin.contracts.sortedset import operations as zset_operations
from prism_plugin.contracts.sortedset import range as zset_range
from prism_plugin.contracts.sortedset import rank as zset_rank
from prism_plugin.contracts.stream import basic as stream_basic
from prism_plugin.contracts.stream import consumer_groups as stream_consumer_groups
from prism_plugin.contracts.stream import partitioning as stream_partitioning
from prism_plugin.contracts.stream import replay as stream_replay
from prism_plugin.contracts.stream import retention as stream_retention
from prism_plugin.runtime import Plugin
from prism_redis.connection import RedisConnection
from prism_redis.keyvalue import RedisKeyValue
from prism_redis.lists import RedisLists
from prism_redis.pubsub import RedisPubSub
from prism_redis.sets import RedisSets
from prism_redis.sortedsets import RedisSortedSets
from prism_redis.streams import RedisStreams

VERSION = "0.2.0"


def build_plugin() -> Plugin:
    conn = RedisConnection()
    kv, lists = RedisKeyValue(conn), RedisLists(conn)
    sets, sorted_sets = RedisSets(conn), RedisSortedSets(conn)
    pubsub = RedisPubSub(conn)
    streams = RedisStreams(conn)
    return Plugin(
        name="redis",
        version=VERSION,
        connector=conn,
        servicers=[
            basic.Servicer(kv),
            scan.Servicer(kv),
            ttl.Servicer(kv),
            transactional.Servicer(transactional.OptimisticTransactions(kv)),
            batch.Servicer(kv),
            cas.Servicer(kv),
            list_basic.Servicer(lists),
            indexing.Servicer(lists),
            list_range.Servicer(lists),
            blocking.Servicer(lists),
            set_basic.Servicer(sets),
            set_operations.Servicer(sets),
            set_cardinality.Servicer(sets),
            set_random.Servicer(sets),
            zset_basic.Servicer(sorted_sets),
            zset_range.Servicer(sorted_sets),
            zset_rank.Servicer(sorted_sets),
            zset_operations.Servicer(sorted_sets),
            zset_lex.Servicer(sorted_sets),
            pubsub_basic.Servicer(pubsub),
            pubsub_wildcards.Servicer(pubsub),
            stream_basic.Servicer(streams),
            stream_replay.Servicer(streams),
            stream_retention.Servicer(streams),
            stream_partitioning.Servicer(streams),
            stream_consumer_groups.Servicer(streams),
        ],
        unavailable_errors=(redis.exceptions.ConnectionError, redis.exceptions.TimeoutError),
    )
