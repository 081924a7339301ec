#!/usr/bin/env python3
"""Decode throughput of NVIDIA nvImageCodec on a directory of JPEGs, for comparison with the server's nvJPEG
path (imgproc-codec-bench): the same photos, batches of the same sizes, on the same GPU.

Needs the nvidia-nvimgcodec-cu13 package (pip install nvidia-nvimgcodec-cu13) and a CUDA 13 driver.
Prints one line per (backend, batch): images/s over --seconds after a warm-up batch.
"""
import argparse
import ctypes
import os
import time

from nvidia import nvimgcodec


def device_synchronize():
    """Waits for the GPU: decode() may return with the last kernels still queued on the device."""
    try:
        import torch
        return torch.cuda.synchronize
    except ImportError:
        cudart = ctypes.CDLL("libcudart.so.13")
        return cudart.cudaDeviceSynchronize


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--input", default="/usr/share/backgrounds/mate/nature")
    parser.add_argument("--batches", default="1,16,64,128")
    parser.add_argument("--seconds", type=float, default=3)
    args = parser.parse_args()

    photos = []
    for name in sorted(os.listdir(args.input)):
        if name.lower().endswith((".jpg", ".jpeg")):
            with open(os.path.join(args.input, name), "rb") as f:
                photos.append(f.read())
    print(f"{len(photos)} JPEGs from {args.input}")

    synchronize = device_synchronize()
    decoders = {
        "default (engine, CUDA, CPU)": nvimgcodec.Decoder(),
        "engine only (HW_GPU_ONLY)": nvimgcodec.Decoder(backends=[nvimgcodec.Backend(nvimgcodec.BackendKind.HW_GPU_ONLY)]),
    }
    for label, decoder in decoders.items():
        for batch in (int(b) for b in args.batches.split(",")):
            data = [photos[i % len(photos)] for i in range(batch)]
            images = decoder.decode(data)  # warm-up: allocations, extension start-up
            synchronize()
            decoded = sum(1 for image in images if image is not None)
            count, start = 0, time.perf_counter()
            while time.perf_counter() - start < args.seconds:
                images = decoder.decode(data)
                synchronize()
                count += batch
            elapsed = time.perf_counter() - start
            print(f"nvimgcodec {label:30s} batch={batch:<4d} images/s={count / elapsed:7.0f}  "
                  f"decoded {decoded}/{batch} of a batch")


if __name__ == "__main__":
    main()
