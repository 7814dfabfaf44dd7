"""Time series as rows: prism.timeseries_series (a metric and its labels, as two bytea arrays,
identified by a hash of the sorted labels) and prism.timeseries_points (one row per series and
timestamp: a second write at a timestamp updates the row). Label matchers, epoch-aligned buckets,
retention and interpolation are SQL over those tables, every statement bounded by the
connection's `run`. Interpolating outside a series' span gives no value
(behaviours.timeseries_interpolation.outside_range: absent)."""

from __future__ import annotations

import hashlib
from typing import Any, TypeAlias

import psycopg

from prism_plugin.contracts.timeseries.basic import Labels, Selection, SeriesPoints
from prism_plugin.status import out_of_range
from prism_postgres.connection import PostgresConnection, Schema

TABLES = Schema(
    ddl="""
CREATE TABLE IF NOT EXISTS prism.timeseries_series (
  id bigserial PRIMARY KEY,
  namespace bytea NOT NULL,
  metric bytea NOT NULL,
  label_hash bytea NOT NULL,
  label_names bytea[] NOT NULL,
  label_values bytea[] NOT NULL,
  UNIQUE (namespace, metric, label_hash)
);
CREATE TABLE IF NOT EXISTS prism.timeseries_points (
  namespace bytea NOT NULL,
  series bigint NOT NULL,
  ts bigint NOT NULL,
  value float8 NOT NULL,
  PRIMARY KEY (series, ts)
);
CREATE INDEX IF NOT EXISTS timeseries_points_namespace ON prism.timeseries_points (namespace);
CREATE TABLE IF NOT EXISTS prism.timeseries_retention (
  namespace bytea NOT NULL,
  metric bytea NOT NULL,
  retention_ms bigint NOT NULL,
  PRIMARY KEY (namespace, metric)
);
""",
    tables=("timeseries_points", "timeseries_series", "timeseries_retention"),
)

Conn: TypeAlias = "psycopg.AsyncConnection[Any]"
Points = list[tuple[int, float]]

# The series row of (namespace, metric, labels), created by its first write.
UPSERT_SERIES = """
INSERT INTO prism.timeseries_series (namespace, metric, label_hash, label_names, label_values)
VALUES (%(ns)s, %(metric)s, %(hash)s, %(names)s::bytea[], %(values)s::bytea[])
ON CONFLICT (namespace, metric, label_hash) DO UPDATE SET label_hash = excluded.label_hash
RETURNING id
"""
INSERT = f"""
WITH s AS ({UPSERT_SERIES})
INSERT INTO prism.timeseries_points (namespace, series, ts, value)
SELECT %(ns)s, s.id, p.ts, p.value FROM s, unnest(%(ts)s::bigint[], %(vs)s::float8[]) AS p(ts, value)
ON CONFLICT (series, ts) DO UPDATE SET value = excluded.value
"""

# A series' value of a label; a missing label is "".
LABEL_VALUE = "coalesce((SELECT l.v FROM unnest(s.label_names, s.label_values) AS l(n, v) WHERE l.n = %(n{i})s), ''::bytea)"
# Floor to a multiple of bucket_ms, also for negative timestamps (% truncates toward zero).
BUCKET = "p.ts - ((p.ts %% %(bucket)s::bigint) + %(bucket)s::bigint) %% %(bucket)s::bigint"
# Sums and means in numeric: a float8 running sum overflows (an error) where the sum or the mean
# may not (1.5e308 + 1.5e308 - 1.5e308); a result beyond a double fails its cast to float8.
FUNCTIONS = {
    "avg": "avg(p.value::numeric)::float8",
    "sum": "sum(p.value::numeric)::float8",
    "min": "min(p.value)",
    "max": "max(p.value)",
    "count": "count(*)::float8",
    "first": "(array_agg(p.value ORDER BY p.ts))[1]",
    "last": "(array_agg(p.value ORDER BY p.ts DESC))[1]",
}

SET_RETENTION = """
INSERT INTO prism.timeseries_retention (namespace, metric, retention_ms) VALUES (%(ns)s, %(metric)s, %(ms)s)
ON CONFLICT (namespace, metric) DO UPDATE SET retention_ms = excluded.retention_ms
"""
REMOVE_RETENTION = "DELETE FROM prism.timeseries_retention WHERE namespace = %(ns)s AND metric = %(metric)s"
# Numeric arithmetic: now - retention_ms may be below the bigint range.
COMPACT = """
DELETE FROM prism.timeseries_points p USING prism.timeseries_series s, prism.timeseries_retention r
WHERE r.namespace = %(ns)s AND r.metric = %(metric)s AND s.namespace = r.namespace AND s.metric = r.metric
  AND p.series = s.id AND p.ts < floor(extract(epoch FROM statement_timestamp()) * 1000) - r.retention_ms
"""

