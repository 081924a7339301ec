"""The imgproc_client package (pip install ./client/python), sync and asyncio, against a real server on loopback."""
import asyncio
import os
import struct
import subprocess
import sys

import grpc
import numpy as np
import pytest

from conftest import jpeg_size
from imgproc_client import AsyncClient, Client, ImgprocError, field_path, pb, raw_output


@pytest.fixture(scope="module")
def client(server):
    with Client(server.address) as c:
        yield c


def run(coroutine_function, server):
    """Runs coroutine_function(AsyncClient) in a fresh event loop, the client made and closed inside it."""
    async def body():
        async with AsyncClient(server.address) as c:
            return await coroutine_function(c)
    return asyncio.run(body())


def thumbnail_size(photo, width):
    w, h = jpeg_size(photo)
    return width, round(h * width / w)


def test_sync_thumbnail_is_a_jpeg_of_the_requested_width(client, photo):
    result = client.thumbnail(photo, width=640)
    assert (result.width, result.height) == thumbnail_size(photo, 640)
    assert jpeg_size(result.image) == thumbnail_size(photo, 640)
    assert result.format == pb.IMAGE_FORMAT_JPEG and result.ok and result.error is None
    assert isinstance(result.response, pb.ProcessResponse)
    assert result.timings.total_us > 0


def test_async_thumbnail_is_a_jpeg_of_the_requested_width(server, photo):
    result = run(lambda c: c.thumbnail(photo, width=320), server)
    assert jpeg_size(result.image) == thumbnail_size(photo, 320)
    assert (result.width, result.height) == thumbnail_size(photo, 320)


def float_at(image, index):
    return struct.unpack_from("<f", image, 4 * index)[0]


def test_model_input_is_a_float32_chw_array_of_the_bytes_sent(client, photo):
    result = client.model_input(photo)
    a = result.array
    assert a.shape == (3, 224, 224) and a.dtype == np.float32
    assert len(result.image) == 3 * 224 * 224 * 4
    # Element (c, y, x) of a planar answer is float number (c * height + y) * width + x of the bytes.
    for c, y, x in ((0, 0, 0), (1, 17, 200), (2, 223, 223), (2, 100, 3)):
        assert a[c, y, x] == float_at(result.image, (c * 224 + y) * 224 + x)
    assert np.all(np.abs(a) < 3.0)
    # 224x224 by area averaging from a photo several times larger: decoded shrunk, unless asked not to.
    assert result.decode_shrink_factor > 1
    full = client.model_input(photo, shrink_on_load=False)
    assert full.decode_shrink_factor == 1
    # Normalized by std ~0.226: 0.02 is about one grey level (measured on Dune.jpg: 0.010).
    assert np.mean(np.abs(full.array - a)) < 0.02


def test_uint8_hwc_array_is_the_bytes_sent_and_the_transpose_of_chw(client, photo):
    def request(layout):
        return pb.ProcessRequest(image=photo, operations=[pb.Operation(resize=pb.Resize(width=64, height=48))],
                                 output=pb.OutputSpec(raw=raw_output("uint8", layout)))
    hwc, chw = client.process(request("HWC")), client.process(request("CHW"))
    a = hwc.array
    assert a.shape == (48, 64, 3) and a.dtype == np.uint8
    # Element (y, x, c) of an interleaved answer is byte (y * width + x) * channels + c.
    for y, x, c in ((0, 0, 0), (47, 63, 2), (20, 5, 1)):
        assert a[y, x, c] == hwc.image[(y * 64 + x) * 3 + c]
    assert chw.array.shape == (3, 48, 64)
    assert np.array_equal(chw.array, a.transpose(2, 0, 1))


def test_async_raw_answer_equals_the_sync_one(client, server, photo):
    async_result = run(lambda c: c.model_input(photo, dtype="uint8", layout="HWC"), server)
    sync_result = client.model_input(photo, dtype="uint8", layout="HWC")
    assert async_result.array.shape == (224, 224, 3) and async_result.array.dtype == np.uint8
    assert np.array_equal(async_result.array, sync_result.array)


def stream_requests(photo):
    requests = [pb.ProcessRequest(image=photo, request_id=str(i), operations=[pb.Operation(flip=pb.Flip())])
                for i in range(5)]
    requests.insert(2, pb.ProcessRequest(image=b"nonsense", request_id="bad"))
    return requests


def check_stream_answers(results, photo):
    by_id = {r.request_id: r for r in results}
    assert set(by_id) == {"0", "1", "2", "3", "4", "bad"}
    bad = by_id["bad"]
    assert not bad.ok and bad.response is None
    assert bad.error.code == grpc.StatusCode.INVALID_ARGUMENT and bad.error.request_id == "bad"
    assert "unrecognized image format" in bad.error.message
    with pytest.raises(ImgprocError):
        bad.image  # noqa: B018  (a failed item's fields raise its error)
    assert all(by_id[str(i)].ok for i in range(5))
    assert jpeg_size(by_id["3"].image) == jpeg_size(photo)


