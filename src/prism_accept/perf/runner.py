"""One perf run: for each backend (the registry's, or those named), resolve its instance as the
cells do (harness/instances.py), start its plugin as a subprocess (harness/process.py; the
framework never imports a plugin), run every applicable workload REPEATS times through gRPC,
then the same workload through the backend's own client, plus the bare gRPC echo floor once.
Each result becomes one history entry (history.py) with its SLO verdicts and regressions."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from prism_accept import registry
from prism_accept.harness import instances
from prism_accept.harness.journal import NamespaceJournal
from prism_accept.harness.process import PluginProcess, PluginStartError, plugin_command
from prism_accept.perf import history, slo
from prism_accept.perf.direct import direct_for
from prism_accept.perf.echo import echo_sample, echo_server
from prism_accept.perf.measure import Sample
from prism_accept.perf.stats import Run, ratio, run_of, summarize
from prism_accept.perf.workloads import Context, Workload, applicable

WARMUP_S = 0.3


@dataclass(frozen=True)
class Settings:
    repeats: int = 3
    duration_s: float = 1.0  # of one repeat
    plugin_module: str | None = None  # run this module instead of the registry's plugin (a mutant)
    label: str = ""  # what the history calls the plugin when plugin_module replaces it


def process_cpu_s(pid: int) -> float:
    """utime + stime of a process (and its threads) from /proc, in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def commit(root: Path) -> str:
    try:
        head = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain"], capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return (head or "unknown") + (" (with uncommitted changes)" if dirty else "")


def measured(sample: Callable[[], Sample], cpu: Callable[[], float] | None) -> tuple[Run, str]:
    """One repeat, with the CPU the measured process (the plugin) spent during it."""
    before = cpu() if cpu else None
    s = sample()
    cpu_s = cpu() - before if cpu and before is not None else None
    return run_of(s.histogram, s.ops, s.seconds, cpu_s), s.note


def objective_of(decl: registry.BackendDeclaration, workload: Workload) -> slo.Objective | None:
    """The SLO declared for the most specific interface the workload needs (its last)."""
    for interface in reversed(workload.needs):
        if interface in decl.slo:
            return slo.Objective.from_declaration(decl.slo[interface])
    return None


