"""The faults of a chaos cell, as Jepsen's nemeses: each is injected, lasts until its effect is
seen (or at least FAULT_S), and heals. `needs` says what a fault acts on, so a cell whose rig
lacks it skips the fault with the reason."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from prism_accept.chaos.rig import Rig

SLOW_DELAY_S = 0.25  # the latency a slow backend adds to every chunk, each way


@dataclass(frozen=True)
class Fault:
    name: str
    needs: str  # "connection" (the proxy), "server" (a private server) or "plugin"
    inject: Callable[[Rig], None]
    heal: Callable[[Rig], None]
    unreachable: bool = False  # the backend cannot be reached during it: health must say NOT_SERVING
    restarts_data: bool = False  # restarts where acknowledged data lives: kept only if durable_writes
    summary: str = ""

    def missing(self, rig: Rig) -> str | None:
        """Why this rig cannot have this fault (None: it can)."""
        if self.needs == "connection" and rig.proxy is None:
            return rig.why_no_proxy
        if self.needs == "server" and rig.server is None:
            return rig.why_no_server
        return None

    def loses_data(self, rig: Rig) -> bool:
        """Whether this fault restarts where the data lives on this rig: the backend server, or
        the plugin when the engine is inside it."""
        return self.restarts_data or (self.needs == "plugin" and rig.decl.instance.embedded is True)


def _proxy(rig: Rig):
    assert rig.proxy is not None
    return rig.proxy


def _server(rig: Rig):
    assert rig.server is not None
    return rig.server


def _nothing(rig: Rig) -> None:
    return None


FAULTS = (
    Fault("connection_reset", "connection", lambda r: _proxy(r).reset(), _nothing, summary="every connection to the backend reset (RST)"),
    Fault(
        "slow_backend",
        "connection",
        lambda r: _proxy(r).delay(SLOW_DELAY_S),
        lambda r: _proxy(r).delay(0),
        summary=f"{SLOW_DELAY_S * 1000:.0f} ms added to every read and write on the connection",
    ),
    Fault(
        "partition",
        "connection",
        lambda r: _proxy(r).partition(),
        lambda r: _proxy(r).heal(),
        unreachable=True,
        summary="the plugin's traffic to the backend silently held (dropped packets), then delivered",
    ),
    Fault(
        "backend_pause",
        "server",
        lambda r: _server(r).pause(),
        lambda r: _server(r).resume(),
        unreachable=True,
        summary="the backend server stopped (SIGSTOP), then continued",
    ),
    Fault(
        "backend_crash",
        "server",
        lambda r: _server(r).kill(),
        lambda r: _server(r).restart(),
        unreachable=True,
        restarts_data=True,
        summary="the backend server killed (SIGKILL), restarted on its port and data",
    ),
    Fault("plugin_crash", "plugin", _nothing, _nothing, summary="the plugin process killed (SIGKILL) and started again"),
)


def fault_named(name: str) -> Fault:
    return next(f for f in FAULTS if f.name == name)
