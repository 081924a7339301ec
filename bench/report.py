#!/usr/bin/env python3
"""Turns bench/run.sh's JSON results into markdown tables with ratios to the in-process baseline.

    report.py [RESULTS_DIR]     the report of a whole run (default bench/results)
    report.py --line FILE.json  one line about one run, as bench/run.sh prints while it goes
Fields a run's JSON lacks (older imgproc-load, a server without the GPU codec metrics) leave cells empty.
"""
import glob
import json
import os
import re
import sys

WORKLOADS = {"W1": "thumbnail (nature/*.jpg, half size, Gaussian 5x5, JPEG q90)",
             "W2": "4K bilateral (Elephants 3840x2160, d=9, JPEG q90)",
             "W3": "ML preprocessing (224x224 area, RGB, ImageNet normalize, float32 CHW)",
             "W4": "small images (256x256 JPEG, flip, JPEG q85)",
             "W5": "W1 over ProcessStream (one stream per worker, one request in flight on each); "
                   "its ratio is to W1's baseline, which stands for it",
             "W6": "W1's chain on the same photos in Display P3 / Adobe RGB (profile embedded), converted to sRGB; "
                   "its ratio is to W1's baseline, which does no colour management; SYSTEM-untagged rows: the same JPEGs "
                   "without the profile (its control)",
             "W7": "AVIF thumbnail (nature/*.jpg, 320 wide area, AVIF q60 speed 8); no OpenCV baseline (OpenCV 4.6 "
                   "writes no AVIF): compare with the libvips rows",
             "W8": "HEIC to JPEG thumbnail (nature/*.jpg made HEIC by heif-enc q90, 400 wide, JPEG q90)",
             "W3B": "W3 as batches of 64 images (ProcessBatch), concurrency in batches, images/s per image, latency per "
                    "batch; SYSTEM-region rows: each tensor written by the server on the GPU into a CUDA shared-memory "
                    "region of the load generator's process, no pixels through the host; its ratio is to W3's "
                    "baseline"}
SAME_WORK_AS = {"W5": "W1", "W6": "W1", "W3B": "W3"}  # the in-process rows that W5's are compared with
# SYSTEM-WORKLOAD-cCONCURRENCY[-rpsOPEN_LOOP_RATE]
RUN_FILE = re.compile(r"(.+)-(W\dB?)-c(\d+)(?:-rps(\d+))?\.json$")


def images_per_s(r):
    """Images a second: a batch run's (imgproc-load --batch) per image, any other's per request."""
    return r.get("images_per_s", 0) if r.get("batch") else r.get("rps", 0)


def load_runs(out):
    runs = {}
    for path in glob.glob(os.path.join(out, "*.json")):
        m = RUN_FILE.match(os.path.basename(path))
        if not m:
            continue
        try:
            runs[(m.group(2), m.group(1), int(m.group(3)), int(m.group(4) or 0))] = json.load(open(path))
        except json.JSONDecodeError:
            continue
    return runs


def percent(v):
    return f"{v:.0%}" if v is not None else ""


def per_device(server, prefix):
    """'gpu_util:cuda:0' and the like: one value, or 'cuda:0 80%, cuda:1 75%' on several devices. The gauges are
    in the server object's "utilization" (reports before it had them at its top level)."""
    gauges = {**{k: v for k, v in server.items() if isinstance(v, float)}, **server.get("utilization", {})}
    values = {k[len(prefix):]: v for k, v in gauges.items() if k.startswith(prefix)}
    if len(values) == 1:
        return percent(next(iter(values.values())))
    return ", ".join(f"{d} {percent(v)}" for d, v in sorted(values.items()))


def verified(r):
    if "verified" not in r:
        return ""
    return f"{r['verified']} ({r['verified'] / r['count']:.0%})" if r.get("count") else str(r["verified"])


def shares(label, by_path):
    return f"{label} " + ", ".join(f"{p} {percent(v)}" for p, v in sorted(by_path.items(), key=lambda kv: -kv[1]))


