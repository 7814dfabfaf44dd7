"""timeseries_retention: SetRetention per metric, Compact removes the points older than the
backend's now minus the retention (Redis TimeSeries RETENTION, InfluxDB retention policies)."""

from __future__ import annotations

from typing import Protocol

from prism.timeseries.v1 import timeseries_pb2 as pb
from prism.timeseries.v1 import timeseries_pb2_grpc as pb_grpc
from prism_plugin.contract import InterfaceServicer
from prism_plugin.status import invalid


class Store(Protocol):
    async def set_retention(self, ns: str, metric: str, retention_ms: int) -> None:
        """Replace the metric's retention; 0 removes it."""

    async def compact(self, ns: str, metric: str) -> int:
        """Remove the metric's points with timestamp < now - retention (none without a
        retention); how many were removed."""


class Servicer(InterfaceServicer[Store], pb_grpc.TimeSeriesRetentionServicer):
    async def SetRetention(self, request, context):
        if request.retention_ms < 0:
            raise invalid(f"retention_ms must be >= 0 (0: no retention), got {request.retention_ms}")
        await self.store.set_retention(request.namespace, request.metric, request.retention_ms)
        return pb.SetRetentionResponse()

    async def Compact(self, request, context):
        return pb.CompactResponse(removed=await self.store.compact(request.namespace, request.metric))
