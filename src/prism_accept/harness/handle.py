"""What every kind of started plugin gives a cell: its channel (every call with a deadline),
what it said at start-up, whether it stopped answering, and namespaces that are tracked from
first use to their drop (harness/journal.py)."""

from __future__ import annotations

from dataclasses import dataclass

import grpc

from prism.plugin.v1 import lifecycle_pb2, lifecycle_pb2_grpc
from prism_accept.harness.journal import NamespaceJournal


@dataclass(kw_only=True)
class PluginHandle:
    address: str = ""
    info: lifecycle_pb2.PluginInfo | None = None
    backend_version: str = ""
    channel: grpc.Channel | None = None
    broken: str = ""  # why the plugin stopped answering, once it has
    journal: NamespaceJournal | None = None

    def track(self, namespace: str) -> str:
        """Record a namespace before the first write to it; returns it."""
        if self.journal is not None:
            self.journal.opened(namespace)
        return namespace

    def drop_namespace(self, namespace: str) -> None:
        if self.channel is not None:
            lifecycle_pb2_grpc.PluginLifecycleStub(self.channel).DropNamespace(lifecycle_pb2.DropNamespaceRequest(namespace=namespace))
            if self.journal is not None:
                self.journal.dropped(namespace)

    def sweep(self) -> list[str]:
        """Drop what earlier cells against this instance left behind (their plugin was killed)."""
        if self.journal is None:
            return []
        swept = self.journal.leftovers()
        for namespace in swept:
            self.drop_namespace(namespace)
        self.journal.compact()
        return swept
