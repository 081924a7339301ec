"""ProcessBatch through the Python client: the tensor as numpy against each image's own answer, per-image errors, and
CUDA shared memory (imgproc_client.cuda) where this host has a GPU: a buffer of this process written by the server,
read back as a torch tensor without a copy. On a host without one, the CUDA test skips saying why and the CPU
server's refusal is checked instead."""
import grpc
import numpy as np
import pytest

from conftest import Server
from imgproc_client import Client, ImgprocError, model_input_batch_request, pb


def photos():
    import os
    folder = os.environ.get("IMGPROC_TEST_IMAGES", "/usr/share/backgrounds/mate")
    names = ("nature/Garden.jpg", "nature/Aqua.jpg", "nature/FreshFlower.jpg")
    return [open(os.path.join(folder, name), "rb").read() for name in names]


@pytest.fixture(scope="module")
def client(server):
    with Client(server.address) as c:
        yield c


def test_a_batch_is_one_tensor_whose_slots_are_each_images_model_input(client):
    images = photos()
    result = client.model_input_batch(images)
    assert result.shape == (3, 3, 224, 224)
    tensor = result.array
    assert tensor.shape == (3, 3, 224, 224) and tensor.dtype == np.float32
    assert result.errors == {}
    for i, image in enumerate(images):
        assert np.array_equal(tensor[i], client.model_input(image).array), f"slot {i}"
    assert all(item.width == 224 for item in result.items)


def test_float16_nhwc_batches(client):
    images = photos()
    result = client.model_input_batch(images, dtype="float16", layout="HWC")
    assert result.array.shape == (3, 224, 224, 3) and result.array.dtype == np.float16
    alone = client.model_input(images[1], dtype="float16", layout="HWC").array
    assert np.array_equal(result.array[1], alone)


def test_a_bad_image_fails_its_slot_only(client):
    images = photos()
    images[1] = b"not an image"
    result = client.model_input_batch(images)
    assert set(result.errors) == {1}
    assert result.errors[1].code == grpc.StatusCode.INVALID_ARGUMENT
    assert result.items[1] is None and result.items[0] is not None
    assert not result.array[1].any(), "a failed image's slot is zeros"
    assert result.response.succeeded == 2


def test_a_batch_wrong_as_a_whole_raises(client):
    request = model_input_batch_request(photos())
    request.channels = 2
    with pytest.raises(ImgprocError) as e:
        client.process_batch(request)
    assert e.value.code == grpc.StatusCode.INVALID_ARGUMENT and "channels" in str(e.value)


def test_the_cpu_backend_refuses_cuda_shared_memory(client):
    with pytest.raises(ImgprocError) as e:
        client.register_cuda_shared_memory("inputs", b"\0" * 64, 1 << 20)
    assert e.value.code == grpc.StatusCode.FAILED_PRECONDITION
    with pytest.raises(ImgprocError) as e:
        client.model_input_batch(photos(), region="inputs")
    assert e.value.code == grpc.StatusCode.FAILED_PRECONDITION


def cuda_buffer_or_skip(byte_size):
    try:
        from imgproc_client.cuda import SharedBuffer
        return SharedBuffer(byte_size)
    except (OSError, RuntimeError) as e:
        pytest.skip(f"no usable CUDA device for the shared-memory test: {e}")


def test_the_server_writes_the_tensor_into_this_processs_gpu_buffer():
    pytest.importorskip("torch", reason="torch reads the buffer as a tensor")
    images = photos()
    slot = 3 * 224 * 224 * 4
    with cuda_buffer_or_skip(len(images) * slot + 512) as buffer:
        server = Server("--backend=cuda", "--allow_cuda_shared_memory", "--metrics_listen=")
        try:
            with Client(server.address) as client:
                client.register_cuda_shared_memory("inputs", buffer.raw_handle, buffer.byte_size)
                written = client.model_input_batch(images, region="inputs", offset=512)
                assert written.response.tensor == b"" and written.response.output_region.byte_size == 3 * slot
                on_gpu = buffer.as_torch(written.shape, "float32", offset=512)
                assert on_gpu.device.type == "cuda" and on_gpu.shape == (3, 3, 224, 224)
                as_bytes = client.model_input_batch(images).array
                assert np.array_equal(on_gpu.cpu().numpy(), as_bytes), "the region's tensor is the bytes answer's"
                client.unregister_cuda_shared_memory("inputs")
                del on_gpu  # before the buffer it views is freed
        finally:
            server.stop()