# Per series and requested timestamp, the latest point at or before it and the earliest at or
# after it (each one index probe); outside the series' span one of them is missing: no value.
NEIGHBOURS = """
SELECT s.id, t.t, a.ts AS a_ts, a.value AS a_value, b.ts AS b_ts, b.value AS b_value
FROM selected s CROSS JOIN unnest(%(timestamps)s::bigint[]) AS t(t)
JOIN LATERAL (
  SELECT p.ts, p.value FROM prism.timeseries_points p WHERE p.series = s.id AND p.ts <= t.t ORDER BY p.ts DESC LIMIT 1
) a ON true
JOIN LATERAL (
  SELECT p.ts, p.value FROM prism.timeseries_points p WHERE p.series = s.id AND p.ts >= t.t ORDER BY p.ts LIMIT 1
) b ON true
"""
# Linear on halves: a + (b - a) * (t - a.t) / (b.t - a.t) with no intermediate beyond a double (b - a
# may be, and so may the difference times t - a.t); the value itself never is.
INTERPOLATED = {
    "linear": "CASE WHEN n.a_ts = n.b_ts THEN n.a_value"
    " ELSE 2 * (n.a_value / 2 + (n.b_value / 2 - n.a_value / 2) * ((n.t - n.a_ts)::float8 / (n.b_ts - n.a_ts)::float8)) END",
    "step": "n.a_value",
}


