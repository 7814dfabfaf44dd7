"""The cells' own files (tests/compliance/cells/): one per cell name of a kind that may share a
process (interfaces, model-<model>, chaos-<model>, conventions, undeclared, replicas), each as
prism_accept.runtime.cellfile writes it, so a column's cells can share a process."""

from __future__ import annotations

from pathlib import Path

from prism_accept.catalog import load_catalog
from prism_accept.cellname import CHAOS, CellAddress, CellName
from prism_accept.runtime import cellfile

CELLS = Path(cellfile.CELL_FILES_DIR)


def test_every_cell_that_may_share_a_process_has_its_current_file():
    assert cellfile.differences(CELLS, cellfile.catalog_cells(load_catalog())) == [], "fix: python -m prism_accept.runtime.cellfile --write"
    names = {p.name for p in CELLS.glob("test_*.py")}
    assert {
        "test_keyvalue_basic.py",
        "test_model_keyvalue.py",
        "test_chaos_keyvalue.py",
        "test_conventions.py",
        "test_undeclared.py",
        "test_replicas.py",
    } <= names


def test_a_file_names_its_cell():
    for cell in ("keyvalue_basic", "model-keyvalue", "chaos-keyvalue", "conventions", "undeclared", "replicas"):
        name = CellName.parse(cell)
        assert CellName.from_file_stem(name.file_stem) == name
        assert cellfile.file_name(name) == f"test_{cell.replace('-', '_')}.py"
    assert CellName(CHAOS, "keyvalue").kind.shares_process


def test_missing_stale_and_left_over_files_are_named(tmp_path):
    (tmp_path / "test_keyvalue_basic.py").write_text(cellfile.TEMPLATE.format(cell="keyvalue_basic"))
    (tmp_path / "test_keyvalue_scan.py").write_text("# edited by hand\n")
    (tmp_path / "test_keyvalue_gone.py").write_text(cellfile.TEMPLATE.format(cell="keyvalue_gone"))
    cells = [CellName.parse(c) for c in ("keyvalue_basic", "keyvalue_scan", "list_basic")]
    assert cellfile.differences(tmp_path, cells) == [
        f"{tmp_path}/test_list_basic.py: missing",
        f"{tmp_path}/test_keyvalue_scan.py: stale",
        f"{tmp_path}/test_keyvalue_gone.py: no such cell",
    ]


def test_write_makes_the_directory_current(tmp_path, monkeypatch):
    (tmp_path / cellfile.CELL_FILES_DIR).mkdir(parents=True)
    (tmp_path / cellfile.CELL_FILES_DIR / "test_keyvalue_gone.py").write_text("")
    assert cellfile.main(["--root", str(tmp_path)]) == 1
    assert cellfile.main(["--root", str(tmp_path), "--write"]) == 0
    assert cellfile.main(["--root", str(tmp_path)]) == 0
    assert not (tmp_path / cellfile.CELL_FILES_DIR / "test_keyvalue_gone.py").exists()


def test_class_names_are_identifiers():
    for address in ("redis#keyvalue_basic", "redis.valkey-8.1#model-keyvalue"):
        assert cellfile.class_name(CellAddress.parse(address)).isidentifier()
    assert cellfile.class_name(CellAddress.parse("redis.valkey-8.1#keyvalue_basic")) == "Test_redis_valkey_8_1_keyvalue_basic"
