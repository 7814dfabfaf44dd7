"""Classes found by module convention (a suite, a model cell), so no table of names is kept."""

from __future__ import annotations

import importlib
import inspect
from typing import Callable


def the_class(module_name: str, accept: Callable[[type], bool], what: str, missing: str) -> type:
    """The one class of `module_name` that `accept` takes; LookupError saying what to write."""
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as e:
        if e.name and module_name.startswith(e.name):
            raise LookupError(f"{missing}: write {module_name}") from e
        raise
    found = [c for c in vars(module).values() if inspect.isclass(c) and c.__module__ == module_name and accept(c)]
    if len(found) != 1:
        raise LookupError(f"{module_name} must define exactly one {what}, found {[c.__name__ for c in found]}")
    return found[0]
