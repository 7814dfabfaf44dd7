"""CPU-seconds per cell, from the `cpu_s` property each cell writes into its JUnit report
(its own process and the plugin subprocesses it reaped; Pants' own overhead is not in it).
Run by build-support/bin/bench-cells after a `--force` run; a measurement, never a test."""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

from prism_accept.compliance.results import parse_report_name, suites_of


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
    args = parser.parse_args(argv)
    cpu = cpu_by_cell(args.reports)
    if not cpu:
        print(f"no cell reports with cpu_s in {args.reports}")
        return 1
    for cell, seconds in sorted(cpu.items(), key=lambda kv: -kv[1]):
        print(f"{seconds:7.2f} CPU-s  {cell}")
    kinds: dict[str, list[float]] = {}
    for cell, seconds in cpu.items():
        rest = cell.split("#", 1)[1]
        kinds.setdefault(
            "model" if rest.startswith("model-") else rest if rest in ("undeclared", "conventions") else "interface", []
        ).append(seconds)
    for kind, values in sorted(kinds.items()):
        print(f"{kind}: {len(values)} cells, mean {statistics.mean(values):.2f} CPU-s")
    print(f"all: {len(cpu)} cells, mean {statistics.mean(cpu.values()):.2f} CPU-s, total {sum(cpu.values()):.1f} CPU-s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