def server_details(r):
    """Where the work ran and how busy the server and the load generator were; only what the run reports."""
    s, busy, parts = r.get("server", {}), r.get("busy_ratio", {}), []
    # Reports written before the codec path had its name (2026-12-07) call the shares *_backend_share.
    for what, key in (("decodes", "decode"), ("encodes", "encode")):
        by_path = s.get(f"{key}_path_share") or s.get(f"{key}_backend_share")
        if by_path:
            parts.append(shares(what, by_path))
    if "decode_batch_mean" in s:
        parts.append(f"decode batch mean {s['decode_batch_mean']:.1f}")
    if s.get("decode_batcher_busy"):
        phases = s["decode_batcher_busy"]
        parts.append("decode batcher thread " + ", ".join(f"{p} {percent(v)}" for p, v in sorted(phases.items(), key=lambda kv: -kv[1])))
    for prefix, what in (("worker_busy:", "workers busy"), ("gpu_busy:", "GPU busy (CUDA events)")):
        parts += [f"{what} on {k[len(prefix):]} {percent(v)}" for k, v in sorted(busy.items()) if k.startswith(prefix)]
    if "client_cpu_cores" in r:
        parts.append(f"load generator {r['client_cpu_cores']:.2f} cores")
    return "; ".join(parts)


def concurrency(c, rps):
    return f"{c}, open loop {rps}/s" if rps else str(c)


def line(path):
    """One run in a line: what bench/run.sh prints as it goes."""
    r = json.load(open(path))
    m = RUN_FILE.match(os.path.basename(path))
    name = f"{m.group(1)} {m.group(2)} concurrency {concurrency(int(m.group(3)), int(m.group(4) or 0))}" if m else path
    if "skipped" in r:
        return f"{name}: skipped: {r['skipped']}"
    lat, s = r.get("latency_ms", {}), r.get("server", {})
    text = (f"{name}: {images_per_s(r):.1f} images/s, p50 {lat.get('p50', 0):.2f} ms, p99 {lat.get('p99', 0):.2f} ms, "
            f"{r.get('errors', 0)} errors")
    if "verified" in r:
        text += f", {verified(r)} verified, {r.get('wrong', 0)} wrong"
    server = [f"CPU {s['server_cpu_cores']:.2f} cores" if "server_cpu_cores" in s else "",
              f"GPU {per_device(s, 'gpu_util:')}" if per_device(s, "gpu_util:") else "",
              f"JPEG engine {per_device(s, 'jpeg_engine_util:')}" if per_device(s, "jpeg_engine_util:") else ""]
    if any(server):
        text += "; server " + ", ".join(p for p in server if p)
    details = server_details(r)
    return text + (f"; {details}" if details else "")


