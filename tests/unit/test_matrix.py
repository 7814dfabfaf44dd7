"""The matrix reads per-cell JUnit reports (synthetic ones here) and every report format says
the same: pass, known deviation, fail, skip or error, with what the run certifies."""

from __future__ import annotations

import json

import yaml
from junitparser import JUnitXml

from prism_accept.paths import registry_dir
from prism_accept.redact import redact
from prism_accept.reports import matrix, write_all
from prism_accept.reports.text import render_text

PROPS = (
    '<properties><property name="instance" value="redis://:s3cret@db.example:6379/0 (url_env)"/>'
    '<property name="backend_version" value="redis 7.0.15"/><property name="plugin" value="redis 0.1.0"/></properties>'
)


def suite(cases: str, props: str = PROPS, timestamp: str = "2026-11-26T18:00:00+00:00") -> str:
    return f'<testsuites><testsuite name="pytest" timestamp="{timestamp}" hostname="runner-7">{props}{cases}</testsuite></testsuites>'


PASS = suite('<testcase name="test_a"/><testcase name="test_b"/>')
DEVIATION = suite(
    '<testcase name="test_a"/><testcase name="test_scan_order">'
    '<skipped type="pytest.xfail" message="SCAN returns keys unordered"/></testcase>'
)
XPASS = suite(
    '<testcase name="test_a"/><testcase name="test_scan_order"><failure message="[XPASS(strict)] SCAN returns keys unordered"/></testcase>'
)
FAIL = suite(
    '<testcase name="test_a"/><testcase name="test_get">'
    "<failure message=\"AssertionError: Get k: got b'1', want b'2'\">Traceback\nAssertionError: Get k: got b'1', want b'2'</failure>"
    "</testcase>"
)
SKIP = suite('<testcase name="test_a"><skipped type="pytest.skip" message="no redis instance: start it"/></testcase>', props="")
PARTLY_SKIPPED = suite('<testcase name="test_a"/><testcase name="test_b"><skipped type="pytest.skip" message="needs a clock"/></testcase>')
ERROR = suite('<testcase name="test_a"><error message="failed on setup with PluginStartError: redis://u:pw@h:1 refused"/></testcase>')
EMPTY = suite("")


def write(reports, backend, cell, text):
    reports.mkdir(parents=True, exist_ok=True)
    matrix.report_path(reports, backend, cell).write_text(text)


def test_cell_statuses(tmp_path):
    for name, text in {"p": PASS, "d": DEVIATION, "x": XPASS, "f": FAIL, "s": SKIP, "ps": PARTLY_SKIPPED, "e": ERROR, "n": EMPTY}.items():
        write(tmp_path, "b", name, text)
    r = {name: matrix.read_report(matrix.report_path(tmp_path, "b", name)) for name in ("p", "d", "x", "f", "s", "ps", "e", "n")}
    assert (r["p"].status, r["p"].passed, r["p"].plugin, r["p"].backend_version) == ("pass", 2, "redis 0.1.0", "redis 7.0.15")
    assert r["p"].instance == "redis://***@db.example:6379/0 (url_env)"
    assert (r["d"].status, r["d"].passed, r["d"].deviations) == ("deviation", 1, 1)
    assert [(c.name, c.message) for c in r["d"].known_deviations] == [("test_scan_order", "SCAN returns keys unordered")]
    assert (r["x"].status, r["x"].failed) == ("fail", 1)  # a known deviation that no longer happens fails
    assert (r["f"].status, r["f"].reason) == ("fail", "test_get: AssertionError: Get k: got b'1', want b'2'")
    failed = r["f"].cases[1]
    assert (failed.operation, failed.got, failed.want) == ("Get k", "b'1'", "b'2'")
    assert (r["s"].status, r["s"].skipped, r["s"].passed, r["s"].reason) == ("skip", 1, 0, "no redis instance: start it")
    assert (r["ps"].status, r["ps"].passed, r["ps"].skipped) == ("pass", 1, 1)  # the skipped case is not counted as passed
    assert r["e"].status == "error" and "pw" not in r["e"].reason and "redis://***@h:1" in r["e"].reason
    assert (r["n"].status, r["n"].reason) == ("error", "no case ran")
    assert matrix.read_report(tmp_path / "missing.xml").status == "error"
    (tmp_path / "broken.xml").write_text("<testsuites><testsuite>")
    assert matrix.read_report(tmp_path / "broken.xml").status == "error"


def test_redact():
    assert redact("redis://:pw@h:6379/0 and postgres://me:p%40ss@db/x") == "redis://***@h:6379/0 and postgres://***@db/x"
    assert redact("redis://h:6379/0 http://user@h/") == "redis://h:6379/0 http://***@h/"


