"""Interface suites: one base class per interface, `<Name>Tests`, at suites/<model>/<rest>.py.

A suite is an ordered list of named cases (its `test_*` methods, run in definition order). It
needs two fixtures from whoever runs it (tests/compliance/test_cell.py does):

- `plugin`: a started plugin (`channel`, `drop_namespace(ns)`), connected to an instance;
- `capabilities`: the backend's `Capabilities`, built from its registry file.
"""

from __future__ import annotations

import importlib
import inspect

from prism_accept.catalog import get_interface
from prism_accept.suites.base import InterfaceSuite


def suite_for(interface: str) -> type[InterfaceSuite]:
    """The suite class of an interface, found by the module convention and checked by its
    `interface` attribute (no table of names to keep in step)."""
    module_name = get_interface(interface).suite_module
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as e:
        if e.name and module_name.startswith(e.name):
            raise LookupError(f"no suite for {interface}: write {module_name} (see prism_accept/suites/__init__.py)") from e
        raise
    found = [
        obj
        for obj in vars(module).values()
        if inspect.isclass(obj) and issubclass(obj, InterfaceSuite) and obj.__module__ == module.__name__
    ]
    if len(found) != 1 or found[0].interface != interface:
        raise LookupError(f"{module_name} must define exactly one InterfaceSuite with interface = {interface!r}, found {[c.__name__ for c in found]}")
    return found[0]
