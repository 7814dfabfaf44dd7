"""The base of every interface servicer in `contracts/`: one interface, one store.

A contract module `prism_plugin.contracts.<model>.<rest>` serves interface `<model>_<rest>`
(the catalog's naming, as the suite `prism_accept.suites.<model>.<rest>` tests it). Its servicer
subclasses this and the generated `<Service>Servicer`; the interface name, the service and the
registration function are derived from those two, so no table lists them again.
"""

from __future__ import annotations

import sys
from typing import Any, Callable, ClassVar, Generic, TypeVar

import grpc

from prism_plugin.conventions import Limits

S = TypeVar("S")

CONTRACTS_PACKAGE = "prism_plugin.contracts"


class InterfaceServicer(Generic[S]):
    interface: ClassVar[str] = ""  # e.g. "keyvalue_basic"
    service: ClassVar[str] = ""  # e.g. "KeyValueBasic"
    _add: ClassVar[Callable[[Any, grpc.aio.Server], None]]

    def __init__(self, store: S) -> None:
        self.store = store
        self.limits = Limits()  # the runtime sets the plugin's own

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        parts = cls.__module__.split(".")
        if cls.__module__.startswith(CONTRACTS_PACKAGE + ".") and len(parts) == 4:
            cls.interface = f"{parts[2]}_{parts[3]}"
        for base in cls.__mro__[1:]:
            if base.__module__.endswith("_pb2_grpc") and base.__name__.endswith("Servicer"):
                cls.service = base.__name__[: -len("Servicer")]
                cls._add = staticmethod(getattr(sys.modules[base.__module__], f"add_{base.__name__}_to_server"))
                break

    def add_to_server(self, server: grpc.aio.Server) -> None:
        type(self)._add(self, server)
