"""The SQLite plugin, over the standard library's sqlite3: an embedded real engine, one database
file in WAL mode in the directory the harness gives the instance; each data model is plain
tables, every row namespaced by a column."""

from __future__ import annotations

import sqlite3

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
from prism_sqlite.connection import SqliteConnection
from prism_sqlite.documents import TABLES as DOCUMENT_TABLES
from prism_sqlite.documents import SqliteDocuments
from prism_sqlite.graph import TABLES as GRAPH_TABLES
from prism_sqlite.graph import SqliteGraph
from prism_sqlite.keyvalue import TABLES as KV_TABLES
from prism_sqlite.keyvalue import SqliteKeyValue
from prism_sqlite.lists import TABLES as LIST_TABLES
from prism_sqlite.lists import SqliteLists
from prism_sqlite.queues import TABLES as QUEUE_TABLES
from prism_sqlite.queues import SqliteQueues
from prism_sqlite.sets import TABLES as SET_TABLES
from prism_sqlite.sets import SqliteSets
from prism_sqlite.sortedsets import TABLES as ZSET_TABLES
from prism_sqlite.sortedsets import SqliteSortedSets
from prism_sqlite.timeseries import TABLES as TIMESERIES_TABLES
from prism_sqlite.timeseries import SqliteTimeSeries

VERSION = "0.1.0"


def build_plugin() -> Plugin:
    conn = SqliteConnection(TIMESERIES_TABLES, DOCUMENT_TABLES, GRAPH_TABLES, KV_TABLES, QUEUE_TABLES, SET_TABLES, ZSET_TABLES, LIST_TABLES)
    series = SqliteTimeSeries(conn)
    documents = SqliteDocuments(conn)
    graphs = SqliteGraph(conn)
    kv = SqliteKeyValue(conn)
    queues = SqliteQueues(conn)
    sets = SqliteSets(conn)
    zsets = SqliteSortedSets(conn)
    lists = SqliteLists(conn)
    return Plugin(
        name="sqlite",
        version=VERSION,
        connector=conn,
        servicers=[
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
            kv_basic.Servicer(kv),
            kv_batch.Servicer(kv),
            kv_cas.Servicer(kv),
            kv_scan.Servicer(kv),
            kv_ttl.Servicer(kv),
            kv_transactional.Servicer(kv_transactional.OptimisticTransactions(kv)),
            basic.Servicer(queues),
            visibility.Servicer(queues),
            dead_letter.Servicer(queues),
            priority.Servicer(queues),
            delayed.Servicer(queues),
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
        ],
        unavailable_errors=(sqlite3.OperationalError,),
    )
