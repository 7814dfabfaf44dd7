"""The MariaDB plugin, through aiomysql (aio-libs' asyncio client over PyMySQL, the one
SQLAlchemy's asyncio MySQL dialect uses) and its pool: each data model is plain InnoDB tables
named `prism_*` in the URL's database, every row namespaced by a column, every statement
bounded by the call's deadline."""

from __future__ import annotations

from typing import Any

import pymysql

from prism_mariadb.connection import MariaDBConnection
from prism_mariadb.deadlines import bounded_by_call_deadlines
from prism_mariadb.documents import TABLES as DOCUMENT_TABLES
from prism_mariadb.documents import MariaDBDocuments
from prism_mariadb.graph import TABLES as GRAPH_TABLES
from prism_mariadb.graph import MariaDBGraph
from prism_mariadb.keyvalue import TABLES as KV_TABLES
from prism_mariadb.keyvalue import MariaDBKeyValue
from prism_mariadb.lists import TABLES as LIST_TABLES
from prism_mariadb.lists import MariaDBLists
from prism_mariadb.queues import TABLES as QUEUE_TABLES
from prism_mariadb.queues import MariaDBQueues
from prism_mariadb.sets import TABLES as SET_TABLES
from prism_mariadb.sets import MariaDBSets
from prism_mariadb.sortedsets import TABLES as ZSET_TABLES
from prism_mariadb.sortedsets import MariaDBSortedSets
from prism_mariadb.timeseries import TABLES as TIMESERIES_TABLES
from prism_mariadb.timeseries import MariaDBTimeSeries
from prism_mariadb.transactions import MariaDBTransactions
from prism_plugin.contract import InterfaceServicer
from prism_plugin.contracts.document import basic as doc_basic
from prism_plugin.contracts.document import indexing as doc_indexing
from prism_plugin.contracts.document import query as doc_query
from prism_plugin.contracts.graph import analytics as graph_analytics
from prism_plugin.contracts.graph import basic as graph_basic
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

VERSION = "0.1.0"


def build_plugin() -> Plugin:
    conn = MariaDBConnection(
        KV_TABLES, QUEUE_TABLES, TIMESERIES_TABLES, DOCUMENT_TABLES, GRAPH_TABLES, SET_TABLES, ZSET_TABLES, LIST_TABLES
    )
    series = MariaDBTimeSeries(conn)
    queues = MariaDBQueues(conn)
    kv = MariaDBKeyValue(conn)
    transactions = MariaDBTransactions(conn)
    documents = MariaDBDocuments(conn)
    graph = MariaDBGraph(conn)
    sets = MariaDBSets(conn)
    zsets = MariaDBSortedSets(conn)
    lists = MariaDBLists(conn)
    conn.closers.append(transactions.close)
    servicers: list[InterfaceServicer[Any]] = [
        kv_basic.Servicer(kv),
        kv_scan.Servicer(kv),
        kv_transactional.Servicer(transactions),
        kv_batch.Servicer(kv),
        kv_cas.Servicer(kv),
        kv_ttl.Servicer(kv),
        basic.Servicer(queues),
        visibility.Servicer(queues),
        dead_letter.Servicer(queues),
        priority.Servicer(queues),
        delayed.Servicer(queues),
        ts_basic.Servicer(series),
        ts_aggregation.Servicer(series),
        ts_retention.Servicer(series),
        ts_interpolation.Servicer(series),
        doc_basic.Servicer(documents),
        doc_query.Servicer(documents),
        doc_indexing.Servicer(documents),
        graph_basic.Servicer(graph),
        graph_traversal.Servicer(graph),
        graph_analytics.Servicer(graph),
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
    ]
    return Plugin(
        name="mariadb",
        version=VERSION,
        connector=conn,
        servicers=[bounded_by_call_deadlines(s) for s in servicers],
        unavailable_errors=(pymysql.err.OperationalError, pymysql.err.InterfaceError),
    )
