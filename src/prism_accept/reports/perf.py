"""The perf section of the reports, from dist/perf/ (latest.json: the last run; history.jsonl:
every run): per backend and workload the figures with their confidence intervals, the ratio to
the backend's own client, the SLO verdicts and regressions; the HTML adds plots (matplotlib,
inlined as SVG): each workload's latency distribution, plugin vs direct, and p99 over runs.
Without results, each report says so in one line."""

from __future__ import annotations

import html
import io
import json
from pathlib import Path

from prism_accept.perf import history

PERF_DIR = Path("dist/perf")
NO_RESULTS = "Performance: no results in dist/perf/ (run `make perf`)."


def load(perf_dir: Path = PERF_DIR) -> tuple[dict | None, list[dict]]:
    latest = perf_dir / "latest.json"
    if not latest.is_file():
        return None, []
    return json.loads(latest.read_text()), history.read(perf_dir / "history.jsonl")


def _fig(e: dict, name: str, digits: int = 3) -> str:
    f = e["figures"].get(name)
    if not f:
        return "-"
    half = (f["high"] - f["low"]) / 2
    return f"{f['mean']:,.{digits}f} ± {half:,.{digits}f}" if half == half and half != float("inf") else f"{f['mean']:,.{digits}f}"


def _direct(latest: dict, e: dict) -> dict | None:
    return next(
        (d for d in latest["entries"] if d["path"] == "direct" and d["backend"] == e["backend"] and d["workload"] == e["workload"]), None
    )


def _verdicts(e: dict) -> str:
    parts = [f"{k} {v['verdict']} ({v['target']:g})" for k, v in (e.get("slo") or {}).items()]
    return "; ".join(parts) or "-"


def _rfc(e: dict) -> str:
    return ", ".join(f"{'p99' if k == 'p99_ms' else 'tput'} {v['verdict']}" for k, v in (e.get("rfc_015") or {}).items()) or "-"


def _regression(e: dict) -> str:
    if e.get("regressions"):
        return "REGRESSION " + ", ".join(f"{r['figure']} {r['change']:+.0%}" for r in e["regressions"])
    return "first run (baseline)" if not e.get("baseline_run") else "no regression beyond noise"


def rows(latest: dict) -> list[dict]:
    """One row per plugin (and echo) entry, with what the tables show."""
    out = []
    for e in latest["entries"]:
        if e["path"] == "direct":
            continue
        d = _direct(latest, e)
        ratio = (e.get("ratio") or {}).get("p50_ms")
        out.append(
            {
                "backend": e["backend"],
                "workload": e["workload"],
                "p50": _fig(e, "p50_ms"),
                "p99": _fig(e, "p99_ms"),
                "max": _fig(e, "max_ms"),
                "throughput": _fig(e, "throughput", 0),
                "cpu": _fig(e, "cpu_us_per_op", 0),
                "direct_p99": _fig(d, "p99_ms") if d else "-",
                "ratio": f"{ratio:.2f}" if ratio else "-",
                "slo": _verdicts(e),
                "rfc": _rfc(e),
                "trend": _regression(e),
                "error": "; ".join(
                    [
                        *([str(e["error"])] if e.get("error") else []),
                        *([f"direct client failed: {e['direct_error']}"] if e.get("direct_error") else []),
                        *(e.get("notes") or []),
                    ]
                ),
            }
        )
    return out


COLUMNS = [
    ("backend", "backend"),
    ("workload", "workload"),
    ("p50", "p50 ms"),
    ("p99", "p99 ms"),
    ("max", "max ms"),
    ("throughput", "ops/s"),
    ("cpu", "plugin CPU us/op"),
    ("direct_p99", "direct p99 ms"),
    ("ratio", "p50 plugin/direct"),
    ("slo", "SLO"),
    ("rfc", "RFC-015 5 ms / 10k"),
    ("trend", "vs previous run"),
    ("error", "notes"),
]


def header(latest: dict) -> str:
    return (
        f"run {latest['run_id']} at {latest['time']}, commit {latest['commit']}, on {latest['machine']['description']} "
        f"(machine {latest['machine']['id']}); figures are the mean of {max((e['repeats'] for e in latest['entries']), default=0)} "
        "repeats ± the half-width of its 95% confidence interval"
    )


