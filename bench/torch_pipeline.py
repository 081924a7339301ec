#!/usr/bin/env python3
"""The same workloads in-process with torchvision on the GPU, where torch and a CUDA device exist.

    torch_pipeline.py --workload W1 --input DIR_OR_FILES --duration 10 --threads 8
Prints one JSON line like imgproc-load's, or {"skipped": reason}.
W2 has no torchvision equivalent (no bilateral filter) and is reported as skipped.
"""
import argparse
import json
import os
import sys
import threading
import time


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--workload", required=True)
    p.add_argument("--input", required=True)
    p.add_argument("--duration", type=float, default=10)
    p.add_argument("--threads", type=int, default=8)
    a = p.parse_args()
    try:
        import torch
        import torchvision
        from torchvision.io import decode_jpeg, encode_jpeg
        import torchvision.transforms.v2.functional as F
    except Exception as e:  # noqa: BLE001
        print(json.dumps({"skipped": f"torch/torchvision not importable: {e}"}))
        return
    if not torch.cuda.is_available():
        print(json.dumps({"skipped": "no CUDA device for torch"}))
        return
    if a.workload == "W2":
        print(json.dumps({"skipped": "torchvision has no bilateral filter"}))
        return
    files = []
    for item in a.input.split(","):
        files += sorted(os.path.join(item, f) for f in os.listdir(item)) if os.path.isdir(item) else [item]
    datas = [torchvision.io.read_file(f) for f in files]
    mean = torch.tensor([0.485, 0.456, 0.406], device="cuda").view(3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225], device="cuda").view(3, 1, 1)

    def run(data):
        img = decode_jpeg(data, device="cuda")  # uint8 CHW RGB on the GPU (nvJPEG)
        if a.workload == "W1":
            h, w = img.shape[-2:]
            img = F.resize(img, [h // 2, w // 2], antialias=False)
            img = F.gaussian_blur(img, [5, 5], [1.5, 1.5])
            return encode_jpeg(img, quality=90).cpu()
        if a.workload == "W3":
            img = F.resize(img, [224, 224], antialias=True)
            x = (img.float() / 255 - mean) / std
            return x.cpu()
        img = F.horizontal_flip(img)
        return encode_jpeg(img, quality=85).cpu()

    for d in datas[:4]:  # warm-up: cuDNN/nvJPEG handles, kernels
        run(d)
    torch.cuda.synchronize()
    lat, lock = [], threading.Lock()
    stop = time.monotonic() + a.duration

    def worker(t):
        mine, i = [], t
        with torch.cuda.stream(torch.cuda.Stream()):
            while time.monotonic() < stop:
                s = time.monotonic()
                run(datas[i % len(datas)])
                mine.append(time.monotonic() - s)
                i += a.threads
        with lock:
            lat.extend(mine)

    start = time.monotonic()
    threads = [threading.Thread(target=worker, args=(t,)) for t in range(a.threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.monotonic() - start
    lat.sort()
    pct = lambda q: 1000 * lat[min(len(lat) - 1, int(q / 100 * len(lat)))] if lat else 0  # noqa: E731
    print(json.dumps({"count": len(lat), "errors": 0, "wrong": 0, "duration_s": wall, "rps": len(lat) / wall,
                      "threads": a.threads, "latency_ms": {"p50": pct(50), "p99": pct(99), "max": pct(100)},
                      "device": torch.cuda.get_device_name(0), "torch": torch.__version__}))


if __name__ == "__main__":
    sys.exit(main())
