"""The SQLite plugin with a bug in graph_query's sandbox; $PRISM_MUTANT names one of
SQLITE_MUTANTS, patched into this process only.

- `sqlite-graph-query-sees-every-namespace`: the inner `nodes` view forgets the namespace
  filter, so a query reads every namespace's nodes (the authorizer still confines it to the
  views): graph_query's namespace isolation case must fail.
"""

from __future__ import annotations

import os
import sqlite3
from typing import Callable

import prism_sqlite
from prism_plugin.runtime import main
from prism_sqlite.graph_sandbox import Sandbox


def views_see_every_namespace() -> Callable:
    original = Sandbox.prepare

    def prepare(self: Sandbox, conn: sqlite3.Connection) -> None:
        original(self, conn)
        inner = self.inner["nodes"]
        conn.execute("PRAGMA query_only = OFF")
        conn.execute(f'DROP VIEW temp."{inner}"')
        conn.execute(f'CREATE TEMP VIEW "{inner}" AS SELECT CAST(id AS TEXT) AS id, labels, properties FROM main.graph_nodes')
        conn.execute("PRAGMA query_only = ON")

    setattr(Sandbox, "prepare", prepare)
    return prism_sqlite.build_plugin


# mutant -> (cell, -k selection of the case it must fail, the patch)
SQLITE_MUTANTS = {
    "sqlite-graph-query-sees-every-namespace": ("graph_query", "namespace_isolation", views_see_every_namespace),
}

if __name__ == "__main__":
    main(SQLITE_MUTANTS[os.environ["PRISM_MUTANT"]][2]())