def markdown_section(perf_dir: Path = PERF_DIR) -> str:
    latest, _ = load(perf_dir)
    if latest is None:
        return NO_RESULTS + "\n"
    lines = ["## Performance", "", header(latest) + ".", ""]
    lines.append("| " + " | ".join(t for _, t in COLUMNS) + " |")
    lines.append("|" + "---|" * len(COLUMNS))
    for r in rows(latest):
        lines.append("| " + " | ".join(str(r[k]).replace("|", "/") for k, _ in COLUMNS) + " |")
    for backend, why in sorted(latest.get("skipped", {}).items()):
        lines.append(f"\n- {backend}: not measured: {why}")
    flagged = [e for e in latest["entries"] if e.get("regressions")]
    lines.append("")
    lines.append(f"Regressions against the previous run on this machine: {len(flagged)}" + ("." if not flagged else ":"))
    for e in flagged:
        for r in e["regressions"]:
            lines.append(f"- **{e['backend']} {e['workload']}**: {r['figure']} {r['before']:.3f} -> {r['now']:.3f} ({r['change']:+.0%})")
    return "\n".join(lines) + "\n"


def json_section(perf_dir: Path = PERF_DIR) -> dict:
    latest, _ = load(perf_dir)
    if latest is None:
        return {"results": None, "note": NO_RESULTS}
    return {
        "run_id": latest["run_id"],
        "time": latest["time"],
        "commit": latest["commit"],
        "machine": latest["machine"],
        "skipped": latest.get("skipped", {}),
        "entries": [{k: v for k, v in e.items() if k != "runs"} for e in latest["entries"]],
    }


def _svg(fig) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg") :]


def _grid(count: int):
    """A figure of small panels, one per workload (4 a row), so each is read at a glance."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cols = min(4, max(1, count))
    rows = (count + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(2.6 * cols, 2.0 * rows), squeeze=False)
    for ax in axes.flat[count:]:
        ax.set_visible(False)
    return fig, list(axes.flat)


def _workloads(latest: dict, backend: str) -> list[str]:
    return list(
        dict.fromkeys(e["workload"] for e in latest["entries"] if e["backend"] == backend and e["path"] != "direct" and e.get("runs"))
    )


def distribution_plot(latest: dict, backend: str):
    """Per workload of one backend: latency by percentile (HdrHistogram's spectrum of the last
    repeat, log-log), the plugin solid, the backend's own client dashed."""
    import matplotlib.ticker

    names = _workloads(latest, backend)
    fig, axes = _grid(len(names))
    for ax, name in zip(axes, names):
        for e in latest["entries"]:
            if e["backend"] != backend or e["workload"] != name or not e.get("runs") or not e["runs"][-1]["spectrum"]:
                continue
            spectrum = e["runs"][-1]["spectrum"]
            xs = [1 / (1 - p / 100) if p < 100 else 1e5 for p, _ in spectrum]
            direct = e["path"] == "direct"
            ax.plot(
                xs,
                [ms for _, ms in spectrum],
                "--" if direct else "-",
                color="tab:gray" if direct else "tab:blue",
                marker=".",
                label="direct client" if direct else "plugin",
            )
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xticks([2, 10, 100, 1000, 1e5], ["50", "90", "99", "99.9", "max"], fontsize=6)
        ax.yaxis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
        ax.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.tick_params(axis="y", labelsize=6)
        ax.set_title(name, fontsize=8)
        ax.grid(True, which="major", alpha=0.3)
        if len(ax.get_lines()) > 1:
            ax.legend(fontsize=5, loc="upper left")
    fig.suptitle(f"{backend}: latency (ms) by percentile", fontsize=9)
    fig.tight_layout()
    return fig


