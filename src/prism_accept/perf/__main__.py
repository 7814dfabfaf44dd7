"""`python -m prism_accept.perf [BACKEND...]`: a perf run (runner.py) of the registry's backends,
appended to dist/perf/history.jsonl, this run in dist/perf/latest.json, the reports in
dist/perf/ (reports/perf.py). Never cached: run it on the machine whose numbers you want."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from prism_accept import registry
from prism_accept.perf import history
from prism_accept.perf.runner import PerfRun, Settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="perf", description=__doc__)
    parser.add_argument("backends", nargs="*", help="backends to run (default: every registry/backends/*.yaml)")
    parser.add_argument("--out", type=Path, default=Path("dist/perf"))
    parser.add_argument("--repeats", type=int, default=5, help="short runs per measurement (the confidence interval's n)")
    parser.add_argument("--duration", type=float, default=0.8, help="seconds of one repeat")
    parser.add_argument("--workload", action="append", default=[], help="only these workloads (e.g. ycsb-a)")
    parser.add_argument("--plugin-module", help="serve the backend with this module instead (e.g. mutants.broken_slow_plugin)")
    parser.add_argument("--label", default="", help="the plugin's name in the history when --plugin-module replaces it")
    parser.add_argument("--no-echo", action="store_true", help="skip the bare gRPC echo floor")
    args = parser.parse_args(argv)

    declared = registry.load_all()
    unknown = [b for b in args.backends if b not in declared]
    if unknown:
        parser.error(f"no registry file for {', '.join(unknown)}; known: {', '.join(sorted(declared))}")
    settings = Settings(repeats=args.repeats, duration_s=args.duration, plugin_module=args.plugin_module, label=args.label)
    run = PerfRun(settings, Path.cwd(), log=lambda line: print(line, flush=True))
    if args.workload:
        from prism_accept.perf import workloads

        known = {w.name for w in workloads.WORKLOADS}
        if set(args.workload) - known:
            parser.error(f"unknown workload(s) {sorted(set(args.workload) - known)}; known: {', '.join(sorted(known))}")
        workloads.WORKLOADS = tuple(w for w in workloads.WORKLOADS if w.name in args.workload)
    if not args.no_echo:
        run.echo_floor()
    for name in args.backends or sorted(declared):
        run.backend(declared[name])
    path = args.out / "history.jsonl"
    run.judge(history.read(path))
    history.append(path, run.entries)
    latest = {
        "run_id": run.run_id,
        "time": run.time,
        "commit": run.commit,
        "machine": run.machine,
        "skipped": run.skipped,
        "entries": run.entries,
    }
    (args.out / "latest.json").write_text(json.dumps(latest, indent=1) + "\n")
    from prism_accept.reports import perf as perf_report

    for written in perf_report.write_reports(args.out):
        print(f"wrote {written}")
    flagged = [e for e in run.entries if e.get("regressions")]
    for e in flagged:
        for r in e["regressions"]:
            print(
                f"REGRESSION {e['backend']} {e['workload']} ({e['path']}): "
                f"{r['figure']} {r['before']:.3f} -> {r['now']:.3f} ({r['change']:+.0%})"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
