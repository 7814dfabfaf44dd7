"""Time series as rows: timeseries_series (a metric and its label set, identified by a hash of the
sorted labels), timeseries_labels (one row per series and label) and timeseries_points (one row
per series and timestamp: a second write at a timestamp replaces the row). Matchers, epoch-aligned
buckets, retention and interpolation are SQL over those tables. Sums and means go through the
exact aggregates of functions.py (SQLite's sum() of doubles overflows to Inf where the sum does
not); first and last are SQLite's bare columns of a min()/max() query
(the row holding the extreme, as SQLite documents). Interpolating outside a series' span gives
no value (behaviours.timeseries_interpolation.outside_range: absent)."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from typing import Any

from prism_plugin.contracts.timeseries.basic import Labels, Selection, SeriesPoints
from prism_sqlite import functions
from prism_sqlite.connection import Schema, SqliteConnection, text, utf8

Points = list[tuple[int, float]]

# Floor to a multiple of :bucket, also before the epoch (SQLite's % truncates toward zero).
BUCKET = "(p.ts - ((p.ts % :bucket) + :bucket) % :bucket)"
# One value per bucket; first and last: the value of the row holding min(ts) / max(ts).
FUNCTIONS = {
    "avg": "prism_exact_avg(p.value)",
    "sum": "prism_exact_sum(p.value)",
    "min": "min(p.value)",
    "max": "max(p.value)",
    "count": "CAST(count(*) AS REAL)",
    "first": "p.value, min(p.ts)",
    "last": "p.value, max(p.ts)",
}
# Linear on halves, as a double throughout: no intermediate leaves the range of a double.
INTERPOLATED = {
    "linear": "CASE WHEN n.a_ts = n.b_ts THEN a.value"
    " ELSE 2 * (a.value / 2 + (b.value / 2 - a.value / 2) * (CAST(n.t - n.a_ts AS REAL) / CAST(n.b_ts - n.a_ts AS REAL))) END",
    "step": "a.value",
}
NOW_MS = "CAST(round((julianday('now') - 2440587.5) * 86400000.0) AS INTEGER)"


SERIES = "SELECT id FROM timeseries_series WHERE namespace = ?1"
TABLES = Schema(
    ddl="""
