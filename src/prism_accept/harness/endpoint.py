"""A plugin that is already running at an address (`verify --endpoint host:port`, as csi-sanity
allows): the harness connects, calls GetInfo and Initialize with the instance's settings like
for a plugin it started, and never stops it (it only closes its own channel)."""

from __future__ import annotations

from dataclasses import dataclass, field

import grpc

from prism.plugin.v1 import lifecycle_pb2, lifecycle_pb2_grpc
from prism_accept.harness.channel import DEFAULT_DEADLINE_S
from prism_accept.harness.handle import PluginHandle
from prism_accept.harness.process import PluginStartError, connect

ENDPOINT_ENV = "PRISM_PLUGIN_ENDPOINT"  # host:port of a running plugin; set by prism_accept.verify


def parse_endpoint(text: str) -> str:
    """`host:port` as given, or ValueError saying what is wrong."""
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"endpoint {text!r} is not host:port (e.g. 127.0.0.1:50051)")
    return text


def not_a_plugin(address: str, timeout_s: float = 2.0) -> str | None:
    """Why whatever answers at `address` is no Prism plugin (None: it answers GetInfo). A port
    of another server fails here at once, rather than in every case of every cell."""
    channel = grpc.insecure_channel(address)
    try:
        info = lifecycle_pb2_grpc.PluginLifecycleStub(channel).GetInfo(lifecycle_pb2.GetInfoRequest(), timeout=timeout_s)
    except grpc.RpcError as e:
        return f"GetInfo answered {e.code().name} ({e.details()})"
    finally:
        channel.close()
    return None if info.name else "GetInfo answered without a plugin name"


@dataclass
class EndpointPlugin(PluginHandle):
    address: str
    startup_timeout_s: float = 20.0
    call_deadline_s: float = DEFAULT_DEADLINE_S
    proc: None = None  # not ours: no process to watch or stop
    _raw: grpc.Channel | None = field(default=None, repr=False)

    def start(self, settings: dict[str, str]) -> "EndpointPlugin":
        try:
            self._raw, self.channel, self.info, self.backend_version = connect(
                self.address, settings, self.call_deadline_s, self.startup_timeout_s
            )
        except PluginStartError as e:
            raise PluginStartError(f"plugin at {self.address}: {e}") from e
        return self

    def stderr_tail(self, limit: int = 4000) -> str:
        return ""  # its log is wherever its owner started it

    def stop(self) -> None:
        if self._raw is not None:
            self._raw.close()
            self._raw = self.channel = None
