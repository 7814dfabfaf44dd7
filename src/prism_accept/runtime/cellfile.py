"""What a cell file holds: the test class of one cell, with the cell it runs (`cell_address`).

Two kinds of file define cells: tests/compliance/test_cell.py, the cell of the environment
(PRISM_BACKEND, PRISM_VARIANT, PRISM_CELL), and tests/compliance/cells/test_<cell>.py, the cell
the file is named after (`test_keyvalue_basic.py`, `test_model_keyvalue.py`, `test_undeclared.py`)
of the environment's backend: one file per cell name the catalog gives a kind that may share a
process (prism_accept.cellname: CellKind.shares_process), written by
`python -m prism_accept.runtime.cellfile --write` (a unit test fails when one is missing or stale).
Pants hands several cells of a column to one pytest process (build-support/pants-plugins/prism_cells),
so each cell must be a file of its own.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from prism_accept.cellname import INTERFACE, KINDS, MODEL_KINDS, CellAddress, CellName

if TYPE_CHECKING:
    from prism_accept.catalog import Interface

CELL_FILES_DIR = "tests/compliance/cells"
FILE_PREFIX = "test_"
TEMPLATE = '''"""The {cell} cell of $PRISM_BACKEND (generated: python -m prism_accept.runtime.cellfile --write)."""

from prism_accept.runtime.cellfile import define_cell_of_file

pytest_plugins = ["prism_accept.runtime.cell"]

define_cell_of_file(globals())
'''


def class_name(address: CellAddress) -> str:
    """`Test_redis_valkey_8_1_keyvalue_basic`: a Python identifier (a cell file holds one class,
    and reports tell cells apart by module and class)."""
    text = f"Test_{address.column}_{address.cell}"
    return "".join(c if c.isalnum() or c == "_" else "_" for c in text)


def _define(namespace: dict[str, Any], address: CellAddress) -> None:
    from prism_accept.runtime.cell import declaration_of
    from prism_accept.runtime.kinds import cell_class

    declaration = declaration_of(address.column)
    if address.cell.kind is INTERFACE and str(address.cell) not in declaration.implements:
        raise RuntimeError(f"{declaration.path} does not declare {address.cell}: there is no such cell")
    name = class_name(address)
    namespace[name] = type(name, (cell_class(str(address.cell)),), {"__module__": namespace["__name__"], "cell_address": address})


def define_cell_of_environment(namespace: dict[str, Any]) -> None:
    """The environment's cell (test_cell.py)."""
    from prism_accept.runtime.cell import cell_address

    _define(namespace, cell_address())


def define_cell_of_file(namespace: dict[str, Any]) -> None:
    """The cell of the environment's backend that the file is named after."""
    from prism_accept.runtime.cell import column_from_environment

    stem = Path(namespace["__file__"]).stem.removeprefix(FILE_PREFIX)
    _define(namespace, CellAddress(column_from_environment(), CellName.from_file_stem(stem)))


def file_name(cell: CellName) -> str:
    return f"{FILE_PREFIX}{cell.file_stem}.py"


def catalog_cells(catalog: tuple[Interface, ...]) -> list[CellName]:
    """Every cell name of a kind that may share a process, for the catalog's interfaces and
    their data models, whichever backend has it."""
    models = list(dict.fromkeys(i.model for i in catalog))
    cells: list[CellName] = []
    for kind in KINDS:
        if not kind.shares_process:
            continue
        if kind is INTERFACE:
            cells += [CellName.of_interface(i.name) for i in catalog]
        elif kind in MODEL_KINDS:
            cells += [CellName(kind, m) for m in models]
        elif kind.fixed:
            cells.append(CellName(kind))
    return cells


def expected_files(cells: list[CellName]) -> dict[str, str]:
    """Every cell file the cells need: file name -> its text."""
    return {file_name(c): TEMPLATE.format(cell=c) for c in cells}


def differences(directory: Path, cells: list[CellName]) -> list[str]:
    """What is missing, stale or left over in `directory`, one line each ([] when current)."""
    want = expected_files(cells)
    have = {p.name: p.read_text() for p in directory.glob(f"{FILE_PREFIX}*.py")} if directory.is_dir() else {}
    found = [f"{directory / n}: missing" for n in sorted(set(want) - set(have))]
    found += [f"{directory / n}: stale" for n in sorted(set(want) & set(have)) if want[n] != have[n]]
    found += [f"{directory / n}: no such cell" for n in sorted(set(have) - set(want))]
    return found


def main(argv: list[str] | None = None) -> int:
    from prism_accept.catalog import load_catalog

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="write the files (else: check them)")
    parser.add_argument("--root", type=Path, default=Path("."), help="the repository's root")
    args = parser.parse_args(argv)
    directory = args.root / CELL_FILES_DIR
    cells = catalog_cells(load_catalog())
    if args.write:
        directory.mkdir(parents=True, exist_ok=True)
        want = expected_files(cells)
        for path in directory.glob(f"{FILE_PREFIX}*.py"):
            if path.name not in want:
                path.unlink()
        for name, text in want.items():
            path = directory / name
            if not path.is_file() or path.read_text() != text:
                path.write_text(text)
        return 0
    problems = differences(directory, cells)
    for line in problems:
        print(f"{line}; fix: python -m prism_accept.runtime.cellfile --write", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
