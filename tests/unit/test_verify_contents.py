"""The verify PEX carries its suites (Pants takes no `::` in a pex_binary's dependencies) through
`src/prism_accept/suites:every-suite`, which the prism_cells plugin synthesizes from the catalog
(its RuleRunner test checks it names every data model's suite package); without it a plugin
author's cell would ERROR with "no suite"."""

from __future__ import annotations

from pathlib import Path


def test_the_verify_pex_carries_every_suite_and_the_model_cells():
    build = Path("src/prism_accept/BUILD").read_text()
    verify = build[build.index('name="verify"') :]
    assert '"src/prism_accept/suites:every-suite"' in verify, "src/prism_accept:verify must depend on every suite"
    assert '"src/prism_accept/models"' in verify
