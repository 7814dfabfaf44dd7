"""prism-verify, as a plugin author outside this repository runs it: the PEX Pants builds
(src/prism_accept:verify, put into this test's sandbox by runtime_package_dependencies), run from
a temporary directory against the Node.js plugin of node_plugin/ (keyvalue_basic and
keyvalue_scan over a Map): both interfaces, #model-keyvalue, #conventions and #undeclared PASS; each deliberately
wrong variant FAILs with a non-zero exit; `--endpoint` verifies a plugin it did not start and
leaves it running; a bad registry file or endpoint is a clear error naming the field. A Python
plugin in its own venv, with a protobuf major version other than the PEX's (python_plugin/), passes
too: a `plugin.command` runs in its author's environment, not on the PEX's Python.

Needs node and npm (the plugin's packages are installed with `npm ci` once per package-lock.json
into ~/.cache/prism-accept/verify-node-plugin/). Slow: about 15 s per verify run, 50 s in all.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

HERE = Path(__file__).parent
PLUGIN_SOURCES = HERE / "node_plugin"
PLUGIN_FILES = ["package.json", "package-lock.json", "server.js", "health.proto", "nodekv.yaml"]
PEX_IN_SANDBOX = Path("src.prism_accept/verify.pex")  # where Pants puts the packaged PEX
PEX_IN_REPO = Path("dist/src.prism_accept/verify.pex")  # after `./pants package src/prism_accept:verify`
CACHE = Path.home() / ".cache" / "prism-accept" / "verify-node-plugin"
RUN_TIMEOUT_S = 300
NPM_TIMEOUT_S = 300
CELLS = ["keyvalue_basic", "keyvalue_scan", "model-keyvalue", "conventions", "undeclared"]
PYTHON_PLUGIN = HERE / "python_plugin"
PYTHON_PLUGIN_VENVS = Path.home() / ".cache" / "prism-accept" / "verify-python-plugin"


def missing(what: str) -> None:
    """A tool this test needs is absent: a failure in CI, a skip (with the reason) elsewhere."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{what} (CI=true: a missing tool is a failure)")
    pytest.skip(what)


@pytest.fixture(scope="module")
def pex() -> Path:
    for candidate in (PEX_IN_SANDBOX, PEX_IN_REPO):
        if candidate.is_file():
            return candidate.resolve()
    pytest.fail(f"no prism-verify PEX at {PEX_IN_SANDBOX} or {PEX_IN_REPO}: run through `./pants test tests/verify::`")


@pytest.fixture(scope="module")
def node_modules() -> Path:
    """The plugin's npm packages, installed by `npm ci` once per package-lock.json."""
    if not shutil.which("node") or not shutil.which("npm"):
        missing("node and npm are needed to run the Node.js example plugin")
    lock = (PLUGIN_SOURCES / "package-lock.json").read_bytes()
    home = CACHE / hashlib.sha256(lock).hexdigest()[:16]
    done = home / ".installed"
    if not done.is_file():
        shutil.rmtree(home, ignore_errors=True)
        home.mkdir(parents=True)
        for name in ("package.json", "package-lock.json"):
            shutil.copyfile(PLUGIN_SOURCES / name, home / name)
        result = subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund", "--ignore-scripts"], cwd=home, capture_output=True, text=True, timeout=NPM_TIMEOUT_S
        )
        assert result.returncode == 0, f"npm ci failed ({result.returncode}):\n{result.stderr[-3000:]}"
        done.write_text("ok\n")
    return home / "node_modules"


@pytest.fixture
def plugin_dir(tmp_path, node_modules) -> Path:
    """The plugin as its author has it: sources, node_modules and nodekv.yaml in one directory,
    outside this repository."""
    plugin = tmp_path / "nodekv"
    plugin.mkdir()
    for name in PLUGIN_FILES:
        shutil.copyfile(PLUGIN_SOURCES / name, plugin / name)
    (plugin / "node_modules").symlink_to(node_modules)
    return plugin


def plugin_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ, PRISM_PROTO_DIR=str(Path("proto").resolve()), **extra)
    env.pop("PRISM_REGISTRY_DIR", None)  # the PEX must bring its own catalog
    return env


