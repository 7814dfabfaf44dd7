"""A MemStore plugin with the bug named by $PRISM_MUTANT (see broken_stores.MUTANTS)."""

import os

import prism_memstore
from mutants.broken_stores import HUNG, MUTANTS
from prism_plugin.runtime import main

_, patch = {**MUTANTS, **HUNG}[os.environ["PRISM_MUTANT"]]
patch()
main(prism_memstore.build_plugin)
