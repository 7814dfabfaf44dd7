"""CPU-seconds per cell, from the `cpu_s` property each cell writes into its JUnit report
(its own process and the plugin subprocesses it reaped), and with `--run-cpu` (the CPU time of
the whole Pants run) Pants' own share per cell, and the mean per matrix column (a backend, or a
server variant of it: `redis.valkey-8.1`). Each cell also reports the RPCs it made (`rpcs`): most
of a cell's CPU time is its RPCs', so the CPU-ms per RPC, next to a bare gRPC echo's
(`make perf`), says how much of a cell is the gRPC floor. Run by build-support/bin/bench-cells; a
measurement, never a test."""

from __future__ import annotations

import argparse
import statistics
from dataclasses import dataclass
from pathlib import Path

from prism_accept.cellname import CellAddress, kind_of
from prism_accept.reports.results import CellReport, cell_reports


@dataclass(frozen=True)
class CellCost:
    cpu_s: float
    rpcs: int | None  # None: a report from before cells counted their RPCs


def costs_by_cell(reports: Path) -> dict[str, CellCost]:
    """`<column>#<cell>` -> its cost, for every cell in `reports` whose report has `cpu_s` (in a
    batch, the first cell's includes the process's start and imports)."""
    found: dict[str, CellCost] = {}
    for address, report in sorted(cell_reports(reports).items(), key=lambda kv: str(kv[0])):
        if isinstance(report, CellReport) and "cpu_s" in report.properties:
            rpcs = report.properties.get("rpcs")
            found[str(address)] = CellCost(float(report.properties["cpu_s"]), int(rpcs) if rpcs is not None else None)
    return found


def summary(costs: dict[str, CellCost], run_cpu: float | None = None) -> list[str]:
    """The lines bench-cells prints: each cell, then the means per kind and per column, then all."""
    lines = []
    for cell, cost in sorted(costs.items(), key=lambda kv: -kv[1].cpu_s):
        rpcs = f"  {cost.rpcs:6d} RPCs" if cost.rpcs is not None else ""
        lines.append(f"{cost.cpu_s:7.2f} CPU-s{rpcs}  {cell}")

    def line(label: str, group: list[CellCost], extra: str = "") -> str:
        text = f"{label}: {len(group)} cells, mean {statistics.mean(c.cpu_s for c in group):.2f} CPU-s{extra}"
        counted = [c for c in group if c.rpcs is not None]
        rpcs = sum(c.rpcs or 0 for c in counted)
        if counted and rpcs:
            cpu = sum(c.cpu_s for c in counted)
            text += f", {rpcs / len(counted):.0f} RPCs a cell, {1000 * cpu / rpcs:.2f} CPU-ms per RPC"
        return text

    kinds: dict[str, list[CellCost]] = {}
    columns: dict[str, list[CellCost]] = {}
    for cell, cost in costs.items():
        kinds.setdefault(kind_of(cell), []).append(cost)
        columns.setdefault(str(CellAddress.parse(cell).column), []).append(cost)
    lines.extend(line(kind, group) for kind, group in sorted(kinds.items()))
    if len(columns) > 1:
        lines.extend(line(column, group, f", max {max(c.cpu_s for c in group):.2f}") for column, group in sorted(columns.items()))
    everything = list(costs.values())
    lines.append(line("all", everything, f", total {sum(c.cpu_s for c in everything):.1f} CPU-s"))
    if run_cpu is not None:
        pants = max(run_cpu - sum(c.cpu_s for c in everything), 0.0)
        lines.append(
            f"with Pants: {run_cpu:.1f} CPU-s for the run, {run_cpu / len(everything):.2f} CPU-s per cell"
            f" (Pants' share {pants / len(everything):.2f} per cell, one Pants start-up included)"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reports", type=Path, default=Path("dist/test/reports"))
    parser.add_argument("--run-cpu", type=float, default=None, help="CPU-s of the whole Pants run (Pants and the cells it ran)")
    args = parser.parse_args(argv)
    costs = costs_by_cell(args.reports)
    if not costs:
        print(f"no cell reports with cpu_s in {args.reports}")
        return 1
    print("\n".join(summary(costs, args.run_cpu)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
