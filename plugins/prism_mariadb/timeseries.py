"""Time series as rows: prism_ts_series (a metric and its labels, identified by a hash of the
sorted labels; the labels themselves a JSON document the plugin reads back) and prism_ts_points
(one row per series and timestamp: a second write at a timestamp updates the row).

SQL selects the series of a metric and the points of a time range, in order, through the
primary keys; label matchers (the SDK's Selection.matches), epoch-aligned buckets and the
aggregate functions are applied by the plugin to those rows. Sums and means are exact
(fractions, rounded once), so a sum is OUT_OF_RANGE only when its value is beyond a double,
which neither MariaDB's DOUBLE arithmetic (an error as soon as a running sum overflows) nor its
DECIMAL (65 digits) could honour. Interpolating outside a series' span gives no value
(behaviours.timeseries_interpolation.outside_range: absent)."""

from __future__ import annotations

import bisect
import hashlib
import json
from fractions import Fraction
from typing import Any, Callable

from prism_mariadb.connection import NOW_MS, MariaDBConnection, Schema, Session
from prism_plugin.contracts.timeseries.basic import Labels, Selection, SeriesPoints
from prism_plugin.status import out_of_range

TABLES = Schema(
    ddl="""
CREATE TABLE IF NOT EXISTS prism_ts_series (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  namespace VARBINARY(1024) NOT NULL,
  metric VARBINARY(1024) NOT NULL,
  label_hash BINARY(32) NOT NULL,
  labels LONGBLOB NOT NULL,
  UNIQUE KEY prism_ts_series_identity (namespace, metric, label_hash)
) ENGINE=InnoDB;
CREATE TABLE IF NOT EXISTS prism_ts_points (
  namespace VARBINARY(1024) NOT NULL,
  series BIGINT NOT NULL,
  ts BIGINT NOT NULL,
  value DOUBLE NOT NULL,
  PRIMARY KEY (series, ts),
  KEY prism_ts_points_namespace (namespace)
) ENGINE=InnoDB;
CREATE TABLE IF NOT EXISTS prism_ts_retention (
  namespace VARBINARY(1024) NOT NULL,
  metric VARBINARY(1024) NOT NULL,
  retention_ms BIGINT NOT NULL,
  PRIMARY KEY (namespace, metric)
) ENGINE=InnoDB
""",
    tables=("prism_ts_points", "prism_ts_series", "prism_ts_retention"),
)

Points = list[tuple[int, float]]

# The series row of (namespace, metric, labels), created by its first write; its id either way.
UPSERT_SERIES = """
INSERT INTO prism_ts_series (namespace, metric, label_hash, labels) VALUES (%s, %s, %s, %s)
ON DUPLICATE KEY UPDATE id = LAST_INSERT_ID(id)
"""
SERIES_ID = "SELECT LAST_INSERT_ID()"
UPSERT_POINTS = "INSERT INTO prism_ts_points (namespace, series, ts, value) VALUES {rows} ON DUPLICATE KEY UPDATE value = VALUES(value)"
SERIES = "SELECT id, labels FROM prism_ts_series WHERE namespace = %s AND metric = %s ORDER BY id"
POINTS = "SELECT series, ts, value FROM prism_ts_points WHERE series IN {ids} AND ts >= %s AND ts < %s ORDER BY series, ts"
# Per series, the points in [lo, hi] and the nearest one on either side of it.
NEIGHBOURHOOD = """
(SELECT ts, value FROM prism_ts_points WHERE series = %(id)s AND ts < %(lo)s ORDER BY ts DESC LIMIT 1)
UNION ALL (SELECT ts, value FROM prism_ts_points WHERE series = %(id)s AND ts BETWEEN %(lo)s AND %(hi)s)
UNION ALL (SELECT ts, value FROM prism_ts_points WHERE series = %(id)s AND ts > %(hi)s ORDER BY ts LIMIT 1)
ORDER BY ts
"""