def test_sync_stream_answers_every_request_and_reports_the_bad_one(client, photo):
    check_stream_answers(list(client.process_stream(stream_requests(photo), timeout=60)), photo)


def test_async_stream_answers_every_request_and_reports_the_bad_one(server, photo):
    async def collect(c):
        async def requests():  # an async iterable, as a producer would send them
            for r in stream_requests(photo):
                yield r
        return [r async for r in c.process_stream(requests(), timeout=60)]
    check_stream_answers(run(collect, server), photo)


def test_stream_raise_on_error_raises_the_items_error(client, server, photo):
    with pytest.raises(ImgprocError) as raised:
        list(client.process_stream([pb.ProcessRequest(image=b"nonsense", request_id="bad")], raise_on_error=True))
    assert raised.value.code == grpc.StatusCode.INVALID_ARGUMENT and raised.value.request_id == "bad"

    async def collect(c):
        return [r async for r in c.process_stream([pb.ProcessRequest(image=b"x", request_id="b")],
                                                  raise_on_error=True)]
    with pytest.raises(ImgprocError) as raised:
        run(collect, server)
    assert raised.value.code == grpc.StatusCode.INVALID_ARGUMENT


def invalid_request(photo):
    return pb.ProcessRequest(image=photo, operations=[
        pb.Operation(flip=pb.Flip()), pb.Operation(flip=pb.Flip()),
        pb.Operation(gaussian_blur=pb.GaussianBlur(kernel_width=4, sigma_x=1.0))])


def test_invalid_argument_raises_with_the_field_path(client, server, photo):
    with pytest.raises(ImgprocError) as raised:
        client.process(invalid_request(photo))
    error = raised.value
    assert error.code == grpc.StatusCode.INVALID_ARGUMENT
    assert error.field == "operations[2].gaussian_blur.kernel_width"
    assert error.message.startswith("operations[2].gaussian_blur.kernel_width: must be odd")

    async def call(c):
        return await c.process(invalid_request(photo))
    with pytest.raises(ImgprocError) as raised:
        run(call, server)
    assert raised.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert raised.value.field == "operations[2].gaussian_blur.kernel_width"


def test_field_path_only_names_fields_of_the_request():
    assert field_path("output.avif.speed: must be in [0, 10] (got 11)") == "output.avif.speed"
    assert field_path("operations[12].resize.width: must be >= 0 (got -1)") == "operations[12].resize.width"
    assert field_path("unrecognized image format (first bytes: 78)") is None
    assert field_path("decode: the jpeg data ends inside scan 1") is None


def test_a_tiny_deadline_gives_deadline_exceeded(client, server, photo):
    with pytest.raises(ImgprocError) as raised:
        client.thumbnail(photo, timeout=0.001)
    assert raised.value.code == grpc.StatusCode.DEADLINE_EXCEEDED

    async def call(c):
        return await c.thumbnail(photo, timeout=0.001)
    with pytest.raises(ImgprocError) as raised:
        run(call, server)
    assert raised.value.code == grpc.StatusCode.DEADLINE_EXCEEDED


def test_server_info_and_health(client, server):
    info = client.server_info()
    assert len(info.operations) == 22
    assert "bilateral_filter" in [op.name for op in info.operations]
    assert client.health() == "SERVING"
    assert client.health("imgproc.v1.ImageProcessorService") == "SERVING"

    async def calls(c):
        return len((await c.server_info()).operations), await c.health()
    assert run(calls, server) == (22, "SERVING")


def test_command_line_writes_the_thumbnail(server, photo, tmp_path):
    source, output = tmp_path / "in.jpg", tmp_path / "out.jpg"
    source.write_bytes(photo)
    done = subprocess.run([sys.executable, "-m", "imgproc_client", "--target", server.address, "--input",
                           str(source), "--output", str(output), "--width", "200", "--timeout", "1m30s"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert jpeg_size(output.read_bytes()) == thumbnail_size(photo, 200)
    assert "jpeg 200x" in done.stdout
    # --timeout is a duration, as in imgproc-cli and imgproc-load: a bare number is refused, naming the units.
    refused = subprocess.run([sys.executable, "-m", "imgproc_client", "--input", str(source), "--output",
                              str(output), "--timeout", "30"], capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2
    assert "'30' is no duration" in refused.stderr and "500ms" in refused.stderr


def test_generated_stubs_are_importable_without_path_tricks():
    from imgproc.v1 import imgproc_pb2, imgproc_pb2_grpc
    assert imgproc_pb2_grpc.ImageProcessorServiceStub and imgproc_pb2.ProcessRequest is pb.ProcessRequest
    assert "site-packages" in os.path.dirname(imgproc_pb2.__file__) or "dist-packages" in imgproc_pb2.__file__