class PerfRun:
    def __init__(self, settings: Settings, root: Path, log: Callable[[str], None] = print):
        self.settings, self.log = settings, log
        self.run_id = uuid.uuid4().hex[:12]
        self.time = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        self.commit = commit(root)
        self.machine = history.machine()
        self.entries: list[dict] = []
        self.skipped: dict[str, str] = {}

    def entry(self, backend: str, workload: str, path: str, runs: list[Run], notes: list[str], **extra) -> dict:
        figures = summarize(runs)
        e = {
            "run_id": self.run_id,
            "time": self.time,
            "commit": self.commit,
            "machine": self.machine,
            "backend": backend,
            "workload": workload,
            "path": path,
            "repeats": len(runs),
            "figures": {k: v.as_dict() for k, v in figures.items()},
            "runs": [r.as_dict() for r in runs],
            "notes": sorted(set(n for n in notes if n)),
            **extra,
        }
        self.entries.append(e)
        return e

    def echo_floor(self) -> None:
        with echo_server() as (proc, channel):
            echo_sample(channel, WARMUP_S)
            out = [
                measured(lambda: echo_sample(channel, self.settings.duration_s), lambda: process_cpu_s(proc.pid))
                for _ in range(self.settings.repeats)
            ]
        self.entry(
            "grpc-echo",
            "grpc-echo",
            "echo",
            [r for r, _ in out],
            [n for _, n in out],
            describe="a bare gRPC unary echo of 1 KB (the floor)",
        )
        self.log(f"grpc-echo: p50 {self.entries[-1]['figures']['p50_ms']['mean']:.3f} ms")

    def backend(self, decl: registry.BackendDeclaration) -> None:
        try:
            instance = instances.resolve(decl)
        except (instances.InstanceUnavailable, instances.ExplicitInstanceDown, instances.InstanceURLRefused) as e:
            self.skipped[decl.backend] = str(e)
            self.log(f"{decl.backend}: SKIP: {e}")
            return
        module = self.settings.plugin_module
        command = [sys.executable, "-m", module] if module else plugin_command(decl.plugin)
        plugin = PluginProcess(
            command=command, startup_timeout_s=decl.plugin.startup_timeout_s, shares_harness=bool(module or decl.plugin.module)
        )
        try:
            plugin.start(instance.settings)
        except PluginStartError as e:
            instance.stop()
            self.skipped[decl.backend] = f"the plugin did not start: {str(e).splitlines()[0]}"
            self.log(f"{decl.backend}: ERROR: {self.skipped[decl.backend]}")
            return
        assert plugin.proc is not None and plugin.channel is not None and plugin.info is not None
        pid = plugin.proc.pid
        # namespaces are journaled as the cells' are: what a killed run left is dropped by the next run or cell
        plugin.journal = NamespaceJournal.for_instance(decl.backend, instance.url)
        plugin.sweep()
        about = {
            "server_version": plugin.backend_version,
            "plugin": self.settings.label or f"{plugin.info.name} {plugin.info.version}",
            "instance": instance.described,
        }
        try:
            for workload in applicable(decl.implements):
                self.workload(decl, workload, plugin, lambda: process_cpu_s(pid), instance.url, about)
        finally:
            plugin.stop()
            instance.stop()

    def workload(self, decl, workload: Workload, plugin: PluginProcess, cpu, url: str, about: dict) -> None:
        namespace = plugin.track(f"prism-perf-{uuid.uuid4().hex[:12]}")
        assert plugin.channel is not None
        ctx = Context(channel=plugin.channel, namespace=namespace)
        ctx.state["implements"] = decl.implements
        d = self.settings.duration_s
        try:
            workload.setup(ctx)
            workload.sample(ctx, WARMUP_S)
            out = [measured(lambda: workload.sample(ctx, d), cpu) for _ in range(self.settings.repeats)]
        except Exception as e:  # noqa: BLE001 - one broken workload is reported, the run goes on
            self.log(f"{decl.backend} {workload.name}: ERROR {type(e).__name__}: {str(e)[:300]}")
            self.entry(
                decl.backend, workload.name, "plugin", [], [], error=f"{type(e).__name__}: {str(e)[:300]}", model=workload.model, **about
            )
            return
        finally:
            try:
                plugin.drop_namespace(namespace)
            except Exception as e:  # noqa: BLE001
                self.log(f"{decl.backend}: DropNamespace({namespace}) failed: {e}")
        runs = [r for r, _ in out]
        objective = objective_of(decl, workload)
        entry = self.entry(
            decl.backend,
            workload.name,
            "plugin",
            runs,
            [n for _, n in out],
            model=workload.model,
            mode=workload.mode,
            describe=workload.describe,
            **about,
        )
        figures = summarize(runs)
        if objective is not None:
            entry["slo"] = slo.verdicts(figures, objective)
        entry["rfc_015"] = slo.verdicts(figures, slo.RFC_015)
        direct = direct_for(url, workload.name) if not self.settings.plugin_module else None
        line = f"{decl.backend} {workload.name}: p99 {figures['p99_ms'].mean:.3f} ms, {figures['throughput'].mean:,.0f} ops/s"
        if direct is not None:
            try:
                samples = direct(url, d, self.settings.repeats)
                druns = [run_of(s.histogram, s.ops, s.seconds) for s in samples]
                dfig = summarize(druns)
                self.entry(
                    decl.backend,
                    workload.name,
                    "direct",
                    druns,
                    [s.note for s in samples],
                    model=workload.model,
                    mode=workload.mode,
                    **about,
                )
                entry["ratio"] = {
                    "p50_ms": ratio(figures["p50_ms"].mean, dfig["p50_ms"].mean),
                    "p99_ms": ratio(figures["p99_ms"].mean, dfig["p99_ms"].mean),
                    "throughput": ratio(figures["throughput"].mean, dfig["throughput"].mean),
                }
                line += f"; direct p99 {dfig['p99_ms'].mean:.3f} ms, p50 ratio {entry['ratio']['p50_ms']:.2f}"
            except Exception as e:  # noqa: BLE001
                entry["direct_error"] = f"{type(e).__name__}: {str(e)[:300]}"
                line += f"; direct client failed: {entry['direct_error']}"
        self.log(line)

    def judge(self, past: list[dict]) -> None:
        """Each entry's baseline (the previous run of its series on this machine) and regressions."""
        for e in self.entries:
            if not e["figures"]:
                continue
            before = history.baseline(past, e)
            e["baseline_run"] = before["run_id"] if before else None
            e["regressions"] = history.regressions(e, before)
