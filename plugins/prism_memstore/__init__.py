"""MemStore: the embedded reference backend, pure Python, data in the plugin process."""

from __future__ import annotations

from typing import Protocol

from prism_memstore.documents import MemDocuments
from prism_memstore.graph import MemGraph
from prism_memstore.keyvalue import MemKeyValue
from prism_memstore.lists import MemLists
from prism_memstore.pubsub import MemPubSub
from prism_memstore.queues import MemQueues
from prism_memstore.sets import MemSets
from prism_memstore.sortedsets import MemSortedSets
from prism_memstore.streams import MemStreams
from prism_memstore.timeseries import MemTimeSeries
from prism_plugin.contracts.document import basic as document_basic
from prism_plugin.contracts.document import indexing as document_indexing
from prism_plugin.contracts.document import query as document_query
from prism_plugin.contracts.graph import analytics as graph_analytics
from prism_plugin.contracts.graph import basic as graph_basic
from prism_plugin.contracts.graph import query as graph_query
from prism_plugin.contracts.graph import traversal as graph_traversal
from prism_plugin.contracts.keyvalue import basic, batch, cas, scan, transactional, ttl
from prism_plugin.contracts.list import basic as list_basic
from prism_plugin.contracts.list import blocking, indexing
from prism_plugin.contracts.list import range as list_range
from prism_plugin.contracts.pubsub import basic as pubsub_basic
from prism_plugin.contracts.pubsub import filtering as pubsub_filtering
from prism_plugin.contracts.pubsub import ordering as pubsub_ordering
from prism_plugin.contracts.pubsub import persistent as pubsub_persistent
from prism_plugin.contracts.pubsub import wildcards as pubsub_wildcards
from prism_plugin.contracts.queue import basic as queue_basic
from prism_plugin.contracts.queue import dead_letter, delayed, priority, visibility
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
from prism_plugin.contracts.timeseries import aggregation as ts_aggregation
from prism_plugin.contracts.timeseries import basic as ts_basic
from prism_plugin.contracts.timeseries import interpolation as ts_interpolation
from prism_plugin.contracts.timeseries import retention as ts_retention
from prism_plugin.runtime import Plugin

VERSION = "0.2.0"


class Droppable(Protocol):
    def drop(self, namespace: str) -> None:
        ...


class MemConnector:
    """Nothing to connect to; DropNamespace empties every model's data of the namespace."""

    def __init__(self, *stores: Droppable):
        self.stores = stores

    async def connect(self, settings: dict[str, str]) -> str:
        return "memstore (embedded)"

    async def drop_namespace(self, namespace: str) -> None:
        for store in self.stores:
            store.drop(namespace)

    async def close(self) -> None:
        pass


def build_plugin() -> Plugin:
    kv, lists, queues = MemKeyValue(), MemLists(), MemQueues()
    sets, sorted_sets, pubsub, streams = MemSets(), MemSortedSets(), MemPubSub(), MemStreams()
    series, documents, graphs = MemTimeSeries(), MemDocuments(), MemGraph()
    return Plugin(
        name="memstore",
        version=VERSION,
        connector=MemConnector(kv, lists, sets, sorted_sets, queues, pubsub, streams, series, documents, graphs),
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
            queue_basic.Servicer(queues),
            visibility.Servicer(queues),
            dead_letter.Servicer(queues),
            priority.Servicer(queues),
            delayed.Servicer(queues),
            pubsub_basic.Servicer(pubsub),
            pubsub_wildcards.Servicer(pubsub),
            pubsub_persistent.Servicer(pubsub),
            pubsub_filtering.Servicer(pubsub),
            pubsub_ordering.Servicer(pubsub),
            stream_basic.Servicer(streams),
            stream_replay.Servicer(streams),
            stream_retention.Servicer(streams),
            stream_partitioning.Servicer(streams),
            stream_consumer_groups.Servicer(streams),
            ts_basic.Servicer(series),
            ts_aggregation.Servicer(series),
            ts_retention.Servicer(series),
            ts_interpolation.Servicer(series),
            document_basic.Servicer(documents),
            document_query.Servicer(documents),
            document_indexing.Servicer(documents),
            graph_basic.Servicer(graphs),
            graph_traversal.Servicer(graphs),
            graph_query.Servicer(graphs),
            graph_analytics.Servicer(graphs),
        ],
    )
