"""Print `export PRISM_INSTANCE_<BACKEND>=...` for every registry backend (run by ./pants).

A cell's result depends on whether its backend instance is reachable, which Pants cannot see.
Each generated cell passes its backend's variable through (`extra_env_vars`), so the variable is
part of the cell's cache key: a PASS cached while Redis was up is not reused once Redis is down,
and the SKIP is recomputed. Runs with the Pants venv's Python (3.9, PyYAML); must stay fast.
"""

import os
import shlex
import sys
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))
from prism_accept.harness.net import docker_available, reachable  # noqa: E402


def state(instance: dict) -> str:
    if instance.get("embedded"):
        return "embedded"
    url_env = instance.get("url_env")
    if url_env and os.environ.get(url_env):
        url = os.environ[url_env]
        return f"{'up' if reachable(url, 0.25) else 'down'} {url}"
    local = instance.get("local")
    if local:
        parts = [f"{'up' if reachable(local, 0.25) else 'down'} {local}"]
        if instance.get("container"):
            parts.append("docker-up" if docker_available() else "docker-down")
        return " ".join(parts)
    return "none"


def main(registry_dir: str) -> None:
    for path in sorted(Path(registry_dir).glob("*.yaml")):
        try:
            decl = yaml.safe_load(path.read_text()) or {}
            instance = decl.get("instance") or {}
            backend = str(decl.get("backend") or path.stem)
        except Exception:  # a broken file is reported by the registry tests, not here
            continue
        name = "PRISM_INSTANCE_" + "".join(c if c.isalnum() else "_" for c in backend.upper())
        print(f"export {name}={shlex.quote(state(instance) if isinstance(instance, dict) else 'none')}")


if __name__ == "__main__":
    main(sys.argv[1])