def sample_backends(tmp_path):
    """memstore and redis with their keyvalue and list interfaces only: the sample's counts stay
    put while the live registry grows."""
    out = tmp_path / "sample-registry" / "backends"
    if not out.is_dir():
        out.mkdir(parents=True)
        (out.parent / "interfaces.yaml").write_text((registry_dir() / "interfaces.yaml").read_text())
        for name in ("memstore", "redis"):
            decl = yaml.safe_load((registry_dir() / "backends" / f"{name}.yaml").read_text())
            decl["implements"] = [i for i in decl["implements"] if i.startswith(("keyvalue_", "list_"))]
            decl.pop("variants", None)  # server variants: test_matrix_variants.py
            decl["deviations"] = [
                d for d in decl.get("deviations", []) if d["cell"].startswith(("keyvalue", "list", "model-keyvalue", "model-list"))
            ]
            (out / f"{name}.yaml").write_text(yaml.safe_dump(decl))
    return out


def sample_run(tmp_path, backends=("memstore", "redis")):
    reports = tmp_path / "reports"
    declared = matrix.load_all(sample_backends(tmp_path))
    for name in backends:
        for interface in declared[name].implements:
            write(reports, name, interface, PASS)
        write(reports, name, "undeclared", PASS)
    write(reports, "redis", "keyvalue_scan", DEVIATION)
    write(reports, "redis", "keyvalue_ttl", SKIP)
    write(reports, "redis", "list_basic", FAIL)
    write(reports, "redis", "model-keyvalue", PASS)
    write(reports, "redis", "conventions", PASS)
    return reports, matrix.load_matrix(reports, sample_backends(tmp_path), commit="abc123")


def test_every_declared_cell_and_the_extra_checks(tmp_path):
    reports, m = sample_run(tmp_path)
    matrix.report_path(reports, "memstore", "list_range").unlink()
    m = matrix.load_matrix(reports, sample_backends(tmp_path), commit="abc123")
    redis = m.cells["redis"]
    assert list(redis)[-3:] == ["model-keyvalue", "conventions", "undeclared"]
    assert set(m.interfaces("redis")) == set(matrix.load_all(sample_backends(tmp_path))["redis"].implements)  # checks are not interfaces
    assert m.cells["memstore"]["list_range"].status == "error"  # no report: did not run
    partial = matrix.load_matrix(reports, sample_backends(tmp_path), partial=True, commit="x")
    assert "list_range" not in partial.cells["memstore"]


def test_text_counts_neither_skip_nor_deviation_as_pass(tmp_path):
    _, m = sample_run(tmp_path)
    text = render_text(m)
    assert "Suite: abc123; report written " in text
    assert "Backend: memstore (10/10 interfaces PASS)" in text
    assert "Backend: redis (7/10 interfaces PASS, 1 PASS*, 1 FAIL, 1 SKIP)" in text
    assert "  ✓* keyvalue_scan  (1 cases, 1 known deviation)" in text
    assert "      known deviation test_scan_order: SCAN returns keys unordered" in text
    assert "  ✓ keyvalue data model: 2 cases" in text
    assert "  plugin: redis 0.1.0" in text and "  server: redis 7.0.15" in text and "  ran: 2026-11-26T18:00:00+00:00" in text
    assert "Total: 17/20 interfaces PASS, 1 PASS*, 1 FAIL, 1 SKIP across 2 backends" in text
    assert "s3cret" not in text
    assert not m.ok


def test_written_reports(tmp_path):
    reports, m = sample_run(tmp_path)
    out = tmp_path / "out"
    written = write_all(m, reports, out)
    assert sorted(p.name for p in written) == ["faults.md", "junit.xml", "matrix.html", "matrix.json", "matrix.md"]
    for path in written:
        assert "s3cret" not in path.read_text(), path
        assert "runner-7" not in path.read_text(), path  # the runner's host name certifies nothing

    data = json.loads((out / "matrix.json").read_text())
    assert data["certifies"]["suite_commit"] == "abc123"
    assert data["totals"]["interfaces"] == {"pass": 17, "deviation": 1, "fail": 1, "error": 0, "skip": 1}
    scan = data["backends"]["redis"]["cells"]["keyvalue_scan"]
    assert (scan["status"], scan["known_deviations"]) == (
        "deviation",
        [{"case": "test_scan_order", "reason": "SCAN returns keys unordered"}],
    )
    assert data["backends"]["redis"]["cells"]["conventions"]["kind"] == "conventions"
    assert data["backends"]["redis"]["certifies"]["plugin"] == ["redis 0.1.0"]
    assert data["backends"]["redis"]["certifies"]["instance"] == ["redis://***@db.example:6379/0 (url_env)"]

    md = (out / "matrix.md").read_text()
    assert "| keyvalue | keyvalue\\_scan | ✅ PASS | ⚠️ PASS\\* (1 known) |" in md
    assert "| keyvalue | keyvalue data model | — | ✅ PASS |" in md
    assert "| keyvalue | keyvalue\\_ttl | ✅ PASS | ⏭️ SKIP |" in md
    assert "| redis | keyvalue\\_scan | test\\_scan\\_order | SCAN returns keys unordered |" in md
    assert "| redis | redis 0.1.0 | redis 7.0.15 | redis://\\*\\*\\*@db.example:6379/0 (url\\_env) |" in md

    merged = JUnitXml.fromfile(str(out / "junit.xml"))
    names = [s.name for s in merged]
    assert "redis#keyvalue_scan" in names and "memstore#undeclared" in names
    assert merged.tests == sum(len(r.cases) for row in m.cells.values() for r in row.values())
    assert merged.failures == 1


