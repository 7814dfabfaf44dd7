"""CPU-seconds per cell, from the `cpu_s` property each cell writes into its JUnit report
(its own process and the plugin subprocesses it reaped), and with `--run-cpu` (the CPU time of
the whole Pants run) Pants' own share per cell, and the mean per matrix column (a backend, or a
server variant of it: `redis.valkey-8.1`). Run by build-support/bin/bench-cells; a measurement,
never a test."""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

from prism_accept.cellname import CellAddress, kind_of
from prism_accept.reports.results import parse_report_name, suites_of


def cpu_by_cell(reports: Path) -> dict[str, float]:
    found: dict[str, float] = {}
    for path in sorted(reports.glob("*.xml")):
        cell = parse_report_name(path)
        if cell is None:
            continue
        for suite in suites_of(path):
            for prop in suite.properties():
                if prop.name == "cpu_s":
                    found[f"{cell[0]}#{cell[1]}"] = float(prop.value)
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reports", type=Path, default=Path("dist/test/reports"))
    parser.add_argument("--run-cpu", type=float, default=None, help="CPU-s of the whole Pants run (Pants and the cells it ran)")
    args = parser.parse_args(argv)
    cpu = cpu_by_cell(args.reports)
    if not cpu:
        print(f"no cell reports with cpu_s in {args.reports}")
        return 1
    for cell, seconds in sorted(cpu.items(), key=lambda kv: -kv[1]):
        print(f"{seconds:7.2f} CPU-s  {cell}")
    kinds: dict[str, list[float]] = {}
    for cell, seconds in cpu.items():
        kinds.setdefault(kind_of(cell), []).append(seconds)
    for kind, values in sorted(kinds.items()):
        print(f"{kind}: {len(values)} cells, mean {statistics.mean(values):.2f} CPU-s")
    columns: dict[str, list[float]] = {}
    for cell, seconds in cpu.items():
        columns.setdefault(str(CellAddress.parse(cell).column), []).append(seconds)
    if len(columns) > 1:
        for column, values in sorted(columns.items()):
            print(f"{column}: {len(values)} cells, mean {statistics.mean(values):.2f} CPU-s, max {max(values):.2f}")
    print(f"all: {len(cpu)} cells, mean {statistics.mean(cpu.values()):.2f} CPU-s, total {sum(cpu.values()):.1f} CPU-s")
    if args.run_cpu is not None:
        pants = max(args.run_cpu - sum(cpu.values()), 0.0)
        print(
            f"with Pants: {args.run_cpu:.1f} CPU-s for the run, {args.run_cpu / len(cpu):.2f} CPU-s per cell"
            f" (Pants' share {pants / len(cpu):.2f} per cell, one Pants start-up included)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
