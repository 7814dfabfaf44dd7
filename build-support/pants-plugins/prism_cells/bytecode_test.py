"""A cell's sandbox gets hash-checked bytecode of its first-party modules."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

from pants.backend.python.goals.pytest_runner import PytestPluginSetup
from pants.backend.python.subsystems.setup import PythonSetup
from pants.backend.python.target_types import PythonTestTarget
from pants.backend.python.util_rules.interpreter_constraints import InterpreterConstraints
from pants.backend.python.util_rules.pex_environment import PythonExecutable
from pants.backend.python.util_rules.python_sources import PythonSourceFiles, PythonSourceFilesRequest
from pants.core.util_rules.source_files import SourceFiles
from pants.engine.addresses import Address
from pants.engine.fs import EMPTY_DIGEST, Digest, RemovePrefix
from pants.engine.process import Process, ProcessResult
from pants.engine.target import TransitiveTargets, TransitiveTargetsRequest
from pants.engine.unions import UnionMembership
from pants.testutil.option_util import create_subsystem
from pants.testutil.rule_runner import MockGet, RuleRunner, run_rule_with_mocks
from pants.util.ordered_set import FrozenOrderedSet

from prism_cells import bytecode
from prism_cells.bytecode import COMPILE, OUTPUT_DIR, CellBytecodeRequest
from prism_cells.target_types import ComplianceBackendField


def test_the_compile_step_writes_hash_checked_bytecode_where_the_interpreter_looks(tmp_path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "mod.py").write_text("VALUE = 1\n")
    (tmp_path / "pkg" / "broken.py").write_text("def (:\n")
    subprocess.run([sys.executable, "-c", COMPILE, "pkg/mod.py", "pkg/broken.py"], cwd=tmp_path, check=True, timeout=60)
    written = sorted(str(p.relative_to(tmp_path / OUTPUT_DIR)) for p in (tmp_path / OUTPUT_DIR).rglob("*.pyc"))
    want = [importlib.util.cache_from_source("pkg/mod.py")]  # pkg/__pycache__/mod.<tag>.pyc
    assert written == want, f"compiled: got {written}, want {want} (broken.py does not compile: no .pyc)"
    flags = int.from_bytes((tmp_path / OUTPUT_DIR / want[0]).read_bytes()[4:8], "little")
    assert flags == 0b11, f"pyc flags: got {flags:#b}, want 0b11 (checked hash, PEP 552)"


def cell_target(backend: str | None) -> PythonTestTarget:
    fields = {"source": "test_cell.py", **({ComplianceBackendField.alias: backend} if backend else {})}
    membership = UnionMembership.from_rules([PythonTestTarget.register_plugin_field(ComplianceBackendField)])
    return PythonTestTarget(
        fields, Address("tests/compliance", target_name=backend or "plain", generated_name="keyvalue_basic"), membership
    )


def test_only_cells_get_bytecode() -> None:
    assert CellBytecodeRequest.is_applicable(cell_target("alpha"))
    assert not CellBytecodeRequest.is_applicable(cell_target(None))


def test_the_rule_compiles_the_cells_python_sources_and_strips_the_output_directory() -> None:
    snapshot = RuleRunner().make_snapshot({"src/a.py": "", "src/data.json": "{}", "tests/test_cell.py": ""})
    processes: list[Process] = []
    removed: list[RemovePrefix] = []
    target = cell_target("alpha")
    compiled = ProcessResult(b"", EMPTY_DIGEST, b"", EMPTY_DIGEST, EMPTY_DIGEST, None)  # type: ignore[arg-type]
    setup = run_rule_with_mocks(
        bytecode.cell_bytecode,
        rule_args=[CellBytecodeRequest(target), create_subsystem(PythonSetup, interpreter_constraints=["==3.11.*"])],
        mock_gets=[
            MockGet(TransitiveTargets, (TransitiveTargetsRequest,), lambda _: TransitiveTargets((target,), FrozenOrderedSet())),
            MockGet(
                PythonSourceFiles, (PythonSourceFilesRequest,), lambda _: PythonSourceFiles(SourceFiles(snapshot, ()), ("src", "tests"))
            ),
            MockGet(PythonExecutable, (InterpreterConstraints,), lambda _: PythonExecutable(path="/usr/bin/python3.11", fingerprint=None)),
            MockGet(ProcessResult, (Process,), lambda p: processes.append(p) or compiled),
            MockGet(Digest, (RemovePrefix,), lambda r: removed.append(r) or EMPTY_DIGEST),
        ],
    )
    assert isinstance(setup, PytestPluginSetup)
    (process,) = processes
    assert process.argv[0] == "/usr/bin/python3.11" and process.argv[3:] == ("src/a.py", "tests/test_cell.py"), process.argv
    assert process.input_digest == snapshot.digest and process.output_directories == (OUTPUT_DIR,)
    assert removed == [RemovePrefix(EMPTY_DIGEST, OUTPUT_DIR)]