def rendered_text(markdown: str) -> str:
    """matrix.md as GitHub shows it (cmarkgfm is GitHub's own cmark), tags stripped."""
    import re

    import cmarkgfm

    html = cmarkgfm.github_flavored_markdown_to_html(markdown)
    return re.sub(r"<[^>]+>", "", html)


def test_markdown_renders_every_string_as_written(tmp_path):
    reports, m = sample_run(tmp_path)
    write_all(m, reports, tmp_path / "out")
    md = (tmp_path / "out" / "matrix.md").read_text()
    import cmarkgfm

    html = cmarkgfm.github_flavored_markdown_to_html(md)
    shown = rendered_text(md)
    assert "<em>" not in html, "a * or _ in a generated string became emphasis"
    for text in (
        "17/20 interfaces PASS, 1 PASS*, 1 FAIL, 1 SKIP across 2 backends",
        "PASS* (1 known)",
        "keyvalue_scan",
        "test_scan_order",
        "redis://***@db.example:6379/0 (url_env)",
    ):
        assert text in shown, f"{text!r} is not in matrix.md as GitHub renders it"


def test_grid_cells_say_failed_of_total_and_passes_with_skips_apart(tmp_path):
    from prism_accept.reports.labels import cell_text

    reports = tmp_path / "reports"
    for cell, text in (("keyvalue_basic", FAIL), ("keyvalue_scan", PARTLY_SKIPPED), ("keyvalue_ttl", ERROR), ("list_basic", PASS)):
        write(reports, "redis", cell, text)
    m = matrix.load_matrix(reports, sample_backends(tmp_path), partial="tests/compliance:redis", commit="x")
    texts = {cell: cell_text(r) for cell, r in m.cells["redis"].items()}
    assert texts == {"keyvalue_basic": "FAIL 1/2", "keyvalue_scan": "PASS (1 skipped)", "keyvalue_ttl": "ERROR 1/1", "list_basic": "PASS"}
    out = tmp_path / "out"
    write_all(m, reports, out)
    page = (out / "matrix.html").read_text()
    assert 'class="cell s-pass with-skips"' in page and ">PASS (1 skipped)<" in page
    assert "Partial matrix: only the cells of tests/compliance:redis" in page
    assert "Partial matrix: only the cells of tests/compliance:redis" in rendered_text((out / "matrix.md").read_text())
    assert json.loads((out / "matrix.json").read_text())["certifies"]["partial"] == "tests/compliance:redis"
    assert render_text(m).splitlines()[3].startswith("Partial matrix")


def test_an_error_every_case_shares_is_shown_once(tmp_path):
    same = suite(
        "".join(f'<testcase name="test_{i}"><error message="failed on setup with PluginStartError: boom"/></testcase>' for i in range(5))
    )
    reports = tmp_path / "reports"
    write(reports, "redis", "keyvalue_basic", same)
    m = matrix.load_matrix(reports, sample_backends(tmp_path), partial="one", commit="x")
    write_all(m, reports, tmp_path / "out")
    page = (tmp_path / "out" / "matrix.html").read_text()
    assert page.count("PluginStartError: boom") == 2, "once in the detail, once in the cell's tooltip"
    assert page.count("the error above") == 5


def test_faults_report_reads_each_chaos_case(tmp_path):
    reports, _ = sample_run(tmp_path)
    seen = json.dumps(
        {
            "fault": "partition",
            "during": {"UNAVAILABLE": 3, "OK": 1},
            "health": {"NOT_SERVING": 2},
            "detected_s": 0.41,
            "recovery_s": 1.25,
            "acked": 12,
            "lost": 0,
            "duplicated": 1,
            "unexpected": 0,
        }
    ).replace('"', "&quot;")
    write(
        reports,
        "redis",
        "chaos-keyvalue",
        suite(
            f'<testcase name="test_fault[partition]"><properties><property name="fault" value="{seen}"/></properties></testcase>'
            '<testcase name="test_fault[backend_crash]">'
            '<skipped type="pytest.skip" message="no private server: behaviours.faults"/></testcase>'
        ),
    )
    m = matrix.load_matrix(reports, sample_backends(tmp_path), commit="abc123")
    written = {p.name: p for p in write_all(m, reports, tmp_path / "out")}
    text = written["faults.md"].read_text()
    assert "| redis | keyvalue | partition | PASS | OK 1, UNAVAILABLE 3 | NOT_SERVING 2 | 0.41 s | 1.25 s | 12 | 0 | 1 | 0 |" in text, text
    assert "| redis | keyvalue | backend_crash | SKIP | no private server: behaviours.faults |" in text, text


def test_faults_report_without_chaos_cells(tmp_path):
    reports, m = sample_run(tmp_path)
    written = {p.name: p for p in write_all(m, reports, tmp_path / "out")}
    assert "No chaos cell in this run." in written["faults.md"].read_text()