def run_verify(pex: Path, plugin_dir: Path, *args: str, **env: str) -> tuple[subprocess.CompletedProcess, dict]:
    """prism-verify nodekv/nodekv.yaml, run from the directory above the plugin's (its
    `command: [node, server.js]` starts in the YAML's directory); (process, matrix.json)."""
    result = subprocess.run(
        [str(pex), f"{plugin_dir.name}/nodekv.yaml", "--out", f"{plugin_dir.name}/reports", *args],
        cwd=plugin_dir.parent,
        env=plugin_env(**env),
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
    )
    matrix_file = plugin_dir / "reports" / "matrix.json"
    assert matrix_file.is_file(), f"no matrix.json (exit {result.returncode}):\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result, json.loads(matrix_file.read_text())


def statuses(matrix: dict) -> dict[str, str]:
    return {cell: r["status"] for cell, r in matrix["backends"]["nodekv"]["cells"].items()}


@pytest.mark.timeout(RUN_TIMEOUT_S)
def test_the_node_plugin_passes(pex, plugin_dir):
    result, matrix = run_verify(pex, plugin_dir)
    assert statuses(matrix) == dict.fromkeys(CELLS, "pass"), result.stdout
    assert result.returncode == 0, result.stdout + result.stderr
    assert "nodekv (2/2 interfaces PASS)" in result.stdout
    assert matrix["backends"]["nodekv"]["certifies"]["plugin"] == ["nodekv 0.1.0"]
    cells = matrix["backends"]["nodekv"]["cells"]
    assert cells["keyvalue_basic"]["passed"] >= 19 and cells["keyvalue_scan"]["passed"] >= 13, cells
    for name in (
        "matrix.md",
        "matrix.html",
        "junit.xml",
        *(f"reports/tests.compliance.nodekv@{c}.xml" for c in CELLS),
        "reports/keyvalue_scan.log",
    ):
        assert (plugin_dir / "reports" / name).is_file(), name


@pytest.mark.timeout(RUN_TIMEOUT_S)
@pytest.mark.parametrize(
    "bug, failing",
    [("delete-always-found", "keyvalue_basic"), ("glob-prefix", "keyvalue_scan")],
)
def test_a_wrong_variant_fails(pex, plugin_dir, bug, failing):
    result, matrix = run_verify(pex, plugin_dir, PRISM_NODEKV_BUG=bug)
    assert result.returncode == 1, result.stdout + result.stderr
    got = statuses(matrix)
    assert got[failing] == "fail", got
    # The model cell reads through both interfaces, so it may catch the bug too; nothing else may.
    assert all(status == "pass" for cell, status in got.items() if cell not in (failing, "model-keyvalue")), got


@pytest.mark.timeout(RUN_TIMEOUT_S)
def test_endpoint_verifies_a_running_plugin_and_leaves_it_running(pex, plugin_dir):
    proc = subprocess.Popen(
        ["node", "server.js"], cwd=plugin_dir, env=plugin_env(), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )
    try:
        line: list[bytes] = []
        reader = threading.Thread(target=lambda: line.append(proc.stdout.readline()), daemon=True)
        reader.start()
        reader.join(timeout=30)
        assert line and line[0].startswith(b"PRISM_PLUGIN|1|tcp|"), f"no handshake from the plugin: {line}"
        address = line[0].decode().strip().split("|")[3]
        # The YAML's command must not be what runs: point it at something that cannot start.
        yaml = plugin_dir / "nodekv.yaml"
        yaml.write_text(yaml.read_text().replace("command: [node, server.js]", "command: [/nonexistent/plugin]"))
        result, matrix = run_verify(pex, plugin_dir, "--endpoint", address)
        assert statuses(matrix) == dict.fromkeys(CELLS, "pass"), result.stdout
        assert result.returncode == 0
        assert proc.poll() is None, "prism-verify stopped a plugin it did not start"
    finally:
        proc.stdin.close()
        proc.wait(timeout=10)


def test_a_bad_registry_file_is_a_clear_error(pex, tmp_path):
    (tmp_path / "nodekv.yaml").write_text((PLUGIN_SOURCES / "nodekv.yaml").read_text().replace("keyvalue_scan", "keyvalue_scna"))
    result = subprocess.run([str(pex), "nodekv.yaml"], cwd=tmp_path, env=plugin_env(), capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, result.stdout + result.stderr
    assert (
        "nodekv.yaml: field 'implements[1]': 'keyvalue_scna' is not a known interface; fix: did you mean 'keyvalue_scan'?" in result.stderr
    )
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "prism-verify-reports").exists()