CREATE TABLE IF NOT EXISTS timeseries_series (
  id INTEGER PRIMARY KEY,
  namespace BLOB NOT NULL,
  metric BLOB NOT NULL,
  label_hash BLOB NOT NULL,
  UNIQUE (namespace, metric, label_hash)
);
CREATE TABLE IF NOT EXISTS timeseries_labels (
  series INTEGER NOT NULL,
  name BLOB NOT NULL,
  value BLOB NOT NULL,
  PRIMARY KEY (series, name)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS timeseries_points (
  series INTEGER NOT NULL,
  ts INTEGER NOT NULL,
  value REAL NOT NULL,
  PRIMARY KEY (series, ts)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS timeseries_retention (
  namespace BLOB NOT NULL,
  metric BLOB NOT NULL,
  retention_ms INTEGER NOT NULL,
  PRIMARY KEY (namespace, metric)
) WITHOUT ROWID
""",
    functions=functions.register,
    drop=(
        f"DELETE FROM timeseries_points WHERE series IN ({SERIES})",
        f"DELETE FROM timeseries_labels WHERE series IN ({SERIES})",
        "DELETE FROM timeseries_series WHERE namespace = ?1",
        "DELETE FROM timeseries_retention WHERE namespace = ?1",
    ),
)


def label_hash(labels: Labels) -> bytes:
    """Identifies a label set whatever its order: SHA-256 of the sorted, length-prefixed pairs."""
    digest = hashlib.sha256()
    for name, value in sorted(labels.items()):
        for part in (utf8(name), utf8(value)):
            digest.update(len(part).to_bytes(8, "big") + part)
    return digest.digest()


def selected(ns: str, selection: Selection) -> tuple[str, dict[str, Any]]:
    """A SELECT of the selected series' ids, and its parameters (named)."""
    params: dict[str, Any] = {"ns": utf8(ns), "metric": utf8(selection.metric)}
    where = ["s.namespace = :ns", "s.metric = :metric"]
    for i, m in enumerate(selection.matchers):
        params[f"n{i}"], params[f"v{i}"] = utf8(m.label), utf8(m.value)
        value = f"coalesce((SELECT l.value FROM timeseries_labels l WHERE l.series = s.id AND l.name = :n{i}), x'')"
        where.append(f"{value} {'=' if m.equal else '<>'} :v{i}")
    return f"SELECT s.id FROM timeseries_series s WHERE {' AND '.join(where)}", params


def _labels(conn: sqlite3.Connection, ids: list[int]) -> dict[int, Labels]:
    labels: dict[int, Labels] = {i: {} for i in ids}
    if ids:
        rows = conn.execute(
            "SELECT series, name, value FROM timeseries_labels WHERE series IN (SELECT value FROM json_each(?))", (json.dumps(ids),)
        )
        for series, name, value in rows:
            labels[series][text(name)] = text(value)
    return labels


def _answer(conn: sqlite3.Connection, metric: str, rows: list[tuple[Any, ...]]) -> list[SeriesPoints]:
    """Rows of (series id, timestamp, value), ordered by series and timestamp, as answers."""
    points: dict[int, Points] = {}
    for series, t, v in rows:
        points.setdefault(series, []).append((t, v))
    labels = _labels(conn, list(points))
    return [SeriesPoints(metric, labels[s], p) for s, p in points.items()]


def _series_id(conn: sqlite3.Connection, ns: bytes, metric: bytes, labels: Labels) -> int:
    digest = label_hash(labels)
    row = conn.execute(
        "SELECT id FROM timeseries_series WHERE namespace = ? AND metric = ? AND label_hash = ?", (ns, metric, digest)
    ).fetchone()
    if row is not None:
        return row[0]
    series = conn.execute("INSERT INTO timeseries_series (namespace, metric, label_hash) VALUES (?, ?, ?)", (ns, metric, digest)).lastrowid
    conn.executemany(
        "INSERT INTO timeseries_labels (series, name, value) VALUES (?, ?, ?)", [(series, utf8(n), utf8(v)) for n, v in labels.items()]
    )
    return int(series or 0)


def _write(conn: sqlite3.Connection, series: int, points: Points) -> None:
    conn.executemany(
        "INSERT INTO timeseries_points (series, ts, value) VALUES (?, ?, ?) ON CONFLICT (series, ts) DO UPDATE SET value = excluded.value",
        [(series, t, v) for t, v in points],
    )


def _buckets(ns: str, selection: Selection, start_ms: int, end_ms: int, bucket_ms: int, function: str) -> tuple[str, dict[str, Any]]:
    """A query of (series id, bucket start, value) per non-empty bucket, ordered."""
    series, params = selected(ns, selection)
    query = f"""
SELECT p.series, {BUCKET} AS bucket, {FUNCTIONS[function]}
FROM timeseries_points p WHERE p.series IN ({series}) AND p.ts >= :start AND p.ts < :end
GROUP BY p.series, bucket ORDER BY p.series, bucket
"""
    return query, {**params, "start": start_ms, "end": end_ms, "bucket": bucket_ms}


class SqliteTimeSeries:
    def __init__(self, conn: SqliteConnection):
        self.conn = conn

    # timeseries_basic
    async def insert(self, ns: str, metric: str, labels: Labels, points: Points) -> None:
        def work(conn: sqlite3.Connection) -> None:
            _write(conn, _series_id(conn, utf8(ns), utf8(metric), labels), points)

        await self.conn.run(work)

    async def query(self, ns: str, selection: Selection, start_ms: int, end_ms: int) -> list[SeriesPoints]:
        series, params = selected(ns, selection)
        query = f"""
SELECT p.series, p.ts, p.value FROM timeseries_points p
WHERE p.series IN ({series}) AND p.ts >= :start AND p.ts < :end ORDER BY p.series, p.ts
"""

        def work(conn: sqlite3.Connection) -> list[SeriesPoints]:
            return _answer(conn, selection.metric, conn.execute(query, {**params, "start": start_ms, "end": end_ms}).fetchall())

        return await self.conn.run(work, transaction="BEGIN")

    # timeseries_aggregation
    async def aggregate(
        self, ns: str, selection: Selection, start_ms: int, end_ms: int, bucket_ms: int, function: str
    ) -> list[SeriesPoints]:
        query, params = _buckets(ns, selection, start_ms, end_ms, bucket_ms, function)

        def work(conn: sqlite3.Connection) -> list[SeriesPoints]:
            return _answer(conn, selection.metric, [row[:3] for row in conn.execute(query, params)])

        return await self.conn.run(work, transaction="BEGIN")

    async def rollup(
        self, ns: str, selection: Selection, start_ms: int, end_ms: int, bucket_ms: int, function: str, target_metric: str
    ) -> int:
        """In one transaction: the buckets, the target series (same labels), their points upserted."""
        query, params = _buckets(ns, selection, start_ms, end_ms, bucket_ms, function)

        def work(conn: sqlite3.Connection) -> int:
            written = 0
            for s in _answer(conn, target_metric, [row[:3] for row in conn.execute(query, params)]):
                _write(conn, _series_id(conn, utf8(ns), utf8(target_metric), s.labels), s.points)
                written += len(s.points)
            return written

        return await self.conn.run(work)

    # timeseries_retention
    async def set_retention(self, ns: str, metric: str, retention_ms: int) -> None:
        def work(conn: sqlite3.Connection) -> None:
            if retention_ms:
                conn.execute(
                    "INSERT INTO timeseries_retention (namespace, metric, retention_ms) VALUES (?, ?, ?)"
                    " ON CONFLICT (namespace, metric) DO UPDATE SET retention_ms = excluded.retention_ms",
                    (utf8(ns), utf8(metric), retention_ms),
                )
            else:
                conn.execute("DELETE FROM timeseries_retention WHERE namespace = ? AND metric = ?", (utf8(ns), utf8(metric)))

        await self.conn.run(work)

    async def compact(self, ns: str, metric: str) -> int:
        """Points older than SQLite's now ('now', the statement's time) minus the retention."""
        statement = f"""
DELETE FROM timeseries_points WHERE series IN (SELECT id FROM timeseries_series WHERE namespace = :ns AND metric = :metric)
AND ts < (SELECT {NOW_MS} - r.retention_ms FROM timeseries_retention r WHERE r.namespace = :ns AND r.metric = :metric)
"""

        def work(conn: sqlite3.Connection) -> int:
            return conn.execute(statement, {"ns": utf8(ns), "metric": utf8(metric)}).rowcount

        return await self.conn.run(work)

    # timeseries_interpolation
    async def _interpolate(self, ns: str, selection: Selection, timestamps_ms: list[int], method: str) -> list[SeriesPoints]:
        """Per series and timestamp, the latest point at or before it (a) and the earliest at or
        after it (b), each one index probe; outside the series' span one is missing: no value."""
        series, params = selected(ns, selection)
        query = f"""
WITH t(t) AS (SELECT value FROM json_each(:timestamps)),
n AS (
  SELECT s.id, t.t,
    (SELECT max(p.ts) FROM timeseries_points p WHERE p.series = s.id AND p.ts <= t.t) AS a_ts,
    (SELECT min(p.ts) FROM timeseries_points p WHERE p.series = s.id AND p.ts >= t.t) AS b_ts
  FROM ({series}) s CROSS JOIN t
)
SELECT n.id, n.t, {INTERPOLATED[method]}
FROM n JOIN timeseries_points a ON a.series = n.id AND a.ts = n.a_ts JOIN timeseries_points b ON b.series = n.id AND b.ts = n.b_ts
ORDER BY n.id, n.t
"""

        def work(conn: sqlite3.Connection) -> list[SeriesPoints]:
            rows = conn.execute(query, {**params, "timestamps": json.dumps(timestamps_ms)}).fetchall()
            return _answer(conn, selection.metric, rows)

        return await self.conn.run(work, transaction="BEGIN")

    async def interpolate_linear(self, ns: str, selection: Selection, timestamps_ms: list[int]) -> list[SeriesPoints]:
        return await self._interpolate(ns, selection, timestamps_ms, "linear")

    async def interpolate_step(self, ns: str, selection: Selection, timestamps_ms: list[int]) -> list[SeriesPoints]:
        return await self._interpolate(ns, selection, timestamps_ms, "step")
