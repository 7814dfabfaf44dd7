"""The MemStore plugin: every keyvalue and list interface over MemStore."""

from prism_accept.plugins.memstore.store import MemStore
from prism_accept.plugins.runtime import Plugin
from prism_accept.plugins.servicers.keyvalue import KEYVALUE_SERVICERS
from prism_accept.plugins.servicers.lists import LIST_SERVICERS
from prism_accept.plugins.stores import Limits

VERSION = "0.1.0"


def build_plugin() -> Plugin:
    store = MemStore()
    limits = Limits()
    return Plugin(
        name="memstore",
        version=VERSION,
        backend=store,
        servicers=[cls(store, limits) for cls in (*KEYVALUE_SERVICERS, *LIST_SERVICERS)],
    )
