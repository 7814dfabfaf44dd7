"""The CI workflow is generated from the registry: the committed file must be current and valid
against GitHub's workflow schema (check-jsonschema's vendored copy, no network)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

from prism_accept.registry import load_all
from prism_accept.reports import workflow

COMMITTED = Path(".github/workflows/compliance.yml")
REGENERATE = "./pants run src/prism_accept/reports/workflow.py"


def schema_errors(path: Path) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    return "" if done.returncode == 0 else done.stdout + done.stderr


def test_committed_workflow_is_current():
    assert COMMITTED.read_text() == workflow.render(load_all()), f"{COMMITTED} is stale: run {REGENERATE}"


def test_a_registry_change_changes_the_workflow():
    backends = load_all()
    fewer = {k: v for k, v in backends.items() if k != "redis"}
    assert workflow.render(fewer) != workflow.render(backends)
    jobs = workflow.workflow(backends)["jobs"]
    assert jobs["cells-redis"]["services"]["instance"]["image"] == backends["redis"].instance.container.image
    assert "services" not in jobs["cells-memstore"]  # embedded: no container
    # A command: no service container (it takes none) but a docker run step, then the wait.
    nats = jobs["cells-nats"]
    assert "services" not in nats
    (run,) = [s["run"] for s in nats["steps"] if s.get("run", "").startswith("docker run")]
    assert run == "docker run -d --name prism-instance -p 4222:4222 nats:2.9 -js\n"
    assert any("127.0.0.1/4222" in s.get("run", "") for s in nats["steps"])
    assert jobs["summary"]["needs"] == [f"cells-{name}" for name in sorted(backends)]


def test_workflow_matches_githubs_schema(tmp_path):
    assert schema_errors(COMMITTED) == ""
    broken = yaml.safe_load(COMMITTED.read_text())
    del broken["jobs"]["summary"]["runs-on"]
    bad = tmp_path / "broken.yml"
    bad.write_text(yaml.safe_dump(broken))
    assert "runs-on" in schema_errors(bad)  # the check does catch a broken workflow
