"""Per backend: the plugin claims exactly its registry interfaces, and every RPC of every other
interface answers UNIMPLEMENTED (found from the proto descriptors, so nothing is listed twice)."""

from __future__ import annotations

import importlib

import grpc
from google.protobuf import message_factory

from prism_accept.catalog import Interface, get_interface, interface_names
from prism_accept.registry import BackendDeclaration
from prism_accept.suites.base import check


def undeclared_interfaces(decl: BackendDeclaration) -> list[str]:
    return [name for name in interface_names() if name not in decl.implements]


def call_every_rpc(channel: grpc.Channel, interface: Interface, timeout_s: float = 5.0) -> dict[str, str]:
    """Each RPC of the interface called with a minimal request -> its status code name."""
    module = importlib.import_module(interface.proto_module)
    service = module.DESCRIPTOR.services_by_name[interface.service]
    codes = {}
    for method in service.methods:
        request_class = message_factory.GetMessageClass(method.input_type)
        request = request_class()
        if "namespace" in method.input_type.fields_by_name:
            request.namespace = "undeclared-check"
        path = f"/{service.full_name}/{method.name}"
        try:
            if method.server_streaming:
                list(
                    channel.unary_stream(path, request_serializer=request_class.SerializeToString, response_deserializer=bytes)(
                        request, timeout=timeout_s
                    )
                )
            else:
                channel.unary_unary(path, request_serializer=request_class.SerializeToString, response_deserializer=bytes)(
                    request, timeout=timeout_s
                )
            codes[method.name] = "OK"
        except grpc.RpcError as e:
            codes[method.name] = e.code().name
    return codes


class UndeclaredInterfacesTests:
    """Needs `plugin` and `declaration`; `undeclared_interface` is parametrized (params)."""

    none_reasons = {"undeclared_interface": "the backend declares every interface of the catalog: none is undeclared"}

    @staticmethod
    def params(decl: BackendDeclaration) -> dict[str, list]:
        return {"undeclared_interface": undeclared_interfaces(decl)}

    def test_plugin_reports_its_registry_interfaces(self, plugin, declaration):
        check("PluginLifecycle.GetInfo.name", plugin.info.name, declaration.backend)
        check(
            f"PluginLifecycle.GetInfo.interfaces vs {declaration.path} implements",
            sorted(plugin.info.interfaces),
            sorted(declaration.implements),
        )

    def test_undeclared_interface_is_unimplemented(self, plugin, undeclared_interface):
        codes = call_every_rpc(plugin.channel, get_interface(undeclared_interface))
        check(
            f"{undeclared_interface}: RPCs answering other than UNIMPLEMENTED", {m: c for m, c in codes.items() if c != "UNIMPLEMENTED"}, {}
        )
