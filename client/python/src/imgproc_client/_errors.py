"""ImgprocError: a failed call, or a failed item of a stream, with its gRPC code and the failing field."""
import re

import grpc

from imgproc.v1 import imgproc_pb2 as pb

# The server's validation messages start with the path of the field they refuse:
#   operations[2].resize.width: must be >= 1 (got 0)
#   output.avif.speed: must be in [0, 10] (got 11)
_FIELD_PATH = re.compile(r"^([A-Za-z_]\w*(?:\[\d+\])?(?:\.[A-Za-z_]\w*(?:\[\d+\])?)*): ")
_CODES_BY_VALUE = {code.value[0]: code for code in grpc.StatusCode}


def field_path(message):
    """The field path a server message starts with, or None. Only paths whose first name is a field of
    ProcessRequest count, so that a message such as "decode: ..." names no field."""
    match = _FIELD_PATH.match(message or "")
    if not match:
        return None
    first = re.match(r"[A-Za-z_]\w*", match.group(1)).group(0)
    return match.group(1) if first in pb.ProcessRequest.DESCRIPTOR.fields_by_name else None


class ImgprocError(Exception):
    """A call, or one item of a stream, that the server (or the channel) refused.

    code: the grpc.StatusCode; message: the server's message; field: the failing field path (for example
    "operations[2].resize.width") when the message names one, else None; request_id: the stream item's id."""

    def __init__(self, code, message, field=None, request_id=None):
        super().__init__(f"{code.name}: {message}")
        self.code = code
        self.message = message
        self.field = field
        self.request_id = request_id

    @classmethod
    def from_rpc_error(cls, error):
        """From a grpc.RpcError or grpc.aio.AioRpcError."""
        message = error.details() or ""
        return cls(error.code(), message, field_path(message))

    @classmethod
    def from_stream_item(cls, item):
        """From a ProcessStreamResponse whose status (a google.rpc.Status) is not OK."""
        code = _CODES_BY_VALUE.get(item.status.code, grpc.StatusCode.UNKNOWN)
        return cls(code, item.status.message, field_path(item.status.message), item.request_id or None)
