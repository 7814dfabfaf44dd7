"""The interface cells' files (tests/compliance/cells/): one per interface of the catalog, each
as prism_accept.runtime.cellfile writes it, so a column's interface cells can share a process."""

from __future__ import annotations

from pathlib import Path

from prism_accept.catalog import interface_names
from prism_accept.cellname import CellAddress
from prism_accept.runtime import cellfile

CELLS = Path(cellfile.CELL_FILES_DIR)


def test_every_interface_has_its_current_cell_file():
    assert cellfile.differences(CELLS, interface_names()) == [], "fix: python -m prism_accept.runtime.cellfile --write"


def test_missing_stale_and_left_over_files_are_named(tmp_path):
    (tmp_path / "test_keyvalue_basic.py").write_text(cellfile.TEMPLATE.format(interface="keyvalue_basic"))
    (tmp_path / "test_keyvalue_scan.py").write_text("# edited by hand\n")
    (tmp_path / "test_keyvalue_gone.py").write_text(cellfile.TEMPLATE.format(interface="keyvalue_gone"))
    assert cellfile.differences(tmp_path, ["keyvalue_basic", "keyvalue_scan", "list_basic"]) == [
        f"{tmp_path}/test_list_basic.py: missing",
        f"{tmp_path}/test_keyvalue_scan.py: stale",
        f"{tmp_path}/test_keyvalue_gone.py: no such interface in the catalog",
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
