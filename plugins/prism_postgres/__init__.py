"""The PostgreSQL plugin, through psycopg 3 (asyncio) and its pool: each data model is plain
tables in the schema "prism" (no extension), every row namespaced by a column."""

from __future__ import annotations

import psycopg
import psycopg_pool

from prism_plugin.contracts.document import basic as document_basic
from prism_plugin.contracts.document import indexing as document_indexing
from prism_plugin.contracts.document import query as document_query
from prism_plugin.contracts.graph import analytics as graph_analytics
from prism_plugin.contracts.graph import basic as graph_basic
from prism_plugin.contracts.graph import query as graph_query
from prism_plugin.contracts.graph import traversal as graph_traversal
from prism_plugin.contracts.keyvalue import basic as kv_basic
from prism_plugin.contracts.keyvalue import batch as kv_batch
from prism_plugin.contracts.keyvalue import cas as kv_cas
from prism_plugin.contracts.keyvalue import scan as kv_scan
from prism_plugin.contracts.keyvalue import transactional as kv_transactional
from prism_plugin.contracts.keyvalue import ttl as kv_ttl
from prism_plugin.contracts.list import basic as list_basic
from prism_plugin.contracts.list import blocking as list_blocking
from prism_plugin.contracts.list import indexing as list_indexing
from prism_plugin.contracts.list import range as list_range
from prism_plugin.contracts.pubsub import basic as pubsub_basic
from prism_plugin.contracts.pubsub import filtering as pubsub_filtering
from prism_plugin.contracts.queue import basic, dead_letter, delayed, priority, visibility
from prism_plugin.contracts.set import basic as set_basic
from prism_plugin.contracts.set import cardinality as set_cardinality
from prism_plugin.contracts.set import operations as set_operations
from prism_plugin.contracts.set import random as set_random
from prism_plugin.contracts.sortedset import basic as zset_basic
from prism_plugin.contracts.sortedset import lex as zset_lex
from prism_plugin.contracts.sortedset import operations as zset_operations
from prism_plugin.contracts.sortedset import range as zset_range
from prism_plugin.contracts.sortedset import rank as zset_rank
from prism_plugin.contracts.timeseries import aggregation as ts_aggregation
from prism_plugin.contracts.timeseries import basic as ts_basic
from prism_plugin.contracts.timeseries import interpolation as ts_interpolation
from prism_plugin.contracts.timeseries import retention as ts_retention
from prism_plugin.runtime import Plugin
from prism_postgres.connection import PostgresConnection
from prism_postgres.documents import TABLES as DOCUMENT_TABLES
from prism_postgres.documents import PostgresDocuments
from prism_postgres.graph import TABLES as GRAPH_TABLES
from prism_postgres.graph import PostgresGraph
from prism_postgres.keyvalue import TABLES as KV_TABLES
from prism_postgres.keyvalue import PostgresKeyValue
from prism_postgres.lists import TABLES as LIST_TABLES
from prism_postgres.lists import PostgresLists
from prism_postgres.pubsub import TABLES as PUBSUB_TABLES
from prism_postgres.pubsub import PostgresPubSub
from prism_postgres.queues import TABLES as QUEUE_TABLES
from prism_postgres.queues import PostgresQueues
from prism_postgres.sets import TABLES as SET_TABLES
from prism_postgres.sets import PostgresSets
from prism_postgres.sortedsets import TABLES as ZSET_TABLES
from prism_postgres.sortedsets import PostgresSortedSets
from prism_postgres.timeseries import TABLES as TIMESERIES_TABLES
from prism_postgres.timeseries import PostgresTimeSeries
from prism_postgres.transactions import PostgresTransactions

VERSION = "0.1.0"


def build_plugin() -> Plugin:
    conn = PostgresConnection(
        QUEUE_TABLES, KV_TABLES, TIMESERIES_TABLES, DOCUMENT_TABLES, GRAPH_TABLES, SET_TABLES, ZSET_TABLES, LIST_TABLES, PUBSUB_TABLES
    )
    queues = PostgresQueues(conn)
    kv = PostgresKeyValue(conn)
    series = PostgresTimeSeries(conn)
    transactions = PostgresTransactions(conn)
    conn.closers.append(transactions.close)
    documents = PostgresDocuments(conn)
    graphs = PostgresGraph(conn)
    sets = PostgresSets(conn)
    zsets = PostgresSortedSets(conn)
    lists = PostgresLists(conn)
    pubsub = PostgresPubSub(conn)
    return Plugin(
        name="postgres",
        version=VERSION,
        connector=conn,
        servicers=[
            basic.Servicer(queues),
            visibility.Servicer(queues),
            dead_letter.Servicer(queues),
            priority.Servicer(queues),
            delayed.Servicer(queues),
            kv_basic.Servicer(kv),
            kv_scan.Servicer(kv),
            kv_transactional.Servicer(transactions),
            kv_batch.Servicer(kv),
            kv_cas.Servicer(kv),
            kv_ttl.Servicer(kv),
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
            set_basic.Servicer(sets),
            set_cardinality.Servicer(sets),
            set_operations.Servicer(sets),
            set_random.Servicer(sets),
            zset_basic.Servicer(zsets),
            zset_range.Servicer(zsets),
            zset_rank.Servicer(zsets),
            zset_operations.Servicer(zsets),
            zset_lex.Servicer(zsets),
            list_basic.Servicer(lists),
            list_indexing.Servicer(lists),
            list_range.Servicer(lists),
            list_blocking.Servicer(lists),
            pubsub_basic.Servicer(pubsub),
            pubsub_filtering.Servicer(pubsub),
        ],
        unavailable_errors=(psycopg.OperationalError, psycopg_pool.PoolTimeout),
    )