def _utf8(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


def _text(data: bytes) -> str:
    return bytes(data).decode("utf-8", "surrogatepass")


def label_hash(labels: Labels) -> bytes:
    """Identifies a label set whatever its order: SHA-256 of the sorted, length-prefixed pairs."""
    digest = hashlib.sha256()
    for name, value in sorted(labels.items()):
        for part in (_utf8(name), _utf8(value)):
            digest.update(len(part).to_bytes(8, "big") + part)
    return digest.digest()


def selected(ns: str, selection: Selection) -> tuple[str, dict[str, Any]]:
    """A SELECT of the selected series (id, label_names, label_values) as `s`, and its parameters."""
    params: dict[str, Any] = {"ns": _utf8(ns), "metric": _utf8(selection.metric)}
    where = ["s.namespace = %(ns)s", "s.metric = %(metric)s"]
    for i, m in enumerate(selection.matchers):
        params[f"n{i}"], params[f"v{i}"] = _utf8(m.label), _utf8(m.value)
        where.append(f"{LABEL_VALUE.format(i=i)} {'=' if m.equal else '<>'} %(v{i})s")
    return f"SELECT s.id, s.label_names, s.label_values FROM prism.timeseries_series s WHERE {' AND '.join(where)}", params


def series_points(metric: str, rows: list[tuple[Any, ...]]) -> list[SeriesPoints]:
    """Rows of (label_names, label_values, timestamps, values) as answers."""
    return [
        SeriesPoints(metric, {_text(n): _text(v) for n, v in zip(names, values)}, list(zip(timestamps, points)))
        for names, values, timestamps, points in rows
    ]


def aggregated(ns: str, selection: Selection, start_ms: int, end_ms: int, bucket_ms: int, function: str) -> tuple[str, dict[str, Any]]:
    """A query of (series id, bucket start, value) per non-empty bucket, and its parameters."""
    series, params = selected(ns, selection)
    query = f"""
SELECT s.id, {BUCKET} AS bucket, {FUNCTIONS[function]} AS value
FROM ({series}) s JOIN prism.timeseries_points p ON p.series = s.id
WHERE p.ts >= %(start)s AND p.ts < %(end)s
GROUP BY s.id, bucket
"""
    return query, {**params, "start": start_ms, "end": end_ms, "bucket": bucket_ms}


class PostgresTimeSeries:
    def __init__(self, conn: PostgresConnection):
        self.conn = conn

    async def _rows(self, query: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
        async def work(conn: Conn) -> list[tuple[Any, ...]]:
            return await (await conn.execute(query, params)).fetchall()  # type: ignore[arg-type]

        return await self._run(work)

    async def _count(self, query: str, params: dict[str, Any]) -> int:
        async def work(conn: Conn) -> int:
            return (await conn.execute(query, params)).rowcount  # type: ignore[arg-type]

        return await self._run(work)

    async def _run(self, work):
        try:
            return await self.conn.run(work)
        except psycopg.errors.NumericValueOutOfRange as e:  # float8 arithmetic overflowed (a sum, an interpolation)
            raise out_of_range("a computed value is beyond the range of a double") from e

    # timeseries_basic
    async def insert(self, ns: str, metric: str, labels: Labels, points: Points) -> None:
        names = sorted(labels)
        params = {
            "ns": _utf8(ns),
            "metric": _utf8(metric),
            "hash": label_hash(labels),
            "names": [_utf8(n) for n in names],
            "values": [_utf8(labels[n]) for n in names],
            "ts": [t for t, _ in points],
            "vs": [v for _, v in points],
        }
        await self._count(INSERT, params)

    async def query(self, ns: str, selection: Selection, start_ms: int, end_ms: int) -> list[SeriesPoints]:
        series, params = selected(ns, selection)
        query = f"""
SELECT s.label_names, s.label_values, array_agg(p.ts ORDER BY p.ts), array_agg(p.value ORDER BY p.ts)
FROM ({series}) s JOIN prism.timeseries_points p ON p.series = s.id
WHERE p.ts >= %(start)s AND p.ts < %(end)s
GROUP BY s.id, s.label_names, s.label_values
"""
        return series_points(selection.metric, await self._rows(query, {**params, "start": start_ms, "end": end_ms}))

    # timeseries_aggregation
    async def aggregate(
        self, ns: str, selection: Selection, start_ms: int, end_ms: int, bucket_ms: int, function: str
    ) -> list[SeriesPoints]:
        buckets, params = aggregated(ns, selection, start_ms, end_ms, bucket_ms, function)
        query = f"""
SELECT s.label_names, s.label_values, array_agg(b.bucket ORDER BY b.bucket), array_agg(b.value ORDER BY b.bucket)
FROM ({buckets}) b JOIN prism.timeseries_series s ON s.id = b.id
GROUP BY s.id, s.label_names, s.label_values
"""
        return series_points(selection.metric, await self._rows(query, params))

    async def rollup(
        self, ns: str, selection: Selection, start_ms: int, end_ms: int, bucket_ms: int, function: str, target_metric: str
    ) -> int:
        """One statement: the buckets, the target series (same labels), their points upserted."""
        buckets, params = aggregated(ns, selection, start_ms, end_ms, bucket_ms, function)
        query = f"""
WITH b AS ({buckets}),
source AS (SELECT s.id, s.label_hash, s.label_names, s.label_values FROM prism.timeseries_series s WHERE s.id IN (SELECT id FROM b)),
target AS (
  INSERT INTO prism.timeseries_series (namespace, metric, label_hash, label_names, label_values)
  SELECT %(ns)s, %(target)s, label_hash, label_names, label_values FROM source
  ON CONFLICT (namespace, metric, label_hash) DO UPDATE SET label_hash = excluded.label_hash
  RETURNING id, label_hash
)
INSERT INTO prism.timeseries_points (namespace, series, ts, value)
SELECT %(ns)s, target.id, b.bucket, b.value FROM b JOIN source ON source.id = b.id JOIN target ON target.label_hash = source.label_hash
ON CONFLICT (series, ts) DO UPDATE SET value = excluded.value
"""
        return await self._count(query, {**params, "target": _utf8(target_metric)})

    # timeseries_retention
    async def set_retention(self, ns: str, metric: str, retention_ms: int) -> None:
        params = {"ns": _utf8(ns), "metric": _utf8(metric), "ms": retention_ms}
        await self._count(SET_RETENTION if retention_ms else REMOVE_RETENTION, params)

    async def compact(self, ns: str, metric: str) -> int:
        return await self._count(COMPACT, {"ns": _utf8(ns), "metric": _utf8(metric)})

    # timeseries_interpolation
    async def _interpolate(self, ns: str, selection: Selection, timestamps_ms: list[int], method: str) -> list[SeriesPoints]:
        series, params = selected(ns, selection)
        query = f"""
WITH selected AS ({series}),
v AS (SELECT n.id, n.t, {INTERPOLATED[method]} AS value FROM ({NEIGHBOURS}) n)
SELECT s.label_names, s.label_values, array_agg(v.t ORDER BY v.t), array_agg(v.value ORDER BY v.t)
FROM v JOIN prism.timeseries_series s ON s.id = v.id
GROUP BY s.id, s.label_names, s.label_values
"""
        return series_points(selection.metric, await self._rows(query, {**params, "timestamps": timestamps_ms}))

    async def interpolate_linear(self, ns: str, selection: Selection, timestamps_ms: list[int]) -> list[SeriesPoints]:
        return await self._interpolate(ns, selection, timestamps_ms, "linear")

    async def interpolate_step(self, ns: str, selection: Selection, timestamps_ms: list[int]) -> list[SeriesPoints]:
        return await self._interpolate(ns, selection, timestamps_ms, "step")
