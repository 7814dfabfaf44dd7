"""What a chaos or replicas cell runs against: its backend instance, the fault proxy between the
plugin and that instance, and plugin processes the cell may kill and start again.

The instance is, in order: the engine inside the plugin (`instance.embedded: true`, given a
private data directory that outlives a plugin restart); a private server the harness starts
for the cell (`instance.private`, else the embedded server of `instance.embedded`), which the
cell may kill, restart and pause; else the instance any cell resolves (a shared service), where
faults act on the plugin's connection only, through the proxy. Every plugin is a subprocess of
its own (a crash must be a real one), whatever PRISM_PLUGIN_MODE says.
"""

from __future__ import annotations

import contextlib
import os
import signal
import uuid
from dataclasses import dataclass, field
from typing import Callable, Iterator, Mapping

import grpc

from prism_accept.harness import servers
from prism_accept.harness.faultproxy import FaultProxy
from prism_accept.harness.instances import Instance, embedded, resolve
from prism_accept.harness.journal import NamespaceJournal
from prism_accept.harness.net import Redacted, host_port, redact
from prism_accept.harness.process import PluginProcess, plugin_command
from prism_accept.registry import BackendDeclaration


@dataclass
class Rig:
    decl: BackendDeclaration
    instance: Instance
    server: servers.StartedServer | None = None  # the private server, when the harness started one
    proxy: FaultProxy | None = None  # between the plugins and the instance (None: no connection)
    why_no_server: str = ""  # why there is no private server to crash or pause
    why_no_proxy: str = "the plugin has no connection to a backend to fault (the engine is inside it)"
    plugins: list[PluginProcess] = field(default_factory=list)
    journal: NamespaceJournal | None = None

    @classmethod
    def start(cls, decl: BackendDeclaration, environ: Mapping[str, str], *, private: bool = True, proxied: bool = True) -> Rig:
        """The cell's instance (a private server where `private` and one can be had) and, where
        the plugin reaches it over TCP and `proxied`, a fault proxy in front of it."""
        spec = decl.instance
        if spec.embedded is True:
            rig = cls(decl, embedded(decl.backend), why_no_server="the engine is inside the plugin: there is no backend server")
        else:
            server, why = None, ""
            if private and spec.private_server is not None:
                try:
                    server = servers.start_private(decl)
                except servers.ServerUnavailable as e:
                    why = f"no private server ({e}); faults act on the plugin's connection to the shared instance"
            elif private:
                why = (
                    f"{decl.path} declares no `instance.private` server: faults act on the plugin's connection to the shared instance only"
                )
            if server is not None:
                instance = Instance(
                    server.url, "private server", stop=server.stop, label=server.label, ephemeral=True, identity=server.identity
                )
            else:
                instance = resolve(decl, environ)
            rig = cls(decl, instance, server=server, why_no_server=why)
            upstream = host_port(instance.url)
            if proxied and not decl.behaviours.get("faults", {}).get("proxied", True):
                rig.why_no_proxy = (
                    f"{decl.path} declares behaviours.faults.proxied: false "
                    "(the plugin's connections follow addresses the server advertises)"
                )
            elif proxied and upstream is not None:
                rig.proxy = FaultProxy(upstream).start()
        rig.journal = NamespaceJournal.for_instance(decl.backend, rig.instance.url)
        return rig

    @property
    def settings(self) -> dict[str, str]:
        """What Initialize gets: the instance's settings, its URL through the proxy."""
        settings = dict(self.instance.settings)
        if self.proxy is not None:
            settings["url"] = self.proxy.url_for(self.instance.url)
        return Redacted(settings)

    @property
    def described(self) -> str:
        via = " through the harness's fault proxy" if self.proxy is not None else ""
        return f"{self.instance.described}{via}"

    @contextlib.contextmanager
    def running(self, plugins: int, record: Callable[[str, str], None]) -> Iterator[Rig]:
        """The rig with `plugins` plugin processes started, its instance recorded (`record`:
        the cell's cell_record); closed afterwards, whatever happened."""
        try:
            record("instance", self.described)
            if self.instance.identity:
                record("server_identity", self.instance.identity)
            for _ in range(plugins):
                self.start_plugin()
            record("plugin_mode", "subprocess" if plugins == 1 else f"subprocess x{plugins}")
            if all(p.forked for p in self.plugins):
                record("plugin_start", "forked from a zygote that imported the plugin once (harness/zygote.py)")
            yield self
        finally:
            self.close()

    @contextlib.contextmanager
    def namespace(self, prefix: str) -> Iterator[str]:
        """A fresh namespace for one case, journaled before its first write and dropped
        afterwards through the first plugin (a failed drop is left to the next cell's sweep)."""
        ns = f"{prefix}-{uuid.uuid4().hex[:12]}"
        assert self.journal is not None
        self.journal.opened(ns)
        yield ns
        if self.plugins:
            try:
                self.plugins[0].drop_namespace(ns)
            except grpc.RpcError:
                pass  # clean-up only: the journal keeps it for the next cell's sweep

    def start_plugin(self) -> PluginProcess:
        """One more plugin process on the instance (rig.plugins in the order they started)."""
        self.plugins.append(self._launch())
        return self.plugins[-1]

    def _launch(self) -> PluginProcess:
        launch = self.decl.plugin
        process = PluginProcess(
            plugin_command(launch), startup_timeout_s=launch.startup_timeout_s, shares_harness=launch.module is not None
        )
        process.journal = self.journal
        try:
            process.start(self.settings)
        except BaseException:
            process.stop(grace_s=0.5)
            raise
        return process

    def kill_plugin(self, process: PluginProcess) -> None:
        """SIGKILL the plugin's process group: no clean-up of its own runs."""
        if process.proc is not None and process.proc.poll() is None:
            os.killpg(process.proc.pid, signal.SIGKILL)
            process.proc.wait(timeout=5)

    def replace_plugin(self, process: PluginProcess) -> PluginProcess:
        """A new plugin process in place of `process` (killed first, if it still runs), at its
        place in rig.plugins, on the same instance."""
        index = self.plugins.index(process)
        self.kill_plugin(process)
        process.stop(grace_s=0.5)
        self.plugins[index] = self._launch()
        return self.plugins[index]

    def shown(self) -> str:
        return redact(self.instance.url)

    def close(self) -> None:
        for process in self.plugins:
            process.stop(grace_s=1.0)
        self.plugins.clear()
        if self.proxy is not None:
            self.proxy.stop()
        self.instance.stop()
        if self.instance.ephemeral and self.journal is not None:
            self.journal.remove()
