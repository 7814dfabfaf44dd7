"""timeseries_interpolation: InterpolateLinear, InterpolateStep at requested timestamps (what
Prometheus' or TimescaleDB's gap filling computes)."""

from __future__ import annotations

from typing import Protocol

from prism.timeseries.v1 import timeseries_pb2_grpc as pb_grpc
from prism_plugin.contract import InterfaceServicer
from prism_plugin.contracts.timeseries.basic import Selection, SeriesPoints, response, selection
from prism_plugin.status import invalid


class Store(Protocol):
    async def interpolate_linear(self, ns: str, selection: Selection, timestamps_ms: list[int]) -> list[SeriesPoints]:
        """Per selected series, a point per timestamp (distinct, ascending) that has a value: a
        point's own value at its timestamp, linear between neighbours, outside the series' span as
        the backend declares (behaviours.timeseries_interpolation.outside_range)."""

    async def interpolate_step(self, ns: str, selection: Selection, timestamps_ms: list[int]) -> list[SeriesPoints]:
        """As interpolate_linear, with the value of the latest point at or before the timestamp."""


def timestamps(request) -> list[int]:
    if not request.timestamps_ms:
        raise invalid("timestamps_ms must hold at least one timestamp")
    return sorted(set(request.timestamps_ms))


class Servicer(InterfaceServicer[Store], pb_grpc.TimeSeriesInterpolationServicer):
    async def InterpolateLinear(self, request, context):
        return response(await self.store.interpolate_linear(request.namespace, selection(request), timestamps(request)))

    async def InterpolateStep(self, request, context):
        return response(await self.store.interpolate_step(request.namespace, selection(request), timestamps(request)))
