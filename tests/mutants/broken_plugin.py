"""A MemStore plugin with the bug named by $PRISM_MUTANT (see broken_stores.MUTANTS)."""

import os

from mutants.broken_stores import HUNG, MUTANTS
from prism_accept.plugins.memstore import plugin as memstore_plugin
from prism_accept.plugins.runtime import main

_, store_class, patch = {**MUTANTS, **HUNG}[os.environ["PRISM_MUTANT"]]
if patch:
    patch()
memstore_plugin.MemStore = store_class
main(memstore_plugin.build_plugin)