def test_a_bad_endpoint_is_a_clear_error(pex, tmp_path):
    shutil.copyfile(PLUGIN_SOURCES / "nodekv.yaml", tmp_path / "nodekv.yaml")
    with socket.socket() as s:  # a port nothing listens on once closed
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with socket.socket() as listening:  # answers TCP, but is no plugin
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        not_plugin = f"127.0.0.1:{listening.getsockname()[1]}"
        took: dict[str, float] = {}
        for endpoint, message in [
            ("nonsense", "endpoint 'nonsense' is not host:port"),
            (f"127.0.0.1:{port}", f"--endpoint 127.0.0.1:{port}: nothing accepts connections there"),
            (not_plugin, f"--endpoint {not_plugin}: answers, but not as a Prism plugin: GetInfo answered"),
        ]:
            started = time.monotonic()
            result = subprocess.run(
                [str(pex), "nodekv.yaml", "--endpoint", endpoint],
                cwd=tmp_path,
                env=plugin_env(),
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert result.returncode == 2, result.stdout + result.stderr
            assert message in result.stderr, result.stderr
            said = [line for line in result.stderr.splitlines() if line.startswith("prism-verify")]  # not the PEX's own notes
            assert endpoint == "nonsense" or len(said) == 1, result.stderr  # argparse adds its usage
            took[endpoint] = time.monotonic() - started
        # "nonsense" fails at argument parsing: its time is the PEX's own start-up
        assert max(took.values()) < took["nonsense"] + 5, f"seconds to the error, by endpoint: {took}"


@pytest.fixture(scope="module")
def python_plugin_venv() -> Path:
    """The Python plugin's own venv (grpcio 1.85 with protobuf 7: not the PEX's 1.70 and 5.29),
    made once per requirements file with pip from the package index."""
    requirements = (PYTHON_PLUGIN / "requirements.txt").read_bytes()
    venv = PYTHON_PLUGIN_VENVS / hashlib.sha256(requirements + sys.version.encode()).hexdigest()[:16]
    if not (venv / ".installed").is_file():
        shutil.rmtree(venv, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
        result = subprocess.run(
            [str(venv / "bin" / "pip"), "install", "-q", "-r", str(PYTHON_PLUGIN / "requirements.txt")],
            capture_output=True,
            text=True,
            timeout=NPM_TIMEOUT_S,
        )
        if result.returncode != 0:
            missing(f"cannot install the Python plugin's venv: {result.stderr[-1500:]}")
        (venv / ".installed").write_text("ok\n")
    return venv


@pytest.mark.timeout(RUN_TIMEOUT_S)
def test_a_python_plugin_in_its_own_venv_with_another_protobuf_passes(pex, python_plugin_venv, tmp_path):
    plugin = tmp_path / "pykv"
    shutil.copytree(PYTHON_PLUGIN, plugin)
    python = python_plugin_venv / "bin" / "python"
    protos = [str(p.relative_to("proto")) for p in Path("proto").rglob("*.proto")]
    (plugin / "gen").mkdir()
    subprocess.run(
        [
            str(python),
            "-m",
            "grpc_tools.protoc",
            "-Iproto",
            f"--python_out={plugin / 'gen'}",
            f"--grpc_python_out={plugin / 'gen'}",
            *protos,
        ],
        check=True,
        timeout=120,
    )
    yaml_text = (plugin / "pykv.yaml").read_text().replace("VENV_PYTHON", str(python))
    (plugin / "pykv.yaml").write_text(yaml_text)
    result = subprocess.run(
        [str(pex), "pykv/pykv.yaml", "--out", "pykv/reports"],
        cwd=tmp_path,
        env=plugin_env(),
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
    )
    matrix = json.loads((plugin / "reports" / "matrix.json").read_text())
    cells = {cell: r["status"] for cell, r in matrix["backends"]["pykv"]["cells"].items()}
    assert cells == dict.fromkeys(["keyvalue_basic", "model-keyvalue", "conventions", "undeclared"], "pass"), result.stdout[-4000:]
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "protobuf 7." in matrix["backends"]["pykv"]["certifies"]["backend_version"][0], "the plugin ran on its own protobuf"
