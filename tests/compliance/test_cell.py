"""One compliance cell: the suite of $PRISM_INTERFACE run against the plugin of $PRISM_BACKEND.

Pants generates a target per backend x interface (see tests/compliance/BUILD and
build-support/pants-plugins/prism_cells) that runs this file with both variables set;
PRISM_INTERFACE=undeclared runs the undeclared-interfaces check of the backend instead.
"""

from prism_accept.compliance.cell import UNDECLARED, cell_from_environment
from prism_accept.compliance.undeclared import UndeclaredInterfacesTests, undeclared_interfaces
from prism_accept.registry import load_backend
from prism_accept.suites import suite_for

pytest_plugins = ["prism_accept.compliance.cell"]

BACKEND, INTERFACE = cell_from_environment()
DECLARATION = load_backend(BACKEND)

if INTERFACE == UNDECLARED:
    _base = UndeclaredInterfacesTests
else:
    if INTERFACE not in DECLARATION.implements:
        raise RuntimeError(f"{DECLARATION.path} does not declare {INTERFACE}: there is no such cell")
    _base = suite_for(INTERFACE)

_name = f"Test_{BACKEND}_{INTERFACE}".replace("-", "_")
globals()[_name] = type(_name, (_base,), {"__module__": __name__})


def pytest_generate_tests(metafunc):
    if "undeclared_interface" in metafunc.fixturenames:
        metafunc.parametrize("undeclared_interface", undeclared_interfaces(DECLARATION))
