"""Modules imported when first used, not when a plugin is loaded: every cell loads its plugin,
and few of them serve the interfaces that need networkx (about 0.3 CPU-s to import).

    if TYPE_CHECKING:
        import networkx as nx  # for type checkers, and for Pants' dependency inference
    else:
        nx = lazy.module("networkx")
"""

from __future__ import annotations

import importlib
import threading
from types import ModuleType
from typing import Any


class _Deferred(ModuleType):
    """Stands for a module until an attribute is asked for, then imports it through the import
    system, whose per-module lock makes a second thread wait for the first thread's import
    (importlib.util.LazyLoader does not, before Python 3.12)."""

    def __init__(self, name: str):
        super().__init__(name)
        self._module: ModuleType | None = None
        self._warming = False

    def __getattr__(self, attr: str) -> Any:
        module = self._module
        if module is None:
            module = self._module = importlib.import_module(self.__name__)
        return getattr(module, attr)


def module(name: str) -> ModuleType:
    """A stand-in for module `name` that imports it on first attribute access."""
    return _Deferred(name)


def warm(module: ModuleType) -> None:
    """Start importing a stand-in's module on a thread of its own, once: called by a store's first
    write, so that a later call needing the module (a traversal, PageRank) does not spend its
    deadline importing it (seconds of wall time on a loaded machine). A call that needs it sooner
    waits for that import."""
    if isinstance(module, _Deferred) and module._module is None and not module._warming:
        module._warming = True
        threading.Thread(target=importlib.import_module, args=(module.__name__,), name=f"import-{module.__name__}", daemon=True).start()
