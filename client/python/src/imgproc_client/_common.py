"""What the synchronous and the asyncio client share: channel options, credentials, requests, answers."""
import json

import numpy as np

from imgproc.v1 import imgproc_pb2 as pb
from ._errors import ImgprocError

SERVICE = "imgproc.v1.ImageProcessorService"

# The server's largest message is 64 MiB by default; gRPC retries only what it still buffers (256 KiB by default,
# less than most photos), so the buffer is raised to hold a whole request, as the C++ client does.
RETRY_BUFFER_BYTES = 65 << 20


def service_config(round_robin=False, retries=True, max_attempts=3):
    """The channel's service config.

    round_robin: spread calls over every address the target resolves to (dns:///imgproc.NAMESPACE.svc:50051 for a
    headless Service), and watch each replica's health so that one draining before it stops gets no new calls.
    retries: UNAVAILABLE (nothing listening, a restart) and RESOURCE_EXHAUSTED (an admission limit) are retried,
    max_attempts in all, with exponential backoff from 100 ms; the call's deadline covers every attempt. Streams are
    retried only until their first answer arrives."""
    config = {}
    if round_robin:
        config["loadBalancingConfig"] = [{"round_robin": {}}]
        config["healthCheckConfig"] = {"serviceName": SERVICE}
    if retries and max_attempts > 1:
        config["methodConfig"] = [{
            "name": [{"service": SERVICE}],
            "retryPolicy": {
                "maxAttempts": min(max_attempts, 5),  # gRPC's own ceiling
                "initialBackoff": "0.1s",
                "maxBackoff": "2s",
                "backoffMultiplier": 2,
                "retryableStatusCodes": ["UNAVAILABLE", "RESOURCE_EXHAUSTED"],
            },
        }]
    return json.dumps(config) if config else None


def channel_options(round_robin=False, retries=True, max_attempts=3):
    options = [("grpc.max_receive_message_length", -1), ("grpc.max_send_message_length", -1),
               # Reconnect after 100 ms instead of gRPC's 1 s, so that a retry finds a restarted server soon.
               ("grpc.initial_reconnect_backoff_ms", 100), ("grpc.min_reconnect_backoff_ms", 100)]
    config = service_config(round_robin, retries, max_attempts)
    if config:
        options.append(("grpc.service_config", config))
    if retries and max_attempts > 1:
        options += [("grpc.enable_retries", 1), ("grpc.per_rpc_retry_buffer_size", RETRY_BUFFER_BYTES)]
    else:
        options.append(("grpc.enable_retries", 0))
    return options


def read_pem(path):
    if not path:
        return None
    with open(path, "rb") as f:
        return f.read()


def credentials(grpc_module, tls, tls_ca, tls_cert, tls_key):
    """ssl_channel_credentials when any of tls (the system's CAs), tls_ca, tls_cert or tls_key is given, else None."""
    if not (tls or tls_ca or tls_cert or tls_key):
        return None
    if bool(tls_cert) != bool(tls_key):
        raise ValueError("tls_cert and tls_key go together (the client's certificate and its key, PEM files)")
    return grpc_module.ssl_channel_credentials(root_certificates=read_pem(tls_ca), private_key=read_pem(tls_key),
                                               certificate_chain=read_pem(tls_cert))


def thumbnail_request(image, width=640, quality=90, request_id="", shrink_on_load=True):
    """Resize to `width` keeping the aspect ratio (area averaging: no aliasing, and the server may shrink the image
    on load), blur lightly, encode as JPEG. shrink_on_load=False asks for a full-size decode (see
    ProcessRequest.disable_shrink_on_load)."""
    return pb.ProcessRequest(
        image=image, request_id=request_id, disable_shrink_on_load=not shrink_on_load,
        operations=[
            pb.Operation(resize=pb.Resize(width=width, keep_aspect=True, interpolation=pb.INTERPOLATION_AREA)),
            pb.Operation(gaussian_blur=pb.GaussianBlur(kernel_width=5, sigma_x=1.5)),
        ],
        output=pb.OutputSpec(jpeg=pb.JpegOutput(quality=quality)))