def history_plot(latest: dict, past: list[dict], backend: str):
    """Per workload of one backend: p99 (solid) and p50 (dashed) in ms over the runs on this
    machine; a figure that regressed in this run is red (throughput regressions: in the title)."""
    import matplotlib.ticker

    entries = [e for e in latest["entries"] if e["backend"] == backend and e["path"] != "direct" and e["figures"]]
    fig, axes = _grid(len(entries))
    for ax, e in zip(axes, entries):
        regressed = {r["figure"] for r in e.get("regressions") or ()}
        for figure, style in (("p99_ms", "-"), ("p50_ms", "--")):
            points = list(history.trend(past, e, figure))
            bad = figure in regressed
            ax.plot(
                range(1, len(points) + 1),
                [v for _, v in points],
                style,
                marker="o",
                color="tab:red" if bad else "tab:blue",
                label=figure[:3],
            )
        title = e["workload"] + (f" REGRESSION {', '.join(sorted(regressed))}" if regressed else "")
        ax.set_title(title, fontsize=7, color="tab:red" if regressed else "black")
        ax.legend(fontsize=5, loc="upper left")
        ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
        ax.tick_params(labelsize=6)
        ax.set_ylim(bottom=0)
        ax.grid(True, alpha=0.3)
    fig.suptitle(f"{backend}: p99 and p50 (ms) over runs on this machine", fontsize=9)
    fig.tight_layout()
    return fig


def html_section(perf_dir: Path = PERF_DIR) -> str:
    latest, past = load(perf_dir)
    if latest is None:
        return f"<section id='perf'><p>{html.escape(NO_RESULTS)}</p></section>"
    out = ["<section id='perf'><h2>Performance</h2>", f"<p>{html.escape(header(latest))}.</p>", "<table class='perf'><tr>"]
    out += [f"<th>{html.escape(t)}</th>" for _, t in COLUMNS] + ["</tr>"]
    for r in rows(latest):
        bad = "REGRESSION" in r["trend"] or "misses" in r["slo"]
        out.append(
            "<tr" + (" class='bad'" if bad else "") + ">" + "".join(f"<td>{html.escape(str(r[k]))}</td>" for k, _ in COLUMNS) + "</tr>"
        )
    out.append("</table>")
    for backend, why in sorted(latest.get("skipped", {}).items()):
        out.append(f"<p>{html.escape(backend)}: not measured: {html.escape(why)}</p>")
    for backend in dict.fromkeys(e["backend"] for e in latest["entries"] if e["path"] == "plugin"):
        out.append(f"<h3>{html.escape(backend)}</h3><div class='plots'>")
        out.append(_svg(distribution_plot(latest, backend)))
        out.append(_svg(history_plot(latest, past, backend)))
        out.append("</div>")
    out.append("</section>")
    return "\n".join(out)


STYLE = (
    "body{font-family:sans-serif;margin:1em}table.perf{border-collapse:collapse;font-size:12px}"
    "table.perf td,table.perf th{border:1px solid #ccc;padding:2px 5px}tr.bad td{background:#fdd}"
)


def write_reports(perf_dir: Path = PERF_DIR) -> list[Path]:
    """dist/perf/perf.md, perf.html (self-contained) and perf.json."""
    paths = [perf_dir / "perf.md", perf_dir / "perf.html", perf_dir / "perf.json"]
    paths[0].write_text(markdown_section(perf_dir))
    paths[1].write_text(
        "<!doctype html><html><head><meta charset='utf-8'><title>prism-accept performance</title>"
        f"<style>{STYLE}</style></head><body>{html_section(perf_dir)}</body></html>\n"
    )
    paths[2].write_text(json.dumps(json_section(perf_dir), indent=1) + "\n")
    return paths


# The three hooks of reports.write_all: the matrix reports with the perf section added.


def matrix_json(document: dict, perf_dir: Path) -> dict:
    """matrix.json with the key `perf`."""
    return {**document, "perf": json_section(perf_dir)}


def matrix_markdown(text: str, perf_dir: Path) -> str:
    """matrix.md with the perf section at its end."""
    return text.rstrip("\n") + "\n\n" + markdown_section(perf_dir)


def matrix_html(page: str, perf_dir: Path) -> str:
    """matrix.html with the perf section before </body>."""
    section = html_section(perf_dir)
    at = page.rfind("</body>")
    return page[:at] + section + page[at:] if at >= 0 else page + section
