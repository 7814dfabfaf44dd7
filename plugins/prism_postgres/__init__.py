"""The PostgreSQL plugin: queues as rows of one table, through psycopg 3 (asyncio) and its pool."""

from __future__ import annotations

import psycopg
import psycopg_pool

from prism_plugin.contracts.document import basic as document_basic
from prism_plugin.contracts.document import indexing as document_indexing
from prism_plugin.contracts.document import query as document_query
from prism_plugin.contracts.queue import basic, dead_letter, delayed, priority, visibility
from prism_plugin.runtime import Plugin
from prism_postgres.connection import PostgresConnection
from prism_postgres.documents import TABLES as DOCUMENT_TABLES
from prism_postgres.documents import PostgresDocuments
from prism_postgres.queues import TABLES as QUEUE_TABLES
from prism_postgres.queues import PostgresQueues

VERSION = "0.1.0"


def build_plugin() -> Plugin:
    conn = PostgresConnection(QUEUE_TABLES, DOCUMENT_TABLES)
    queues = PostgresQueues(conn)
    documents = PostgresDocuments(conn)
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
            document_basic.Servicer(documents),
            document_query.Servicer(documents),
            document_indexing.Servicer(documents),
        ],
        unavailable_errors=(psycopg.OperationalError, psycopg_pool.PoolTimeout),
    )
