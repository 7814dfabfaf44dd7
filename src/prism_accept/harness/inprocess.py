"""A Python plugin served from a thread of the cell's own process, over loopback gRPC.

The suite still speaks only gRPC to it; what is saved is an interpreter start and its imports
per cell (the subprocess path stays for `plugin.command` plugins, and for any plugin with
PRISM_PLUGIN_MODE=subprocess). The plugin module is found by name at run time: the framework
has no import of any plugin.
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass, field
from typing import Any

import grpc

from prism_accept.harness.channel import DEFAULT_DEADLINE_S
from prism_accept.harness.handle import PluginHandle
from prism_accept.harness.process import PluginStartError, connect

MODE_ENV = "PRISM_PLUGIN_MODE"
SDK_RUNTIME = "prism_plugin.runtime"  # where the Python plugin SDK serves a plugin in-process


def in_process_wanted(module: str | None) -> bool:
    return bool(module) and os.environ.get(MODE_ENV, "in-process") != "subprocess"


@dataclass
class InProcessPlugin(PluginHandle):
    module: str
    call_deadline_s: float = DEFAULT_DEADLINE_S
    proc: None = None  # no process of its own
    _server: Any = field(default=None, repr=False)
    _raw: grpc.Channel | None = field(default=None, repr=False)

    def start(self, settings: dict[str, str]) -> "InProcessPlugin":
        try:
            factory = importlib.import_module(self.module).build_plugin
            self._server = importlib.import_module(SDK_RUNTIME).InProcessServer(factory)
            self.address = self._server.start()
        except Exception as e:  # noqa: BLE001 - any failure to come up is a start error
            raise PluginStartError(f"cannot serve {self.module} in-process: {type(e).__name__}: {e}") from e
        try:
            self._raw, self.channel, self.info, self.backend_version = connect(self.address, settings, self.call_deadline_s)
        except PluginStartError:
            self.stop()
            raise
        return self

    def stderr_tail(self, limit: int = 4000) -> str:
        return ""  # its log goes to the cell's own stderr

    def stop(self) -> None:
        if self._raw is not None:
            self._raw.close()
            self._raw = self.channel = None
        if self._server is not None:
            self._server.stop()
            self._server = None
