"""CUDA shared memory for ProcessBatch (issue 34): a buffer of this process's GPU memory that the server writes a
batch's tensor into, read here without a copy, as a torch tensor, a CuPy array or a DLPack capsule.

    from imgproc_client import Client
    from imgproc_client.cuda import SharedBuffer

    with Client("127.0.0.1:50051") as client, SharedBuffer(64 * 3 * 224 * 224 * 4) as buffer:
        client.register_cuda_shared_memory("inputs", buffer.raw_handle, buffer.byte_size)
        result = client.model_input_batch(images, region="inputs")  # the server writes on the GPU
        batch = buffer.as_torch(result.shape, "float32")              # (64, 3, 224, 224) on cuda:0, no copy
        ...
        client.unregister_cuda_shared_memory("inputs")

The buffer is a cudaMalloc allocation of its own (not torch's or CuPy's caching allocator, whose blocks share one
allocation and so one IPC handle): the handle names exactly this memory, and the same `raw_handle` registers it with
Triton too (tritonclient.utils.cuda_shared_memory's CudaSharedMemoryRegister takes name, raw_handle, device_id,
byte_size). The server must run on the same GPU with --allow_cuda_shared_memory; between pods see README
(CUDA shared memory, Kubernetes). Needs the CUDA runtime library (libcudart), found beside torch, CuPy or the CUDA
toolkit; torch or CuPy only for as_torch/as_cupy.
"""
import ctypes
import ctypes.util
import glob
import os
import sys

IPC_HANDLE_BYTES = 64  # sizeof(cudaIpcMemHandle_t)
_DTYPES = {"uint8": ("|u1", 1), "float16": ("<f2", 2), "float32": ("<f4", 4), "uint16": ("<u2", 2)}


def _find_cudart():
    """libcudart: the one torch or the nvidia wheels bring, else the system's (ldconfig, CUDA_HOME, /usr/local/cuda)."""
    candidates = []
    for path in sys.path:
        candidates += glob.glob(os.path.join(path, "nvidia", "cuda_runtime", "lib", "libcudart.so*"))
        candidates += glob.glob(os.path.join(path, "torch", "lib", "libcudart*.so*"))
    found = ctypes.util.find_library("cudart")
    if found:
        candidates.append(found)
    for home in (os.environ.get("CUDA_HOME"), "/usr/local/cuda"):
        if home:
            candidates += glob.glob(os.path.join(home, "lib64", "libcudart.so*"))
    for candidate in candidates:
        try:
            return ctypes.CDLL(candidate)
        except OSError:
            continue
    raise OSError("no CUDA runtime library (libcudart) found: install torch, cupy or nvidia-cuda-runtime, or set "
                  "CUDA_HOME")


class _IpcHandle(ctypes.Structure):
    _fields_ = [("reserved", ctypes.c_char * IPC_HANDLE_BYTES)]


class CudaError(RuntimeError):
    pass


class SharedBuffer:
    """byte_size bytes of GPU memory on `device`, allocated with cudaMalloc, with the IPC handle that lends them to
    another process (.raw_handle, 64 bytes). Free it with close() (or a with block) only after the server no longer
    has it registered; tensors made from it (as_torch, as_cupy, to_dlpack) must not outlive it."""

    def __init__(self, byte_size, device=0):
        self._cudart = _find_cudart()
        self.byte_size = int(byte_size)
        self.device = int(device)
        self._check(self._cudart.cudaSetDevice(ctypes.c_int(self.device)), "cudaSetDevice")
        pointer = ctypes.c_void_p()
        self._check(self._cudart.cudaMalloc(ctypes.byref(pointer), ctypes.c_size_t(self.byte_size)), "cudaMalloc")
        self.pointer = pointer.value
        handle = _IpcHandle()
        self._check(self._cudart.cudaIpcGetMemHandle(ctypes.byref(handle), ctypes.c_void_p(self.pointer)),
                    "cudaIpcGetMemHandle")
        self.raw_handle = bytes(handle.reserved)

    def _check(self, code, what):
        if code != 0:
            self._cudart.cudaGetErrorString.restype = ctypes.c_char_p
            raise CudaError(f"{what} failed: {self._cudart.cudaGetErrorString(code).decode()} ({code})")

    def close(self):
        if self.pointer is not None:
            self._cudart.cudaFree(ctypes.c_void_p(self.pointer))
            self.pointer = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def cuda_array(self, shape, dtype="float32", offset=0):
        """An object with __cuda_array_interface__ (version 3) over the buffer from `offset`: what torch.as_tensor,
        cupy.asarray and numba take without copying."""
        typestr, itemsize = _DTYPES[dtype]
        count = 1
        for dim in shape:
            count *= int(dim)
        if offset < 0 or offset + count * itemsize > self.byte_size:
            raise ValueError(f"{tuple(shape)} {dtype} at offset {offset} does not fit the buffer's {self.byte_size} "
                             "bytes")
        return _CudaArray(self.pointer + offset, tuple(int(d) for d in shape), typestr, self)

    def as_torch(self, shape, dtype="float32", offset=0):
        """A torch.Tensor on cuda:<device> over the buffer, no copy."""
        import torch
        return torch.as_tensor(self.cuda_array(shape, dtype, offset), device=f"cuda:{self.device}")

    def as_cupy(self, shape, dtype="float32", offset=0):
        """A cupy.ndarray over the buffer, no copy."""
        import cupy
        return cupy.asarray(self.cuda_array(shape, dtype, offset))

    def to_dlpack(self, shape, dtype="float32", offset=0):
        """A DLPack capsule over the buffer (through torch, else CuPy), for any framework that takes one."""
        try:
            import torch.utils.dlpack
            return torch.utils.dlpack.to_dlpack(self.as_torch(shape, dtype, offset))
        except ImportError:
            return self.as_cupy(shape, dtype, offset).toDlpack()

    def read(self, offset=0, byte_size=None):
        """A copy of the buffer's bytes on the host (for checks; the point of the buffer is not to need this)."""
        byte_size = self.byte_size - offset if byte_size is None else byte_size
        host = ctypes.create_string_buffer(byte_size)
        self._check(self._cudart.cudaMemcpy(host, ctypes.c_void_p(self.pointer + offset), ctypes.c_size_t(byte_size),
                                            ctypes.c_int(2)), "cudaMemcpy")  # cudaMemcpyDeviceToHost
        return host.raw


class _CudaArray:
    __slots__ = ("__cuda_array_interface__", "_owner")

    def __init__(self, pointer, shape, typestr, owner):
        # stream None: the server synchronized its writes before it answered.
        self.__cuda_array_interface__ = {"shape": shape, "typestr": typestr, "data": (pointer, False), "version": 3,
                                         "strides": None, "stream": None}
        self._owner = owner  # keeps the buffer's Python object alive as long as this view
