"""The SDK's StatusInterceptor wraps a method's handler once (not on every call) and still checks
and maps every call through the wrapper."""

from __future__ import annotations

import asyncio

import grpc

from prism_plugin.conventions import Limits
from prism_plugin.runtime import StatusInterceptor


class Details:
    def __init__(self, method: str) -> None:
        self.method = method


def handler() -> grpc.RpcMethodHandler:
    async def echo(request, context):
        return request

    return grpc.unary_unary_rpc_method_handler(echo)


def test_a_method_is_wrapped_once_and_a_new_handler_is_wrapped_again():
    interceptor = StatusInterceptor(Limits(), ())
    first, other = handler(), handler()
    table = {"/s.S/A": first, "/s.S/B": other}

    async def continuation(details):
        return table.get(details.method)

    async def intercept(method: str):
        return await interceptor.intercept_service(continuation, Details(method))

    async def scenario():
        a1, a2, b = await intercept("/s.S/A"), await intercept("/s.S/A"), await intercept("/s.S/B")
        assert a1 is a2, "the same method's handler, wrapped on every call"
        assert a1 is not first and a1.unary_unary is not first.unary_unary, "the handler was returned unwrapped"
        assert b is not a1
        table["/s.S/A"] = replaced = handler()  # a server whose handler changes: wrapped anew, one entry per method
        a3 = await intercept("/s.S/A")
        assert a3 is not a1 and a3.unary_unary is not replaced.unary_unary
        assert len(interceptor._wrapped) == 2
        assert await intercept("/s.S/Missing") is None

    asyncio.run(scenario())
