#!/usr/bin/env python3
"""Turns bench/run.sh's JSON results into a markdown table with ratios to the in-process baseline."""
import glob
import json
import os
import re
import sys

WORKLOADS = {"W1": "thumbnail (nature/*.jpg, half size, Gaussian 5x5, JPEG q90)",
             "W2": "4K bilateral (Elephants 3840x2160, d=9, JPEG q90)",
             "W3": "ML preprocessing (224x224 area, RGB, ImageNet normalize, float32 CHW)",
             "W4": "small images (256x256 JPEG, flip, JPEG q85)"}


def main(out):
    runs = {}
    for path in glob.glob(os.path.join(out, "*.json")):
        m = re.match(r"(.+)-(W\d)-c(\d+)\.json$", os.path.basename(path))
        if not m:
            continue
        try:
            runs[(m.group(2), m.group(1), int(m.group(3)))] = json.load(open(path))
        except json.JSONDecodeError:
            continue
    if os.path.exists(os.path.join(out, "host.txt")):
        print(open(os.path.join(out, "host.txt")).read().strip().replace("\n", "  \n"))
        print()
    print("| workload | system | concurrency | images/s | p50 ms | p99 ms | errors | CPU workers busy | GPU busy | throughput vs baseline |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for w in sorted(WORKLOADS):
        base = max((r.get("rps", 0) for (ww, s, c), r in runs.items() if ww == w and s == "baseline"), default=0)
        for (ww, system, c), r in sorted(runs.items(), key=lambda kv: (kv[0][1], kv[0][2])):
            if ww != w:
                continue
            if "skipped" in r:
                print(f"| {w} | {system} | {c} | skipped: {r['skipped']} | | | | | | |")
                continue
            busy = r.get("busy_ratio", {})
            cpu = next((f"{v:.0%}" for k, v in busy.items() if k.startswith("worker_busy")), "")
            gpu = next((f"{v:.0%}" for k, v in busy.items() if k.startswith("gpu_busy")), "")
            lat = r.get("latency_ms", {})
            ratio = f"{r['rps'] / base:.2f}x" if base else ""
            print(f"| {w} | {system} | {c} | {r['rps']:.1f} | {lat.get('p50', 0):.2f} | {lat.get('p99', 0):.2f} | "
                  f"{r.get('errors', 0)} | {cpu} | {gpu} | {ratio} |")
    print()
    print("Server stage means at saturation (microseconds per request, from the responses' timings):")
    print()
    print("| workload | system | queue wait | decode | upload | operations | download | encode |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for (w, system, c), r in sorted(runs.items()):
        s = r.get("server_stage_mean_us")
        if not s or c == 1:
            continue
        print(f"| {w} | {system} | " + " | ".join(f"{s[k]:.0f}" for k in
              ("queue_wait", "decode", "upload", "operations", "download", "encode")) + " |")
    print()
    for w, text in WORKLOADS.items():
        print(f"- {w}: {text}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "bench/results")
