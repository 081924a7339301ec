"""The client's retry policy. The real server cannot be made to refuse on cue, so a small gRPC Python server on
loopback answers GetServerInfo with UNAVAILABLE or RESOURCE_EXHAUSTED a given number of times first."""
import asyncio
from concurrent import futures

import grpc
import pytest

from imgproc_client import AsyncClient, Client, ImgprocError, pb

METHOD = "/imgproc.v1.ImageProcessorService/GetServerInfo"


class RefusingServer:
    """Refuses the first `refusals` calls with `code`, then answers an empty GetServerInfoResponse; counts the calls."""

    def __init__(self, code, refusals):
        self.code, self.refusals, self.calls = code, refusals, 0

        def get_server_info(request, context):
            self.calls += 1
            if self.calls <= self.refusals:
                context.abort(self.code, f"refusal {self.calls}")
            return pb.GetServerInfoResponse()
        handler = grpc.method_handlers_generic_handler("imgproc.v1.ImageProcessorService", {
            "GetServerInfo": grpc.unary_unary_rpc_method_handler(
                get_server_info, request_deserializer=pb.GetServerInfoRequest.FromString,
                response_serializer=pb.GetServerInfoResponse.SerializeToString)})
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=2), handlers=[handler])
        self.address = f"127.0.0.1:{self.server.add_insecure_port('127.0.0.1:0')}"
        self.server.start()

    def stop(self):
        self.server.stop(grace=None)


@pytest.mark.parametrize("code", [grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.RESOURCE_EXHAUSTED])
def test_refusals_are_retried_by_default_and_not_when_switched_off(code):
    server = RefusingServer(code, refusals=2)
    try:
        with Client(server.address, timeout_s=10) as client:
            client.server_info()
        assert server.calls == 3  # two refusals, then the answer: within the default 3 attempts

        server.calls = 0
        with Client(server.address, timeout_s=10, retries=False) as client:
            with pytest.raises(ImgprocError) as raised:
                client.server_info()
        assert raised.value.code == code and raised.value.message == "refusal 1"
        assert server.calls == 1

        server.calls, server.refusals = 0, 5
        with Client(server.address, timeout_s=10, max_attempts=2) as client:
            with pytest.raises(ImgprocError):
                client.server_info()
        assert server.calls == 2
    finally:
        server.stop()


def test_the_async_client_retries_too():
    server = RefusingServer(grpc.StatusCode.UNAVAILABLE, refusals=2)

    async def call():
        async with AsyncClient(server.address, timeout_s=10) as client:
            return await client.server_info()
    try:
        assert isinstance(asyncio.run(call()), pb.GetServerInfoResponse)
        assert server.calls == 3
    finally:
        server.stop()


def test_an_argument_error_is_not_retried():
    server = RefusingServer(grpc.StatusCode.INVALID_ARGUMENT, refusals=1)
    try:
        with Client(server.address, timeout_s=10) as client:
            with pytest.raises(ImgprocError):
                client.server_info()
        assert server.calls == 1
    finally:
        server.stop()
