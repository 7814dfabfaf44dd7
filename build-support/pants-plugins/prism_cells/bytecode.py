"""Compiled bytecode of a cell's first-party modules, put into its sandbox beside the sources.

Pants gives every test a fresh sandbox, so each cell compiled every first-party module it
imported (the SDK, its plugin, the runtime, the suites, the generated protobuf code: ~100 modules,
about 0.1 CPU-s of a redis cell, more for conventions cells and for the plugin subprocesses of
chaos and replicas cells). Here one process compiles a cell's first-party sources with
hash-checked invalidation (PEP 552: the interpreter checks each .pyc against its source's hash,
not against a timestamp, which a sandbox does not keep). Its result is cached by its inputs, the
sources, so cells with the same sources share it, and a changed source can only make its .pyc
unused, never wrong.
"""

from __future__ import annotations

from dataclasses import dataclass

from pants.backend.python.goals.pytest_runner import PytestPluginSetup, PytestPluginSetupRequest
from pants.backend.python.subsystems.setup import PythonSetup
from pants.backend.python.util_rules.interpreter_constraints import InterpreterConstraints
from pants.backend.python.util_rules.pex_environment import PythonExecutable
from pants.backend.python.util_rules.python_sources import PythonSourceFiles, PythonSourceFilesRequest
from pants.engine.fs import Digest, RemovePrefix
from pants.engine.process import Process, ProcessResult
from pants.engine.rules import Get, collect_rules, rule
from pants.engine.target import Target, TransitiveTargets, TransitiveTargetsRequest
from pants.engine.unions import UnionRule
from pants.util.logging import LogLevel

from prism_cells.target_types import ComplianceBackendField

OUTPUT_DIR = "__prism_bytecode__"

# argv: the .py files; writes OUTPUT_DIR/<dir>/__pycache__/<name>.<tag>.pyc for each. A file
# that does not compile gets no .pyc (quiet=2), so the cell itself reports the SyntaxError.
COMPILE = f"""\
import importlib.util, os, py_compile, sys
for source in sys.argv[1:]:
    py_compile.compile(
        source,
        cfile=os.path.join({OUTPUT_DIR!r}, importlib.util.cache_from_source(source)),
        invalidation_mode=py_compile.PycInvalidationMode.CHECKED_HASH,
        quiet=2,
    )
"""


@dataclass(frozen=True)
class CellBytecodeRequest(PytestPluginSetupRequest):
    @classmethod
    def is_applicable(cls, target: Target) -> bool:
        return target.has_field(ComplianceBackendField) and bool(target[ComplianceBackendField].value)


@rule(desc="Compile a cell's first-party modules", level=LogLevel.DEBUG)
async def cell_bytecode(request: CellBytecodeRequest, python_setup: PythonSetup) -> PytestPluginSetup:
    transitive = await Get(TransitiveTargets, TransitiveTargetsRequest([request.target.address]))
    sources = await Get(PythonSourceFiles, PythonSourceFilesRequest(transitive.closure))
    modules = sorted(f for f in sources.source_files.snapshot.files if f.endswith(".py"))
    if not modules:
        return PytestPluginSetup()
    # The interpreter the cell runs on: the .pyc names carry its cache tag (cpython-311).
    constraints = InterpreterConstraints.create_from_targets([request.target], python_setup)
    python = await Get(
        PythonExecutable, InterpreterConstraints, constraints or InterpreterConstraints(python_setup.interpreter_constraints)
    )
    compiled = await Get(
        ProcessResult,
        Process(
            argv=(python.path, "-c", COMPILE, *modules),
            input_digest=sources.source_files.snapshot.digest,
            output_directories=(OUTPUT_DIR,),
            description=f"Compile {len(modules)} modules for {request.target.address}",
            level=LogLevel.DEBUG,
        ),
    )
    return PytestPluginSetup(await Get(Digest, RemovePrefix(compiled.output_digest, OUTPUT_DIR)))


def rules():
    return [*collect_rules(), UnionRule(PytestPluginSetupRequest, CellBytecodeRequest)]
