"""What every interface servicer shares: the store it serves, the plugin's limits, registration."""

from __future__ import annotations

import grpc

from prism_accept.plugins.status import invalid
from prism_accept.plugins.stores import Limits


class StoreServicer:
    interface = ""  # the interface name in registry/interfaces.yaml
    _add = None  # the generated add_<Service>Servicer_to_server

    def __init__(self, store, limits: Limits):
        self.store = store
        self.limits = limits

    def add_to_server(self, server: grpc.aio.Server) -> None:
        type(self)._add(self, server)

    def check_value(self, value: bytes) -> None:
        if len(value) > self.limits.max_value_bytes:
            raise invalid(f"value of {len(value)} bytes exceeds max_value_bytes={self.limits.max_value_bytes}")
