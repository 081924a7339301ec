"""Client: the synchronous client."""
import grpc

from imgproc.v1 import imgproc_pb2 as pb
from imgproc.v1 import imgproc_pb2_grpc as pb_grpc
from . import _common
from ._errors import ImgprocError


class Client:
    """A channel to one imgproc target, and its calls. Every call takes timeout= (seconds; default the client's
    timeout_s for unary calls, none for streams) and raises ImgprocError on failure.

    target: "HOST:PORT", or any gRPC target ("dns:///imgproc.ns.svc:50051", "ipv4:10.0.0.1:50051,10.0.0.2:50051").
    tls_ca, tls_cert, tls_key: PEM files (the CA of the server's certificate; the client's own certificate and key
    for servers that require one). Any of them, or tls=True (the system's CAs), turns TLS on.
    round_robin, retries, max_attempts: see service_config."""

    def __init__(self, target, timeout_s=30.0, tls=False, tls_ca=None, tls_cert=None, tls_key=None,
                 round_robin=False, retries=True, max_attempts=3):
        options = _common.channel_options(round_robin, retries, max_attempts)
        creds = _common.credentials(grpc, tls, tls_ca, tls_cert, tls_key)
        self.channel = (grpc.secure_channel(target, creds, options=options) if creds
                        else grpc.insecure_channel(target, options=options))
        self.stub = pb_grpc.ImageProcessorServiceStub(self.channel)
        self.timeout_s = timeout_s
        self._health = self.channel.unary_unary(_common.HEALTH_METHOD,
                                                request_serializer=_common.encode_health_request,
                                                response_deserializer=_common.decode_health_response)

    def close(self):
        self.channel.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _timeout(self, timeout):
        return self.timeout_s if timeout is None else timeout

    def process(self, request, timeout=None):
        """One ProcessRequest -> a Result (its .response, and .array for raw answers)."""
        try:
            return _common.Result(self.stub.Process(request, timeout=self._timeout(timeout)))
        except grpc.RpcError as e:
            raise ImgprocError.from_rpc_error(e) from None

    def thumbnail(self, image, width=640, quality=90, request_id="", shrink_on_load=True, timeout=None):
        """A JPEG `width` wide (see thumbnail_request)."""
        return self.process(_common.thumbnail_request(image, width, quality, request_id, shrink_on_load), timeout)

    def model_input(self, image, size=224, shrink_on_load=True, dtype="float32", layout="CHW", timeout=None):
        """ImageNet preprocessing, raw (see model_input_request): the Result's .array is (3, size, size) float32."""
        return self.process(_common.model_input_request(image, size, "", shrink_on_load, dtype, layout), timeout)

    def process_batch(self, request, timeout=None):
        """One ProcessBatchRequest -> a BatchResult (.array: the N-image tensor; .errors: the images that failed their
        slot). A failure of the batch as a whole raises ImgprocError."""
        try:
            return _common.BatchResult(self.stub.ProcessBatch(request, timeout=self._timeout(timeout)))
        except grpc.RpcError as e:
            raise ImgprocError.from_rpc_error(e) from None

    def model_input_batch(self, images, size=224, dtype="float32", layout="CHW", region=None, offset=0,
                          timeout=None):
        """model_input's preprocessing for many images in one call: one (N, 3, size, size) tensor (see
        model_input_batch_request). region: a registered CUDA shared-memory region to write it into on the GPU."""
        return self.process_batch(_common.model_input_batch_request(images, size, "", True, dtype, layout, region,
                                                                    offset), timeout)

    def register_cuda_shared_memory(self, name, raw_handle, byte_size, device_id=0, timeout=None):
        """RegisterCudaSharedMemory: lends the server a CUDA buffer of this process by its IPC handle (64 bytes from
        cudaIpcGetMemHandle; imgproc_client.cuda.SharedBuffer makes one). The server must run the cuda backend with
        --allow_cuda_shared_memory."""
        request = pb.RegisterCudaSharedMemoryRequest(name=name, raw_handle=bytes(raw_handle), device_id=device_id,
                                                     byte_size=byte_size)
        try:
            self.stub.RegisterCudaSharedMemory(request, timeout=self._timeout(timeout))
        except grpc.RpcError as e:
            raise ImgprocError.from_rpc_error(e) from None

    def unregister_cuda_shared_memory(self, name, timeout=None):
        """UnregisterCudaSharedMemory: the server forgets the region (refused while a batch writes to it)."""
        try:
            self.stub.UnregisterCudaSharedMemory(pb.UnregisterCudaSharedMemoryRequest(name=name),
                                                 timeout=self._timeout(timeout))
        except grpc.RpcError as e:
            raise ImgprocError.from_rpc_error(e) from None

    def process_stream(self, requests, timeout=None, raise_on_error=False):
        """ProcessStream: an iterator of Results, one per request (an iterable, read as the stream goes), in
        completion order; match them by request_id. A failed item is reported, not raised: its Result has .error
        (an ImgprocError with the item's code, message and field) and the stream goes on. raise_on_error=True raises
        that error instead and ends the stream. A failure of the whole stream raises ImgprocError. timeout: for the
        whole stream, default none."""
        call = self.stub.ProcessStream(_common.stream_items(requests), timeout=timeout)
        try:
            for item in call:
                result = _common.Result.from_stream_item(item)
                if raise_on_error:
                    result.raise_for_error()
                yield result
        except grpc.RpcError as e:
            raise ImgprocError.from_rpc_error(e) from None
        finally:
            call.cancel()  # nothing once the stream has ended; stops it when the caller leaves early

    def server_info(self, timeout=None):
        """GetServerInfo: operations with their parameters, devices, limits, versions (the GetServerInfoResponse message)."""
        try:
            return self.stub.GetServerInfo(pb.GetServerInfoRequest(), timeout=self._timeout(timeout))
        except grpc.RpcError as e:
            raise ImgprocError.from_rpc_error(e) from None

    def health(self, service="", timeout=None):
        """grpc.health.v1 Check: "SERVING", "NOT_SERVING" (draining), ... for service ("" the server,
        "imgproc.v1.ImageProcessorService" the API)."""
        try:
            return self._health(service, timeout=self._timeout(timeout))
        except grpc.RpcError as e:
            raise ImgprocError.from_rpc_error(e) from None
