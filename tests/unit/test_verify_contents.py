"""The verify PEX lists its suites (Pants takes no `::` in a pex_binary's dependencies): the suite
directory of every interface some backend declares must be there, or a plugin author's cell of
that interface would ERROR with "no suite"."""

from __future__ import annotations

from pathlib import Path

from prism_accept.catalog import get_interface
from prism_accept.registry import load_all


def test_the_verify_pex_carries_every_declared_suite_and_the_model_cells():
    build = Path("src/prism_accept/BUILD").read_text()
    models = sorted({get_interface(i).model for decl in load_all().values() for i in decl.implements})
    missing = [m for m in models if f'"src/prism_accept/suites/{m}"' not in build]
    assert not missing, f"add these suite directories to src/prism_accept:verify's dependencies: {missing}"
    assert '"src/prism_accept/models"' in build
