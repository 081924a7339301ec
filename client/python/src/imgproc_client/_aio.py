"""AsyncClient: the asyncio client (grpc.aio), with Client's methods as coroutines."""
import grpc
import grpc.aio

from imgproc.v1 import imgproc_pb2 as pb
from imgproc.v1 import imgproc_pb2_grpc as pb_grpc
from . import _common
from ._errors import ImgprocError


class AsyncClient:
    """Client's constructor and methods for asyncio: `await client.process(...)`, `async for r in
    client.process_stream(...)`. Create it inside the event loop that uses it; `async with` closes it."""

    def __init__(self, target, timeout_s=30.0, tls=False, tls_ca=None, tls_cert=None, tls_key=None,
                 round_robin=False, retries=True, max_attempts=3):
        options = _common.channel_options(round_robin, retries, max_attempts)
        creds = _common.credentials(grpc, tls, tls_ca, tls_cert, tls_key)
        self.channel = (grpc.aio.secure_channel(target, creds, options=options) if creds
                        else grpc.aio.insecure_channel(target, options=options))
        self.stub = pb_grpc.ImageProcessorServiceStub(self.channel)
        self.timeout_s = timeout_s
        self._health = self.channel.unary_unary(_common.HEALTH_METHOD,
                                                request_serializer=_common.encode_health_request,
                                                response_deserializer=_common.decode_health_response)

    async def close(self):
        await self.channel.close()

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        await self.close()

    def _timeout(self, timeout):
        return self.timeout_s if timeout is None else timeout

    async def process(self, request, timeout=None):
        try:
            return _common.Result(await self.stub.Process(request, timeout=self._timeout(timeout)))
        except grpc.RpcError as e:
            raise ImgprocError.from_rpc_error(e) from None

    async def process_batch(self, request, timeout=None):
        """As Client.process_batch."""
        try:
            return _common.BatchResult(await self.stub.ProcessBatch(request, timeout=self._timeout(timeout)))
        except grpc.RpcError as e:
            raise ImgprocError.from_rpc_error(e) from None

    async def thumbnail(self, image, width=640, quality=90, request_id="", shrink_on_load=True, timeout=None):
        return await self.process(_common.thumbnail_request(image, width, quality, request_id, shrink_on_load),
                                  timeout)

    async def model_input(self, image, size=224, shrink_on_load=True, dtype="float32", layout="CHW", timeout=None):
        return await self.process(_common.model_input_request(image, size, "", shrink_on_load, dtype, layout),
                                  timeout)

    async def process_stream(self, requests, timeout=None, raise_on_error=False):
        """An async iterator of Results, as Client.process_stream; requests an iterable or an async iterable."""
        call = self.stub.ProcessStream(_common.async_stream_items(requests), timeout=timeout)
        try:
            async for item in call:
                result = _common.Result.from_stream_item(item)
                if raise_on_error:
                    result.raise_for_error()
                yield result
        except grpc.RpcError as e:
            raise ImgprocError.from_rpc_error(e) from None
        finally:
            call.cancel()

    async def server_info(self, timeout=None):
        try:
            return await self.stub.GetServerInfo(pb.GetServerInfoRequest(), timeout=self._timeout(timeout))
        except grpc.RpcError as e:
            raise ImgprocError.from_rpc_error(e) from None

    async def health(self, service="", timeout=None):
        try:
            return await self._health(service, timeout=self._timeout(timeout))
        except grpc.RpcError as e:
            raise ImgprocError.from_rpc_error(e) from None
