"""The PostgreSQL plugin: queues as rows of one table, through psycopg 3 (asyncio) and its pool."""

from __future__ import annotations

import psycopg
import psycopg_pool

from prism_plugin.contracts.graph import analytics as graph_analytics
from prism_plugin.contracts.graph import basic as graph_basic
from prism_plugin.contracts.graph import query as graph_query
from prism_plugin.contracts.graph import traversal as graph_traversal
from prism_plugin.contracts.queue import basic, dead_letter, delayed, priority, visibility
from prism_plugin.runtime import Plugin
from prism_postgres.connection import PostgresConnection
from prism_postgres.graph import TABLES as GRAPH_TABLES
from prism_postgres.graph import PostgresGraph
from prism_postgres.queues import TABLES as QUEUE_TABLES
from prism_postgres.queues import PostgresQueues

VERSION = "0.1.0"


def build_plugin() -> Plugin:
    conn = PostgresConnection(QUEUE_TABLES, GRAPH_TABLES)
    queues = PostgresQueues(conn)
    graphs = PostgresGraph(conn)
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
            graph_basic.Servicer(graphs),
            graph_traversal.Servicer(graphs),
            graph_query.Servicer(graphs),
            graph_analytics.Servicer(graphs),
        ],
        unavailable_errors=(psycopg.OperationalError, psycopg_pool.PoolTimeout),
    )
