"""The matrix reads per-cell JUnit reports and says pass, fail, skip or error."""

from __future__ import annotations

import json

from prism_accept.compliance import matrix
from prism_accept.registry import load_all

PASS = '<testsuites><testsuite><properties><property name="instance" value="redis://x (local service)"/></properties><testcase name="a"/><testcase name="b"/></testsuite></testsuites>'
FAIL = '<testsuites><testsuite><testcase name="a"/><testcase name="b"><failure message="AssertionError: Get k: got 1, want 2">tb</failure></testcase></testsuite></testsuites>'
SKIP = '<testsuites><testsuite><testcase name="a"><skipped message="no redis instance: start it"/></testcase></testsuite></testsuites>'
ERROR = '<testsuites><testsuite><testcase name="a"><error message="failed on setup: PluginStartError"/></testcase></testsuite></testsuites>'


def write(tmp_path, backend, cell, text):
    matrix.report_path(tmp_path, backend, cell).write_text(text)


def test_statuses(tmp_path):
    for name, text in {"p": PASS, "f": FAIL, "s": SKIP, "e": ERROR}.items():
        write(tmp_path, "b", name, text)
    results = {name: matrix.read_report(matrix.report_path(tmp_path, "b", name)) for name in "pfse"}
    assert (results["p"].status, results["p"].passed, results["p"].instance) == ("pass", 2, "redis://x (local service)")
    assert (results["f"].status, results["f"].failed, results["f"].reason) == ("fail", 1, "b: AssertionError: Get k: got 1, want 2")
    assert (results["s"].status, results["s"].skipped, results["s"].reason) == ("skip", 1, "no redis instance: start it")
    assert results["e"].status == "error"
    assert matrix.read_report(tmp_path / "missing.xml").status == "error"


def test_matrix_covers_every_declared_cell(tmp_path):
    backends = load_all()
    memstore = backends["memstore"]
    for interface in memstore.implements:
        write(tmp_path, "memstore", interface, PASS)
    write(tmp_path, "memstore", "undeclared", PASS)
    write(tmp_path, "redis", "keyvalue_basic", SKIP)
    built = matrix.build_matrix(backends, tmp_path)
    assert set(built["memstore"]) == {*memstore.implements, "undeclared"}
    assert built["redis"]["keyvalue_basic"].status == "skip"
    assert built["redis"]["list_basic"].status == "error"  # no report: did not run
    text = matrix.render(built)
    assert f"Backend: memstore ({len(memstore.implements)}/{len(memstore.implements)} interfaces PASS)" in text
    assert "  ✓ keyvalue_basic  (2 cases)" in text
    assert "Backend: redis (0/10 interfaces PASS, 9 ERROR, 1 SKIP)" in text
    assert text.splitlines()[-1] == "Total: 10/20 interfaces PASS across 2 backends"
    as_json = json.loads(json.dumps(matrix.to_json(built)))
    assert as_json["redis"]["keyvalue_basic"] == {"status": "skip", "passed": 0, "failed": 0, "skipped": 1, "reason": "no redis instance: start it"}
    partial = matrix.build_matrix(backends, tmp_path, partial=True)
    assert set(partial["redis"]) == {"keyvalue_basic"}
