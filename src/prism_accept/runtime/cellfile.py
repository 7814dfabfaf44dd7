"""What a cell file holds: the test class of one cell, with the cell it runs (`cell_address`).

Two kinds of file define cells: tests/compliance/test_cell.py, the cell of the environment
(PRISM_BACKEND, PRISM_VARIANT, PRISM_CELL), and tests/compliance/cells/test_<interface>.py, the
interface cell of the environment's backend, one file per interface of the catalog (written by
`python -m prism_accept.runtime.cellfile --write`; a unit test fails when one is missing or stale).
Pants hands a column's interface cells to one pytest process when batching is on
(build-support/pants-plugins/prism_cells), so each cell must be a file of its own.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from prism_accept.cellname import INTERFACE, CellAddress, CellName

CELL_FILES_DIR = "tests/compliance/cells"
FILE_PREFIX = "test_"
TEMPLATE = '''"""The {interface} cell of $PRISM_BACKEND (generated: python -m prism_accept.runtime.cellfile --write)."""

from prism_accept.runtime.cellfile import define_interface_cell

pytest_plugins = ["prism_accept.runtime.cell"]

define_interface_cell(globals())
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


def define_interface_cell(namespace: dict[str, Any]) -> None:
    """The interface cell of the environment's backend that the file is named after."""
    from prism_accept.runtime.cell import column_from_environment

    interface = Path(namespace["__file__"]).stem.removeprefix(FILE_PREFIX)
    _define(namespace, CellAddress(column_from_environment(), CellName.of_interface(interface)))


def file_name(interface: str) -> str:
    return f"{FILE_PREFIX}{interface}.py"


def expected_files(interfaces: list[str]) -> dict[str, str]:
    """Every cell file the catalog's interfaces need: file name -> its text."""
    return {file_name(i): TEMPLATE.format(interface=i) for i in interfaces}


def differences(directory: Path, interfaces: list[str]) -> list[str]:
    """What is missing, stale or left over in `directory`, one line each ([] when current)."""
    want = expected_files(interfaces)
    have = {p.name: p.read_text() for p in directory.glob(f"{FILE_PREFIX}*.py")} if directory.is_dir() else {}
    found = [f"{directory / n}: missing" for n in sorted(set(want) - set(have))]
    found += [f"{directory / n}: stale" for n in sorted(set(want) & set(have)) if want[n] != have[n]]
    found += [f"{directory / n}: no such interface in the catalog" for n in sorted(set(have) - set(want))]
    return found


def main(argv: list[str] | None = None) -> int:
    from prism_accept.catalog import interface_names

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="write the files (else: check them)")
    parser.add_argument("--root", type=Path, default=Path("."), help="the repository's root")
    args = parser.parse_args(argv)
    directory = args.root / CELL_FILES_DIR
    interfaces = interface_names()
    if args.write:
        directory.mkdir(parents=True, exist_ok=True)
        for name in {n for n in differences(directory, interfaces) if n.endswith(": no such interface in the catalog")}:
            Path(name.rpartition(":")[0]).unlink()
        for name, text in expected_files(interfaces).items():
            path = directory / name
            if not path.is_file() or path.read_text() != text:
                path.write_text(text)
        return 0
    problems = differences(directory, interfaces)
    for line in problems:
        print(f"{line}; fix: python -m prism_accept.runtime.cellfile --write", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
