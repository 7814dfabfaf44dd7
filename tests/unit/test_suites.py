"""Suites are found from the catalog and the suite modules, and follow the conventions."""

from __future__ import annotations

import dataclasses
import inspect

import pytest

from prism_accept import suites
from prism_accept.catalog import load_catalog
from prism_accept.registry import load_all
from prism_accept.suites import suite_for
from prism_accept.suites.base import Capabilities, InterfaceSuite, check, expect_status
from prism_accept.suites.requirements import requires, unmet


@pytest.mark.parametrize("interface", [i.name for i in load_catalog()])
def test_suite_is_found_by_convention(interface):
    suite = suite_for(interface)
    assert issubclass(suite, InterfaceSuite) and suite.interface == interface
    assert not suite.__name__.startswith("Test"), "a base suite must not be collected on its own"
    cases = [n for n, _ in inspect.getmembers(suite, inspect.isfunction) if n.startswith("test_")]
    assert len(cases) >= 3, f"{suite.__name__} has only {len(cases)} cases"


def test_every_requirement_of_every_suite_names_something_a_registry_file_can_declare():
    """Importing every suite resolved each of its marks (an unknown name raises when the suite is
    imported, so a typo cannot hide as a SKIP on every backend)."""
    from prism_accept.suites.requirements import MARK

    marks = [
        m
        for interface in load_catalog()
        for suite in [suite_for(interface.name)]
        for target in [suite, *(f for n, f in inspect.getmembers(suite, inspect.isfunction) if n.startswith("test_"))]
        for m in getattr(target, "pytestmark", [])
        if m.name == MARK
    ]
    assert marks, "no suite declares a requirement"
    for bad in (
        lambda: requires.limit("max_value_byte"),
        lambda: requires.interface("keyvalue_basik"),
        lambda: requires.behaviour("stream_retention", "trimmed_read", "latest"),
    ):
        with pytest.raises(ValueError, match=r"@requires\."):
            bad()


def test_an_interface_without_a_suite_says_which_module_to_write(monkeypatch):
    """Every interface of the catalog has a suite: an interface added to it without one."""
    real = suites.get_interface
    unwritten = dataclasses.replace(real("graph_basic"), name="graph_coloring")
    monkeypatch.setattr(suites, "get_interface", lambda name: unwritten if name == "graph_coloring" else real(name))
    with pytest.raises(LookupError, match=r"no suite for graph_coloring: write prism_accept\.suites\.graph\.coloring"):
        suite_for("graph_coloring")


def test_check_says_operation_got_want():
    with pytest.raises(AssertionError, match=r"^Get k: got b'a', want b'b'$"):
        check("Get k", b"a", b"b")


def test_expect_status_fails_on_ok():
    with pytest.raises(AssertionError, match=r"Get: got OK \('value'\), want status NOT_FOUND"):
        import grpc

        expect_status("Get", grpc.StatusCode.NOT_FOUND, lambda: "value")


def test_an_undeclared_need_names_the_file_and_field():
    decl = load_all()["memstore"]
    bare = type(decl)(**{**decl.__dict__, "limits": {}, "implements": ("keyvalue_scan",), "behaviours": {}})
    for mark, field in (
        (requires.limit("max_value_bytes"), "limits.max_value_bytes"),
        (requires.interface("keyvalue_basic"), "'keyvalue_basic' under implements"),
        (requires.behaviour("keyvalue_transactional", "conflict", "abort"), "behaviours.keyvalue_transactional.conflict"),
    ):
        (reason,) = unmet(bare, mark.mark.args)
        assert reason.startswith(f"needs {field}") and reason.endswith("which registry/backends/memstore.yaml does not declare"), reason
    assert unmet(decl, requires.interface("keyvalue_basic").mark.args) == []


def test_a_case_cannot_read_what_it_did_not_declare():
    decl = load_all()["memstore"]
    caps = Capabilities(type(decl)(**{**decl.__dict__, "limits": {}}))
    with pytest.raises(AssertionError, match=r"without @requires\.limit\('max_value_bytes'\)"):
        caps.limit("max_value_bytes")


def test_a_set_up_shortcut_is_taken_only_where_the_backend_declares_it():
    decl = load_all()["memstore"]
    assert Capabilities(decl).for_setup("keyvalue_batch", "max_batch_size") == decl.limits["max_batch_size"]
    without_batch = type(decl)(**{**decl.__dict__, "implements": [i for i in decl.implements if i != "keyvalue_batch"]})
    assert Capabilities(without_batch).for_setup("keyvalue_batch", "max_batch_size") is None
    assert Capabilities(type(decl)(**{**decl.__dict__, "limits": {}})).for_setup("keyvalue_batch", "max_batch_size") is None