def model_input_request(image, size=224, request_id="", shrink_on_load=True, dtype="float32", layout="CHW"):
    """ImageNet preprocessing: resize to size x size, BGR to RGB, normalize, raw float32 CHW (dtype and layout
    by name: "uint8"/"float32", "HWC"/"CHW"). shrink_on_load as for thumbnail_request."""
    return pb.ProcessRequest(
        image=image, request_id=request_id, disable_shrink_on_load=not shrink_on_load,
        operations=[
            pb.Operation(resize=pb.Resize(width=size, height=size, interpolation=pb.INTERPOLATION_AREA)),
            pb.Operation(cvt_color=pb.CvtColor(conversion=pb.CvtColor.CONVERSION_BGR2RGB)),
            pb.Operation(normalize=pb.Normalize(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225])),
        ],
        output=pb.OutputSpec(raw=raw_output(dtype, layout)))


def raw_output(dtype="uint8", layout="HWC"):
    """A RawOutput from names: dtype "uint8", "float32" (and any other DTYPE_* the proto has), layout "HWC"/"CHW"."""
    return pb.RawOutput(dtype=pb.Dtype.Value("DTYPE_" + dtype.upper()),
                        layout=pb.Layout.Value("LAYOUT_" + layout.upper()))


# numpy types of the proto's Dtype values, by name: a Dtype the proto gains later (DTYPE_UINT16) needs one entry here,
# and the names this proto lacks are simply never looked up. Raw pixels are little-endian.
_NUMPY_DTYPES = {"DTYPE_UINT8": np.dtype(np.uint8), "DTYPE_UINT16": np.dtype("<u2"),
                 "DTYPE_FLOAT32": np.dtype("<f4"), "DTYPE_FLOAT16": np.dtype("<f2")}


def to_array(response):
    """The pixels of a raw answer (OutputSpec.raw) as a numpy array: shape (height, width, channels) for LAYOUT_HWC,
    (channels, height, width) for LAYOUT_CHW, dtype from response.dtype. The array shares the response's bytes and
    is read-only; .copy() it to write."""
    if response.format != pb.IMAGE_FORMAT_RAW:
        raise ValueError(f"a {pb.ImageFormat.Name(response.format)} answer is an encoded image: ask for OutputSpec.raw "
                         "to get an array")
    dtype_name = pb.Dtype.Name(response.dtype)
    if dtype_name not in _NUMPY_DTYPES:
        raise ValueError(f"no numpy type for {dtype_name}")
    dtype = _NUMPY_DTYPES[dtype_name]
    h, w, c = response.height, response.width, response.channels
    layout = pb.Layout.Name(response.layout)
    shape = {"LAYOUT_HWC": (h, w, c), "LAYOUT_CHW": (c, h, w)}.get(layout)
    if shape is None:
        raise ValueError(f"unknown layout {layout}")
    expected = h * w * c * dtype.itemsize
    if len(response.image) != expected:
        raise ValueError(f"a {w}x{h}x{c} {dtype_name} answer should have {expected} bytes, not {len(response.image)}")
    return np.frombuffer(response.image, dtype=dtype).reshape(shape)


def model_input_batch_request(images, size=224, request_id="", shrink_on_load=True, dtype="float32", layout="CHW",
                              region=None, offset=0):
    """A ProcessBatchRequest of model_input_request's chain for every image: one N x 3 x size x size tensor (NCHW; NHWC
    for layout="HWC"). region: the name of a registered CUDA shared-memory region to write it into (at `offset`
    bytes, a multiple of 256) instead of answering it as bytes."""
    each = model_input_request(b"", size, "", shrink_on_load, dtype, layout)
    request = pb.ProcessBatchRequest(request_id=request_id, images=list(images), each=each, width=size, height=size,
                                     channels=3)
    if region:
        request.output_region.name = region
        request.output_region.offset = offset
    return request


def batch_tensor_shape(response):
    """A ProcessBatchResponse's tensor shape and numpy dtype: ((N, C, H, W) or (N, H, W, C), dtype)."""
    dtype_name = pb.Dtype.Name(response.dtype)
    if dtype_name not in _NUMPY_DTYPES:
        raise ValueError(f"no numpy type for {dtype_name}")
    return tuple(response.shape), _NUMPY_DTYPES[dtype_name]


