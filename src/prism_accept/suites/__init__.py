"""Interface suites: one base class per interface, `<Name>Tests`, at suites/<model>/<rest>.py.

A suite is an ordered list of named cases (its `test_*` methods, run in definition order). It
needs two fixtures from whoever runs it (tests/compliance/test_cell.py does):

- `plugin`: a started plugin (`channel`, `drop_namespace(ns)`), connected to an instance;
- `capabilities`: the backend's `Capabilities`, built from its registry file.
"""

from __future__ import annotations

from prism_accept.catalog import get_interface
from prism_accept.conventional import the_class
from prism_accept.suites.base import InterfaceSuite


def suite_for(interface: str) -> type[InterfaceSuite]:
    """The suite class of an interface, found by the module convention and checked by its
    `interface` attribute (no table of names to keep in step)."""
    return the_class(
        get_interface(interface).suite_module,
        lambda c: issubclass(c, InterfaceSuite) and c.interface == interface,
        f"InterfaceSuite with interface = {interface!r}",
        f"no suite for {interface}",
    )
