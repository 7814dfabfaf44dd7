"""Servicers of the four list interfaces over a ListStore."""

from __future__ import annotations

from prism.list.v1 import list_pb2 as pb
from prism.list.v1 import list_pb2_grpc as pb_grpc
from prism_accept.plugins.status import invalid, out_of_range, require_keys, require_names
from prism_accept.plugins.servicers.base import StoreServicer
from prism_accept.plugins.stores import ListStore


class _ListServicer(StoreServicer):
    store: ListStore


class ListBasic(_ListServicer, pb_grpc.ListBasicServicer):
    interface = "list_basic"
    _add = staticmethod(pb_grpc.add_ListBasicServicer_to_server)

    async def _push(self, request, left: bool):
        require_names(namespace=request.namespace, key=request.key)
        if not request.values:
            raise invalid("values must hold at least one value")
        for v in request.values:
            self.check_value(v)
        return pb.PushResponse(length=await self.store.list_push(request.namespace, request.key, list(request.values), left))

    async def _pop(self, request, left: bool):
        require_names(namespace=request.namespace, key=request.key)
        count = request.count if request.HasField("count") else 1
        if count <= 0:
            raise invalid(f"count must be > 0, got {count}")
        return pb.PopResponse(values=await self.store.list_pop(request.namespace, request.key, count, left))

    async def PushLeft(self, request, context):
        return await self._push(request, left=True)

    async def PushRight(self, request, context):
        return await self._push(request, left=False)

    async def PopLeft(self, request, context):
        return await self._pop(request, left=True)

    async def PopRight(self, request, context):
        return await self._pop(request, left=False)

    async def Length(self, request, context):
        require_names(namespace=request.namespace, key=request.key)
        return pb.LengthResponse(length=await self.store.list_length(request.namespace, request.key))


class ListIndexing(_ListServicer, pb_grpc.ListIndexingServicer):
    interface = "list_indexing"
    _add = staticmethod(pb_grpc.add_ListIndexingServicer_to_server)

    async def Get(self, request, context):
        require_names(namespace=request.namespace, key=request.key)
        value = await self.store.list_index(request.namespace, request.key, request.index)
        if value is None:
            raise out_of_range(f"index {request.index} is outside list {request.key!r}")
        return pb.IndexGetResponse(value=value)

    async def Set(self, request, context):
        require_names(namespace=request.namespace, key=request.key)
        if not await self.store.list_set(request.namespace, request.key, request.index, request.value):
            raise out_of_range(f"index {request.index} is outside list {request.key!r}")
        return pb.IndexSetResponse()

    async def Insert(self, request, context):
        require_names(namespace=request.namespace, key=request.key)
        if request.position == pb.InsertRequest.POSITION_UNSPECIFIED:
            raise invalid("position must be BEFORE or AFTER")
        before = request.position == pb.InsertRequest.BEFORE
        length = await self.store.list_insert(request.namespace, request.key, before, request.pivot, request.value)
        if length is None:
            return pb.InsertResponse(pivot_found=False, length=await self.store.list_length(request.namespace, request.key))
        return pb.InsertResponse(pivot_found=True, length=length)

    async def Remove(self, request, context):
        require_names(namespace=request.namespace, key=request.key)
        removed = await self.store.list_remove(request.namespace, request.key, request.value, request.count)
        return pb.RemoveResponse(removed=removed)


class ListRange(_ListServicer, pb_grpc.ListRangeServicer):
    interface = "list_range"
    _add = staticmethod(pb_grpc.add_ListRangeServicer_to_server)

    async def GetRange(self, request, context):
        require_names(namespace=request.namespace, key=request.key)
        return pb.GetRangeResponse(values=await self.store.list_range(request.namespace, request.key, request.start, request.stop))

    async def Trim(self, request, context):
        require_names(namespace=request.namespace, key=request.key)
        return pb.TrimResponse(length=await self.store.list_trim(request.namespace, request.key, request.start, request.stop))


class ListBlocking(_ListServicer, pb_grpc.ListBlockingServicer):
    interface = "list_blocking"
    _add = staticmethod(pb_grpc.add_ListBlockingServicer_to_server)

    async def _pop(self, request, context, left: bool):
        require_names(namespace=request.namespace)
        if not request.keys:
            raise invalid("keys must hold at least one key")
        require_keys("keys", request.keys)
        if request.timeout_ms <= 0:
            raise invalid(f"timeout_ms must be > 0, got {request.timeout_ms}")
        timeout_s = request.timeout_ms / 1000
        remaining = context.time_remaining()
        if remaining is not None:
            timeout_s = max(0.0, min(timeout_s, remaining - 0.05))
        got = await self.store.list_blocking_pop(request.namespace, list(request.keys), timeout_s, left)
        if got is None:
            return pb.BlockingPopResponse(found=False)
        return pb.BlockingPopResponse(found=True, key=got[0], value=got[1])

    async def BlockingPopLeft(self, request, context):
        return await self._pop(request, context, left=True)

    async def BlockingPopRight(self, request, context):
        return await self._pop(request, context, left=False)


LIST_SERVICERS = (ListBasic, ListIndexing, ListRange, ListBlocking)