class BatchResult:
    """A ProcessBatch answer: .response (the ProcessBatchResponse), .array (the tensor as numpy, when it came as bytes;
    read-only, sharing the response's bytes), .errors (index -> ImgprocError of each image that failed its slot) and
    .items (the per-image ProcessResponses, None where the image failed)."""

    __slots__ = ("response",)

    def __init__(self, response):
        self.response = response

    @property
    def shape(self):
        return batch_tensor_shape(self.response)[0]

    @property
    def array(self):
        shape, dtype = batch_tensor_shape(self.response)
        if self.response.HasField("output_region"):
            raise ValueError(f"the tensor went to CUDA shared memory region {self.response.output_region.name!r}, "
                             "not into the answer: read it there (imgproc_client.cuda)")
        return np.frombuffer(self.response.tensor, dtype=dtype).reshape(shape)

    @property
    def errors(self):
        return {i: ImgprocError.from_stream_item(_BatchItemStatus(item.status, self.response.request_id))
                for i, item in enumerate(self.response.items) if item.status.code != 0}

    @property
    def items(self):
        return [item.response if item.status.code == 0 else None for item in self.response.items]

    def __repr__(self):
        return (f"BatchResult(shape={self.shape}, dtype={pb.Dtype.Name(self.response.dtype)}, "
                f"succeeded={self.response.succeeded}/{len(self.response.items)})")


class _BatchItemStatus:
    """A BatchItem's status as ImgprocError.from_stream_item reads one."""

    __slots__ = ("status", "request_id")

    def __init__(self, status, request_id):
        self.status = status
        self.request_id = request_id


def stream_items(requests):
    """ProcessStream's messages for an iterable of ProcessRequests."""
    return (pb.ProcessStreamRequest(request=request) for request in requests)


async def async_stream_items(requests):
    """ProcessStream's messages for an iterable or async iterable of ProcessRequests."""
    if hasattr(requests, "__aiter__"):
        async for request in requests:
            yield pb.ProcessStreamRequest(request=request)
    else:
        for request in requests:
            yield pb.ProcessStreamRequest(request=request)


class Result:
    """One answer: the ProcessResponse (.response; its fields read through, e.g. .width, .image, .timings) and, for
    raw answers, .array (see to_array). A stream's failed item has .error (an ImgprocError) and no response."""

    __slots__ = ("response", "request_id", "error")

    def __init__(self, response=None, request_id="", error=None):
        self.response = response
        self.request_id = request_id if request_id else (response.request_id if response is not None else "")
        self.error = error

    @classmethod
    def from_stream_item(cls, item):
        if item.status.code != 0:
            return cls(None, item.request_id, ImgprocError.from_stream_item(item))
        return cls(item.response, item.request_id)

    @property
    def ok(self):
        return self.error is None

    def raise_for_error(self):
        """Raises .error, if this is a failed stream item."""
        if self.error is not None:
            raise self.error

    @property
    def array(self):
        self.raise_for_error()
        return to_array(self.response)

    def __getattr__(self, name):
        response = object.__getattribute__(self, "response")
        if response is None:
            object.__getattribute__(self, "raise_for_error")()
        return getattr(response, name)

    def __repr__(self):
        if self.error is not None:
            return f"Result(request_id={self.request_id!r}, error={self.error!r})"
        r = self.response
        return f"Result(request_id={self.request_id!r}, format={pb.ImageFormat.Name(r.format)}, {r.width}x{r.height}x{r.channels})"


# grpc.health.v1.HealthCheckRequest {string service = 1} and HealthCheckResponse {ServingStatus status = 1}, encoded
# by hand: two one-field messages do not justify another package (grpcio-health-checking).
HEALTH_METHOD = "/grpc.health.v1.Health/Check"
HEALTH_STATUSES = {0: "UNKNOWN", 1: "SERVING", 2: "NOT_SERVING", 3: "SERVICE_UNKNOWN"}


def encode_health_request(service):
    data = service.encode()
    if not data:
        return b""
    length, prefix = len(data), bytearray()
    while True:
        byte = length & 0x7F
        length >>= 7
        prefix.append(byte | (0x80 if length else 0))
        if not length:
            break
    return b"\x0a" + bytes(prefix) + data


def decode_health_response(data):
    # Field 1, varint: tag 0x08 and a status below 128.
    return HEALTH_STATUSES.get(data[1], str(data[1])) if len(data) >= 2 and data[0] == 0x08 else "UNKNOWN"
