"""A Prism plugin as an author outside this repository writes it: Python in its own venv
(grpcio 1.85, protobuf 7, not the versions prism-verify carries), keyvalue_basic over a dict.

Its stubs are generated into gen/ from the repository's protos by the venv's own grpc_tools
(tests/verify/test_verify_pex.py does it); run: <venv>/bin/python server.py.
"""

from __future__ import annotations

import os
import sys
import threading
from concurrent import futures

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "gen"))

import grpc  # noqa: E402
from google.protobuf.message import DecodeError  # noqa: E402
from grpc_health.v1 import health, health_pb2, health_pb2_grpc  # noqa: E402

from prism.keyvalue.v1 import keyvalue_pb2 as kv  # noqa: E402
from prism.plugin.v1 import lifecycle_pb2 as lc  # noqa: E402

MAX_NAME_BYTES = 1024
MAX_VALUE_BYTES = 1024 * 1024
UNDECODABLE = object()


class Refused(Exception):
    pass


def name(field: str, value: str) -> str:
    if not value:
        raise Refused(f"{field} must be a non-empty string")
    if len(value.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES:
        raise Refused(f"{field} is longer than {MAX_NAME_BYTES} bytes")
    return value


class Store:
    def __init__(self) -> None:
        self.spaces: dict[str, dict[str, bytes]] = {}
        self.lock = threading.Lock()

    def Set(self, request, context):
        if len(request.value) > MAX_VALUE_BYTES:
            raise Refused(f"value is longer than {MAX_VALUE_BYTES} bytes")
        with self.lock:
            self.spaces.setdefault(name("namespace", request.namespace), {})[name("key", request.key)] = bytes(request.value)
        return kv.SetResponse()

    def Get(self, request, context):
        value = self.spaces.get(name("namespace", request.namespace), {}).get(name("key", request.key))
        if value is None:
            context.abort(grpc.StatusCode.NOT_FOUND, "no such key")
        return kv.GetResponse(value=value)

    def Delete(self, request, context):
        with self.lock:
            found = self.spaces.get(name("namespace", request.namespace), {}).pop(name("key", request.key), None) is not None
        return kv.DeleteResponse(found=found)

    def Exists(self, request, context):
        return kv.ExistsResponse(exists=name("key", request.key) in self.spaces.get(name("namespace", request.namespace), {}))


def unary(method, request_type, response_type):
    """A handler whose request may not decode (invalid UTF-8...): that is INVALID_ARGUMENT, as is
    a Refused request; grpc-python would answer UNKNOWN."""

    def deserialize(data: bytes):
        try:
            return request_type.FromString(data)
        except (DecodeError, RecursionError):
            return UNDECODABLE

    def behaviour(request, context):
        if request is UNDECODABLE:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "the request does not decode")
        try:
            return method(request, context)
        except Refused as e:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(e))

    return grpc.unary_unary_rpc_method_handler(behaviour, request_deserializer=deserialize, response_serializer=response_type.SerializeToString)


def main() -> None:
    store, health_servicer, initialized = Store(), health.HealthServicer(), threading.Event()
    health_servicer.set("", health_pb2.HealthCheckResponse.NOT_SERVING)

    def get_info(request, context):
        return lc.PluginInfo(name="pykv", version="0.1.0", interfaces=["keyvalue_basic"])

    def initialize(request, context):
        if not request.settings.get("url"):
            raise Refused("settings.url is missing")
        initialized.set()
        health_servicer.set("", health_pb2.HealthCheckResponse.SERVING)
        return lc.InitializeResponse(backend_version=f"python {sys.version.split()[0]} dict, protobuf {_protobuf()}")

    def drop(request, context):
        with store.lock:
            store.spaces.pop(name("namespace", request.namespace), None)
        return lc.DropNamespaceResponse()

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=16))
    server.add_generic_rpc_handlers(
        [
            grpc.method_handlers_generic_handler(
                "prism.keyvalue.v1.KeyValueBasic",
                {m: unary(getattr(store, m), getattr(kv, f"{m}Request"), getattr(kv, f"{m}Response")) for m in ("Set", "Get", "Delete", "Exists")},
            ),
            grpc.method_handlers_generic_handler(
                "prism.plugin.v1.PluginLifecycle",
                {
                    "GetInfo": unary(get_info, lc.GetInfoRequest, lc.PluginInfo),
                    "Initialize": unary(initialize, lc.InitializeRequest, lc.InitializeResponse),
                    "DropNamespace": unary(drop, lc.DropNamespaceRequest, lc.DropNamespaceResponse),
                },
            ),
        ]
    )
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    print(f"PRISM_PLUGIN|1|tcp|127.0.0.1:{port}|grpc", flush=True)
    sys.stdin.read()  # the harness closes stdin to stop the plugin
    server.stop(0)


def _protobuf() -> str:
    import google.protobuf

    return google.protobuf.__version__


if __name__ == "__main__":
    main()
