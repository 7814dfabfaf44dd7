"""Generate .github/workflows/compliance.yml from the registry: one job per backend (with its
instance as a service container), every job reading and writing one remote cache, and a summary
job that merges the cells' reports and writes matrix.md to the job summary.

`./pants run src/prism_accept/reports/workflow.py` rewrites the file; `--check` fails when the
committed file differs (tests/unit/test_workflow.py runs the same comparison).
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

import yaml

from prism_accept.cellname import CELLS_PATH, Column
from prism_accept.registry import BackendDeclaration, ContainerSpec, load_all

WORKFLOW = Path(".github/workflows/compliance.yml")
HEADER = """\
# GENERATED from registry/backends/*.yaml by `./pants run src/prism_accept/reports/workflow.py`:
# do not edit (tests/unit/test_workflow.py fails when this file is stale).
#
# One job per backend runs its cells (`./pants matrix tests/compliance:<backend>`) against a
# service container of its instance; the summary job merges every job's reports into
# dist/compliance/ and writes matrix.md to the job summary. Set the repository variable
# PRISM_REMOTE_CACHE (grpc://host:port of an REAPI cache, e.g. BuildGrid) to share one remote cache
# between all runners (README: "CI and the remote cache").
"""
WAIT_DEADLINE_S = 90

SETUP = [
    {"uses": "actions/checkout@v4"},
    {"uses": "actions/setup-python@v5", "with": {"python-version": "3.9\n3.11\n"}},
    {
        "name": "grpc_python_plugin for the stubs (the runner image brings Chrome and chromedriver)",
        "run": "sudo apt-get update -q && sudo apt-get install -y -q protobuf-compiler-grpc\n",
    },
    {
        "uses": "actions/cache@v4",
        "with": {
            "path": "~/.cache/pants/setup\n~/.cache/pants/named_caches\n~/.cache/prism-accept\n",
            "key": "pants-${{ runner.os }}-${{ hashFiles('build-support/bootstrap/*', '3rdparty/python/default.lock') }}",
        },
    },
    {
        "name": "Remote cache (when the PRISM_REMOTE_CACHE variable is set)",
        "if": "vars.PRISM_REMOTE_CACHE != ''",
        "run": "\n".join(
            [
                'echo "PANTS_REMOTE_STORE_ADDRESS=${{ vars.PRISM_REMOTE_CACHE }}" >> "$GITHUB_ENV"',
                'echo "PANTS_REMOTE_CACHE_READ=true" >> "$GITHUB_ENV"',
                'echo "PANTS_REMOTE_CACHE_WRITE=true" >> "$GITHUB_ENV"',
            ]
        )
        + "\n",
    },
]


def _service(decl: BackendDeclaration) -> dict | None:
    container = decl.instance.container
    if container is None or decl.instance.embedded or container.command:
        return None
    service: dict = {"image": container.image, "ports": [f"{container.port}:{container.port}"]}
    if container.env:
        service["env"] = dict(container.env)
    return service


def _docker_run(container: ContainerSpec) -> str:
    env = "".join(f" -e {shlex.quote(f'{k}={v}')}" for k, v in container.env.items())
    command = " ".join(shlex.quote(a) for a in container.command)
    return f"docker run -d --name prism-instance -p {container.port}:{container.port}{env} {shlex.quote(container.image)} {command}\n"


def _cells_job(name: str, decl: BackendDeclaration) -> dict:
    job: dict = {"name": f"cells: {name}", "runs-on": "ubuntu-latest", "timeout-minutes": 30}
    steps = [*SETUP]
    service, container = _service(decl), decl.instance.container
    if service:
        job["services"] = {"instance": service}
    elif container is not None and container.command and not decl.instance.embedded:
        steps.append({"name": f"Start the {name} instance (a service container takes no command)", "run": _docker_run(container)})
    if container is not None and not decl.instance.embedded:
        port = container.port
        steps.append(
            {
                "name": f"Wait for the {name} instance on 127.0.0.1:{port}",
                "run": f"timeout {WAIT_DEADLINE_S} bash -c 'until (exec 3<>/dev/tcp/127.0.0.1/{port}) 2>/dev/null; do sleep 0.5; done'\n",
            }
        )
    # the server variants' cells too: the harness starts their servers from the lockfile's distributions
    targets = [f"{CELLS_PATH}:{column}" for column in (Column(name), *(Column(name, v) for v in decl.variant_names))]
    steps += [
        {
            "name": f"Cells of {name}" + (" and its server variants" if decl.variants else ""),
            "run": f"./pants matrix {' '.join(targets)}\n",
        },
        {
            "name": "Upload the cells' reports",
            "if": "always()",
            "uses": "actions/upload-artifact@v4",
            "with": {"name": f"cells-{name}", "path": "dist/test/reports/", "if-no-files-found": "error"},
        },
    ]
    job["steps"] = steps
    return job


def workflow(backends: dict[str, BackendDeclaration]) -> dict:
    cell_jobs = {f"cells-{name}": _cells_job(name, backends[name]) for name in sorted(backends)}
    checks = {
        "name": "unit, registry and mutant tests; workflow is current",
        "runs-on": "ubuntu-latest",
        "timeout-minutes": 30,
        "env": {"CI": "true"},
        "steps": [*SETUP, {"run": "./pants test tests/unit:: tests/registry:: tests/mutants::\n"}],
    }
    summary = {
        "name": "Compliance matrix",
        "runs-on": "ubuntu-latest",
        "needs": list(cell_jobs),
        "if": "always()",
        "steps": [
            {"uses": "actions/checkout@v4"},
            {"uses": "actions/setup-python@v5", "with": {"python-version": "3.11"}},
            {
                "uses": "actions/download-artifact@v4",
                "with": {"pattern": "cells-*", "merge-multiple": True, "path": "dist/test/reports"},
            },
            {
                "name": "Merge the reports; matrix.md to the job summary",
                "run": "\n".join(
                    [
                        "rc=0",
                        'build-support/bin/print-matrix --commit "${{ github.sha }}" || rc=$?',
                        'cat dist/compliance/matrix.md >> "$GITHUB_STEP_SUMMARY"',
                        'exit "$rc"',
                    ]
                )
                + "\n",
            },
            {
                "name": "Upload the merged reports",
                "if": "always()",
                "uses": "actions/upload-artifact@v4",
                "with": {"name": "compliance-reports", "path": "dist/compliance/"},
            },
        ],
    }
    return {
        "name": "Interface Compliance Matrix",
        "on": {"push": {"branches": ["main"]}, "pull_request": {"branches": ["main"]}, "workflow_dispatch": None},
        "permissions": {"contents": "read"},
        "jobs": {"checks": checks, **cell_jobs, "summary": summary},
    }


class _Dumper(yaml.SafeDumper):
    """Multi-line strings as literal blocks, so the shell steps read like scripts; no anchors."""

    def ignore_aliases(self, data):
        return True


_Dumper.add_representer(
    str,
    lambda d, s: d.represent_scalar("tag:yaml.org,2002:str", s, style="|" if "\n" in s else None),
)


def render(backends: dict[str, BackendDeclaration]) -> str:
    body = yaml.dump(workflow(backends), Dumper=_Dumper, sort_keys=False, width=120, default_flow_style=False)
    return HEADER + body


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail when the committed workflow is stale")
    parser.add_argument("--out", type=Path, default=WORKFLOW)
    args = parser.parse_args(argv)
    text = render(load_all())
    if args.check:
        if not args.out.is_file() or args.out.read_text() != text:
            print(f"{args.out} is stale: run ./pants run src/prism_accept/reports/workflow.py", file=sys.stderr)
            return 1
        return 0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