def main(out):
    runs = load_runs(out)
    if os.path.exists(os.path.join(out, "host.txt")):
        print(open(os.path.join(out, "host.txt")).read().strip().replace("\n", "  \n"))
        print()
    print("| workload | system | concurrency | images/s | p50 ms | p99 ms | errors | verified | server CPU cores | "
          "GPU util | JPEG engine util | throughput vs baseline |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for w in sorted(WORKLOADS):
        base_of = SAME_WORK_AS.get(w, w)
        base = max((images_per_s(r) for (ww, s, c, q), r in runs.items() if ww == base_of and s == "baseline"),
                   default=0)
        for (ww, system, c, rps), r in sorted(runs.items(), key=lambda kv: kv[0][1:]):
            if ww != w:
                continue
            if "skipped" in r:
                print(f"| {w} | {system} | {c} | skipped: {r['skipped']} |" + " |" * 8)
                continue
            lat, s = r.get("latency_ms", {}), r.get("server", {})
            cpu = f"{s['server_cpu_cores']:.2f}" if "server_cpu_cores" in s else ""
            ratio = f"{images_per_s(r) / base:.2f}x" if base and not rps else ""  # open loop: the rate was chosen
            print(f"| {w} | {system} | {concurrency(c, rps)} | {images_per_s(r):.1f} | {lat.get('p50', 0):.2f} | "
                  f"{lat.get('p99', 0):.2f} | {r.get('errors', 0)} | {verified(r)} | {cpu} | "
                  f"{per_device(s, 'gpu_util:')} | {per_device(s, 'jpeg_engine_util:')} | {ratio} |")
    print()
    print("Server stage means at saturation (microseconds per request, from the responses' timings):")
    print()
    print("| workload | system | batch wait | queue wait | decode | upload | operations | download | encode |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for (w, system, c, rps), r in sorted(runs.items()):
        s = r.get("server_stage_mean_us")
        if not s or c == 1 or rps:
            continue
        print(f"| {w} | {system} | " + " | ".join(f"{s.get(k, 0):.0f}" for k in
              ("batch_wait", "queue_wait", "decode", "upload", "operations", "download", "encode")) + " |")
    print()
    service = [(k, r) for k, r in sorted(runs.items()) if k[1].startswith("service-") and server_details(r)]
    if service:
        print("Server and load generator over each service run's measured window:")
        print()
        for (w, system, c, rps), r in service:
            print(f"- {w} {system} concurrency {concurrency(c, rps)}: {server_details(r)}")
        print()
    for (w, system, c, rps), r in sorted(runs.items()):
        lat = r.get("latency_ms", {})
        if rps and lat.get("p50"):
            print(f"Half load, {w} {system}, open loop at {rps}/s (half the saturation throughput): p50 "
                  f"{lat['p50']:.2f} ms, p99 {lat['p99']:.2f} ms, p99/p50 {lat['p99'] / lat['p50']:.2f} (target: <= 2)")
            print()
    # libvips is the engine CPU users would run otherwise (imgproxy): the service against it at saturation, both
    # ways of decoding on each side.
    def best(w, system):
        return max((images_per_s(r) for (ww, s, c, q), r in runs.items() if ww == w and s == system and not q),
                   default=0)
    for w in sorted(WORKLOADS):
        pairs = [(a, b) for a in ("service-cpu", "service-cpu-full-decode")
                 for b in ("vips-shrink-on-load", "vips") if best(w, a) and best(w, b)]
        if pairs:
            print(f"{w} against libvips, best of each at saturation: " + "; ".join(
                f"{a} {best(w, a):.1f}/s vs {b} {best(w, b):.1f}/s = {best(w, a) / best(w, b):.2f}x" for a, b in pairs))
            print()
    # W6 against its control (the same JPEGs without the profile) and against W1 on each service system, side by side
    # from the same run: what colour conversion costs.
    for system in sorted({s for (w, s, _, _) in runs if w == "W6" and s.startswith("service-")
                          and not s.endswith("-untagged")}):
        target = " (target on the GPU: <= 5%)" if "cuda" in system else ""
        for c in sorted({c for (w, s, c, q) in runs if w == "W6" and s == system and not q}):
            w6 = runs.get(("W6", system, c, 0), {}).get("rps", 0)
            for label, key in (("its control without the profile", ("W6", f"{system}-untagged", c, 0)),
                               ("W1", ("W1", system, c, 0))):
                other = runs.get(key, {}).get("rps", 0)
                if w6 and other:
                    print(f"W6 against {label}, {system} concurrency {c}: {w6:.1f}/s vs {other:.1f}/s = "
                          f"{w6 / other:.3f}x, colour conversion costs {1 - w6 / other:.1%}{target}  ")
        color = os.path.join(out, f"{system}-W6-color.txt")
        if os.path.exists(color) and open(color).read().strip():
            print(f"W6 {system}, the server's counter: " + "; ".join(open(color).read().split("\n")).strip("; "))
        print()
    # W3B against W3 on each backend, from the same run: what batching, and the tensor staying on the GPU, bring.
    for system in sorted({s for (w, s, _, _) in runs if w == "W3B"}):
        plain = system[:-len("-region")] if system.endswith("-region") else system
        batch, single = best("W3B", system), best("W3", plain)
        r = max((r for (w, s, _, q), r in runs.items() if w == "W3B" and s == system and not q),
                key=images_per_s, default={})
        host_bytes = r.get("bytes_received", 0) / max(r.get("images_ok", 0), 1)
        target = " (target: >= 1.5x)" if system.endswith("-region") else ""
        if batch and single:
            print(f"W3B {system} against W3 {plain} at saturation: {batch:.1f}/s vs {single:.1f}/s = "
                  f"{batch / single:.2f}x{target}; {host_bytes:.0f} answer bytes per image through the host; p99 per "
                  f"batch of {r.get('batch', 0)} {r.get('latency_ms', {}).get('p99', 0):.1f} ms  ")
    print()
    # service-cuda-sm against service-cuda (issue 31): what decoding a share of the JPEGs on the SMs beside the
    # engine brings, per workload at saturation (the decode paths are in the server lines above).
    for w in sorted(WORKLOADS):
        engine_only, with_sms = best(w, "service-cuda"), best(w, "service-cuda-sm")
        if engine_only and with_sms:
            print(f"{w} service-cuda-sm against service-cuda at saturation: {with_sms:.1f}/s vs {engine_only:.1f}/s = "
                  f"{with_sms / engine_only:.2f}x  ")
    print()
    # Issue 31's targets for each one-GPU CUDA system, from this run's rows side by side.
    for system in sorted({s for (_, s, _, _) in runs
                          if s.startswith("service-cuda") and not re.search(r"-(\d+gpu|region)$", s)}):
        said = [f"{w} {best(w, system):.1f}/s (target: >= 3,000)" for w in ("W1", "W3") if best(w, system)]
        saturated = [r for (w, s, c, q), r in runs.items() if w == "W1" and s == system and c > 1 and not q]
        top = max(saturated, key=images_per_s, default={})
        if images_per_s(top) and "server_cpu_cores" in top.get("server", {}):
            said.append(f"W1 server cores per 1,000 images/s {top['server']['server_cpu_cores'] / images_per_s(top) * 1000:.2f} "
                        "(target: <= 3)")
        alone, torch_alone = runs.get(("W1", system, 1, 0), {}), runs.get(("W1", "torch", 1, 0), {})
        p50, torch_p50 = alone.get("latency_ms", {}).get("p50"), torch_alone.get("latency_ms", {}).get("p50")
        if p50 and torch_p50:
            said.append(f"W1 at concurrency 1 p50 {p50:.2f} ms against torchvision's {torch_p50:.2f} ms (target: <=)")
        if best("W4", system) and best("W4", "baseline"):
            said.append(f"W4 {best('W4', system) / best('W4', 'baseline'):.2f}x the in-process loop (target: >= 1.2x)")
        if said:
            print(f"Issue 31's targets, {system}: " + "; ".join(said) + "  ")
            print()
    # bench/run.sh --cuda-devices "0 0,1": the same workload on 1 GPU and on several, side by side.
    for w in sorted(WORKLOADS):
        gpus = sorted({int(m.group(1)) for (ww, s, _, _) in runs if ww == w
                       for m in [re.fullmatch(r"service-cuda-(\d+)gpu", s)] if m})
        if len(gpus) > 1 and gpus[0] == 1 and best(w, "service-cuda-1gpu"):
            n = gpus[-1]
            one, many = best(w, "service-cuda-1gpu"), best(w, f"service-cuda-{n}gpu")
            print(f"{w} on {n} GPUs against 1, at saturation: {many:.1f}/s vs {one:.1f}/s = {many / one:.2f}x "
                  f"(target: >= {0.9 * n:.1f}x)")
            print()
    present = {w for (w, _, _, _) in runs} or set(WORKLOADS)
    for w, text in WORKLOADS.items():
        if w in present:
            print(f"- {w}: {text}")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--line":
        print(line(sys.argv[2]))
    else:
        main(sys.argv[1] if len(sys.argv) > 1 else "bench/results")