SET_RETENTION = """
INSERT INTO prism_ts_retention (namespace, metric, retention_ms) VALUES (%(ns)s, %(metric)s, %(ms)s)
ON DUPLICATE KEY UPDATE retention_ms = VALUES(retention_ms)
"""
REMOVE_RETENTION = "DELETE FROM prism_ts_retention WHERE namespace = %(ns)s AND metric = %(metric)s"
# DECIMAL arithmetic: now - retention_ms may be below the BIGINT range.
COMPACT = f"""
DELETE p FROM prism_ts_points p
JOIN prism_ts_series s ON p.series = s.id
JOIN prism_ts_retention r ON r.namespace = s.namespace AND r.metric = s.metric
WHERE r.namespace = %(ns)s AND r.metric = %(metric)s AND p.ts < CAST({NOW_MS} AS DECIMAL(30)) - r.retention_ms
"""
POINTS_PER_STATEMENT = 2000


def _utf8(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


def label_hash(labels: Labels) -> bytes:
    """Identifies a label set whatever its order: SHA-256 of the sorted, length-prefixed pairs."""
    digest = hashlib.sha256()
    for name, value in sorted(labels.items()):
        for part in (_utf8(name), _utf8(value)):
            digest.update(len(part).to_bytes(8, "big") + part)
    return digest.digest()


def encode_labels(labels: Labels) -> bytes:
    return json.dumps(sorted(labels.items())).encode("ascii")


def decode_labels(data: bytes) -> Labels:
    return {name: value for name, value in json.loads(bytes(data))}


def _double(value: Fraction) -> float:
    try:
        return float(value)
    except OverflowError:
        raise out_of_range("a computed value is beyond the range of a double") from None


FUNCTIONS: dict[str, Callable[[list[float]], float]] = {
    "avg": lambda vs: _double(sum(map(Fraction, vs), Fraction(0)) / len(vs)),
    "sum": lambda vs: _double(sum(map(Fraction, vs), Fraction(0))),
    "min": min,
    "max": max,
    "count": lambda vs: float(len(vs)),
    "first": lambda vs: vs[0],
    "last": lambda vs: vs[-1],
}


def buckets(points: Points, bucket_ms: int, function: str) -> Points:
    """(bucket start, function of its values) per non-empty bucket, ascending; buckets start at
    multiples of bucket_ms (floor division: before 1970 too)."""
    out: Points = []
    start: int | None = None
    values: list[float] = []
    for ts, value in points:
        b = ts - ts % bucket_ms
        if b != start and values:
            out.append((start, FUNCTIONS[function](values)))  # type: ignore[arg-type]
            values = []
        start = b
        values.append(value)
    if values:
        out.append((start, FUNCTIONS[function](values)))  # type: ignore[arg-type]
    return out


def interpolate(points: Points, t: int, method: str) -> float | None:
    """The series' value at t from its points (ascending); None outside its span."""
    i = bisect.bisect_left(points, (t, float("-inf")))
    if i < len(points) and points[i][0] == t:
        return points[i][1]
    if i == 0 or i == len(points):
        return None
    (a_ts, a), (b_ts, b) = points[i - 1], points[i]
    if method == "step":
        return a
    # On halves: no intermediate beyond a double (b - a may be); the value itself never is.
    return 2 * (a / 2 + (b / 2 - a / 2) * ((t - a_ts) / (b_ts - a_ts)))


class MariaDBTimeSeries:
    def __init__(self, conn: MariaDBConnection):
        self.conn = conn

    @staticmethod
    async def _selected(s: Session, ns: str, selection: Selection) -> list[tuple[int, Labels]]:
        rows = await s.fetchall(SERIES, (_utf8(ns), _utf8(selection.metric)))
        found = [(int(i), decode_labels(labels)) for i, labels in rows]
        return [(i, labels) for i, labels in found if selection.matches(labels)]

    @staticmethod
    async def _points(s: Session, ids: list[int], start_ms: int, end_ms: int) -> dict[int, Points]:
        out: dict[int, Points] = {}
        if ids:
            for series, ts, value in await s.fetchall(
                POINTS.format(ids="(" + ", ".join(["%s"] * len(ids)) + ")"), [*ids, start_ms, end_ms]
            ):
                out.setdefault(int(series), []).append((int(ts), float(value)))
        return out

    async def _series_points(self, s: Session, ns: str, selection: Selection, start_ms: int, end_ms: int) -> list[tuple[Labels, Points]]:
        series = await self._selected(s, ns, selection)
        points = await self._points(s, [i for i, _ in series], start_ms, end_ms)
        return [(labels, points[i]) for i, labels in series if i in points]

    # timeseries_basic
    async def insert(self, ns: str, metric: str, labels: Labels, points: Points) -> None:
        async def write(s: Session) -> None:
            await s.execute(UPSERT_SERIES, (_utf8(ns), _utf8(metric), label_hash(labels), encode_labels(labels)))
            await _write_points(s, ns, points)

        await self.conn.run(lambda s: s.transaction(write))

    async def query(self, ns: str, selection: Selection, start_ms: int, end_ms: int) -> list[SeriesPoints]:
        rows = await self.conn.run(self._series_points, ns, selection, start_ms, end_ms)
        return [SeriesPoints(selection.metric, labels, points) for labels, points in rows]

    # timeseries_aggregation
    async def aggregate(
        self, ns: str, selection: Selection, start_ms: int, end_ms: int, bucket_ms: int, function: str
    ) -> list[SeriesPoints]:
        rows = await self.conn.run(self._series_points, ns, selection, start_ms, end_ms)
        return [SeriesPoints(selection.metric, labels, buckets(points, bucket_ms, function)) for labels, points in rows]

    async def rollup(
        self, ns: str, selection: Selection, start_ms: int, end_ms: int, bucket_ms: int, function: str, target_metric: str
    ) -> int:
        """In one transaction: the buckets, the target series (same labels), their points upserted."""

        async def work(s: Session) -> int:
            written = 0
            for labels, points in await self._series_points(s, ns, selection, start_ms, end_ms):
                aggregated = buckets(points, bucket_ms, function)
                await s.execute(UPSERT_SERIES, (_utf8(ns), _utf8(target_metric), label_hash(labels), encode_labels(labels)))
                await _write_points(s, ns, aggregated)
                written += len(aggregated)
            return written

        return await self.conn.run(lambda s: s.transaction(work))

    # timeseries_retention
    async def set_retention(self, ns: str, metric: str, retention_ms: int) -> None:
        params = {"ns": _utf8(ns), "metric": _utf8(metric), "ms": retention_ms}
        await self.conn.run(lambda s: s.execute(SET_RETENTION if retention_ms else REMOVE_RETENTION, params))

    async def compact(self, ns: str, metric: str) -> int:
        return await self.conn.run(lambda s: s.execute(COMPACT, {"ns": _utf8(ns), "metric": _utf8(metric)}))

    # timeseries_interpolation
    async def _interpolate(self, ns: str, selection: Selection, timestamps_ms: list[int], method: str) -> list[SeriesPoints]:
        if not timestamps_ms:
            return []
        lo, hi = min(timestamps_ms), max(timestamps_ms)

        async def work(s: Session) -> list[SeriesPoints]:
            out = []
            for i, labels in await self._selected(s, ns, selection):
                rows = await s.fetchall(NEIGHBOURHOOD, {"id": i, "lo": lo, "hi": hi})
                points = [(int(ts), float(v)) for ts, v in rows]
                values = [(t, interpolate(points, t, method)) for t in sorted(timestamps_ms)]
                answered = [(t, v) for t, v in values if v is not None]
                if answered:
                    out.append(SeriesPoints(selection.metric, labels, answered))
            return out

        return await self.conn.run(work)

    async def interpolate_linear(self, ns: str, selection: Selection, timestamps_ms: list[int]) -> list[SeriesPoints]:
        return await self._interpolate(ns, selection, timestamps_ms, "linear")

    async def interpolate_step(self, ns: str, selection: Selection, timestamps_ms: list[int]) -> list[SeriesPoints]:
        return await self._interpolate(ns, selection, timestamps_ms, "step")


async def _write_points(s: Session, ns: str, points: Points) -> None:
    """The points of the series whose id the last UPSERT_SERIES left in LAST_INSERT_ID()."""
    row = await s.fetchone(SERIES_ID)
    series = int(row[0]) if row else 0
    ordered = sorted(dict(points).items())
    for at in range(0, len(ordered), POINTS_PER_STATEMENT):
        part = ordered[at : at + POINTS_PER_STATEMENT]
        args: list[Any] = [x for ts, v in part for x in (_utf8(ns), series, ts, v)]
        await s.execute(UPSERT_POINTS.format(rows=", ".join(["(%s, %s, %s, %s)"] * len(part))), args)
