"""A module a zygote serves in tests/unit/test_zygote.py: run as `python -m`, it prints what it
was given (its argv, PRISM_CELL, what stdin held) and exits with the status stdin asks for."""

import os
import sys

if __name__ == "__main__":
    print(
        f"cell={os.environ.get('PRISM_CELL')} argv0={os.path.basename(sys.argv[0])} pgid_is_pid={os.getpgid(0) == os.getpid()}", flush=True
    )
    asked = sys.stdin.read().strip()
    print(f"stdin={asked}", file=sys.stderr, flush=True)
    raise SystemExit(int(asked or 0))
