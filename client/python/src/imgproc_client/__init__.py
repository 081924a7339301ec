"""imgproc_client: synchronous (Client) and asyncio (AsyncClient) clients for the imgproc gRPC service.

    from imgproc_client import Client
    with Client("127.0.0.1:50051") as client:
        result = client.thumbnail(open("photo.jpg", "rb").read(), width=320)
        open("thumb.jpg", "wb").write(result.image)

pb is the generated imgproc.v1 message module (imgproc.v1.imgproc_pb2), for requests of any shape.
"""
from imgproc.v1 import imgproc_pb2 as pb
from ._aio import AsyncClient
from ._common import (BatchResult, Result, model_input_batch_request, model_input_request, raw_output, service_config,
                      thumbnail_request, to_array)
from ._errors import ImgprocError, field_path
from ._sync import Client

__all__ = ["AsyncClient", "BatchResult", "Client", "ImgprocError", "Result", "field_path", "model_input_batch_request",
           "model_input_request", "pb", "raw_output", "service_config", "thumbnail_request", "to_array"]
