"""matrix.json: every cell's status, counts, known deviations and the instance it ran against."""

from __future__ import annotations

from dataclasses import asdict

from prism_accept.reports.engines import GOAL, engine_coverage


def _cell(r) -> dict:
    cell = {
        "status": r.status,
        "kind": r.kind,
        "engine": r.engine,
        "passed": r.passed,
        "failed": r.failed,
        "skipped": r.skipped,
        "deviations": r.deviations,
        "reason": r.reason,
        "instance": r.instance,
        "backend_version": r.backend_version,
        "plugin": r.plugin,
        "ran_at": r.timestamp,
        "known_deviations": [{"case": c.name, "reason": c.message} for c in r.known_deviations],
        "cases": [{k: v for k, v in asdict(c).items() if v not in ("", None)} for c in r.cases],
    }
    return cell


def to_json(matrix) -> dict:
    """{"certifies": {...}, "totals": {...}, "backends": {backend: {"certifies": ..., "cells": {cell: {...}}}}}."""
    return {
        "certifies": {"suite_commit": matrix.commit, "generated_at": matrix.generated_at, "partial": matrix.partial or None},
        "totals": {"interfaces": matrix.status_counts("interface"), "checks": matrix.status_counts("check"), "cases": matrix.case_counts()},
        "engines": {
            "goal": GOAL,
            "interfaces_with_two_real_engines": len(engine_coverage(matrix).covered),
            "by_interface": engine_coverage(matrix).engines,
        },
        "backends": {
            backend: {"certifies": matrix.certifies(backend), "cells": {c: _cell(r) for c, r in row.items()}}
            for backend, row in matrix.cells.items()
        },
    }
