"""`python -m mutants.broken_slow_plugin`: MemStore, 2 ms slower per call (broken_slow.py)."""

import prism_memstore
from mutants.broken_slow import patch
from prism_plugin.runtime import main

patch()
main(prism_memstore.build_plugin)
