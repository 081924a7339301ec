#!/usr/bin/env bash
# Runs imgproc-load for a few seconds against a real server on loopback and checks its JSON reports:
#   1. every answer verified by default, and the server's figures over the measured window;
#   2. --verify_fraction=0.25 checks about a quarter of the answers;
#   3. with --metrics pointed at a stand-in /metrics that serves, at known rates, the series today's server does
#      not export yet (process CPU, JPEG engine, decode/encode backends, decode batch sizes), the figures are right;
#   4. with truncated and hasty requests mixed in, their statuses are counted apart, each kind only as it may end.
#   check_load_report.sh SERVER_BINARY LOAD_BINARY
set -euo pipefail
server_bin=$1 load_bin=$2
photos="${IMGPROC_TEST_IMAGES:-/usr/share/backgrounds/mate}/nature"
dir=$(mktemp -d)
server="" fake=""
cleanup() {
  for pid in $server $fake; do kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  rm -rf "$dir"
}
trap cleanup EXIT
"$server_bin" --listen=127.0.0.1:0 --metrics_listen=127.0.0.1:0 --backend=cpu > "$dir/server.log" &
server=$!
for _ in $(seq 100); do grep -q "metrics on" "$dir/server.log" && break; sleep 0.1; done
port=$(sed -n 's/.*listening on [0-9.]*:\([0-9]*\).*/\1/p' "$dir/server.log")
metrics=$(sed -n 's/.*metrics on \([0-9.]*:[0-9]*\).*/\1/p' "$dir/server.log")
[ -n "$port" ] || { echo "server did not start"; cat "$dir/server.log"; exit 1; }

# A stand-in for the GPU server's /metrics: counters grow at fixed rates from its start, gauges are constant.
cat > "$dir/fake_metrics.py" <<'PY'
import http.server, sys, time
t0 = time.monotonic()
class Metrics(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        t = time.monotonic() - t0
        body = f"""# HELP process_cpu_seconds_total CPU time
# TYPE process_cpu_seconds_total counter
process_cpu_seconds_total {100 + 1.5 * t}
imgproc_gpu_utilization_ratio{{device="cuda:0"}} 0.8
imgproc_jpeg_engine_utilization_ratio{{device="cuda:0"}} 0.6 1700000000000
imgproc_decodes_total{{path="engine",device="cuda:0",format="jpeg"}} {90 * t}
imgproc_decodes_total{{format="png",device="cuda:0",path="cpu"}} {10 * t}
imgproc_encodes_total{{path="cuda",device="cuda:0",format="jpeg"}} {50 * t}
imgproc_decode_batch_size_bucket{{device="cuda:0",le="+Inf"}} {10 * t}
imgproc_decode_batch_size_sum{{device="cuda:0"}} {80 * t}
imgproc_decode_batch_size_count{{device="cuda:0"}} {10 * t}
imgproc_decode_batcher_seconds_total{{device="cuda:0",phase="engine"}} {0.6 * t}
imgproc_decode_batcher_seconds_total{{device="cuda:0",phase="prepare"}} {0.1 * t}
imgproc_workers{{device="cuda:0"}} 4
imgproc_worker_busy_seconds_total{{device="cuda:0"}} {2 * t}
imgproc_build_info{{opencv_version="4.14.0 {{with}} \\"quotes\\", commas",version="0.1.0"}} 1
""".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
server = http.server.HTTPServer(("127.0.0.1", 0), Metrics)
open(sys.argv[1], "w").write(str(server.server_address[1]))
server.serve_forever()
PY
python3 "$dir/fake_metrics.py" "$dir/fake.port" &
fake=$!
for _ in $(seq 100); do [ -s "$dir/fake.port" ] && break; sleep 0.1; done

load() {  # bounded however slow the host: --duration, or --total within --duration, and timeout
  timeout 60 "$load_bin" --target="127.0.0.1:$port" --input="$photos/Dune.jpg,$photos/GreenMeadow.jpg" \
    --ops="resize scale=0.25 | flip" --format=jpeg --concurrency=4 --report_format=json --progress=false "$@"
}
load --warmup=1s --duration=3s --metrics="$metrics" > "$dir/full.json"
# A fixed count, so that every worker answers enough for the sample's share to be close to 1/4.
load --warmup=0.5s --duration=20s --total=160 --verify_fraction=0.25 > "$dir/quarter.json"
load --warmup=0.5s --duration=2.5s --verify_fraction=0 --metrics="127.0.0.1:$(cat "$dir/fake.port")" > "$dir/fake.json"
load --warmup=0.5s --duration=20s --total=80 --verify_fraction=0 --invalid_fraction=0.25 --cancel_fraction=0.25 \
  > "$dir/mixed.json"
for run in full quarter fake mixed; do echo "$run: $(cat "$dir/$run.json")"; done

python3 - "$dir" <<'PY'
import json, os, sys
full, quarter, fake, mixed = (json.load(open(os.path.join(sys.argv[1], n + ".json")))
                              for n in ("full", "quarter", "fake", "mixed"))
l, server, fs = full["latency_ms"], full.get("server", {}), fake.get("server", {})
near = lambda value, want, tolerance: value is not None and abs(value - want) <= tolerance * want  # noqa: E731
checks = {
    "answers": full["count"] > 0,
    "no errors": full["errors"] == 0 and quarter["errors"] == 0 and fake["errors"] == 0,
    "no wrong answers": full["wrong"] == 0 and quarter["wrong"] == 0,
    "all OK": full["status_codes"].get("OK") == full["count"],
    "throughput > 0": full["rps"] > 0,
    "percentiles ordered": l["min"] <= l["p50"] <= l["p90"] <= l["p95"] <= l["p99"] <= l["max"],
    "mean within range": l["min"] <= l["mean"] <= l["max"],
    "histogram covers every answer": sum(b["count"] for b in full["histogram"]) == full["count"],
    "bytes moved": full["bytes_sent"] > 0 and full["bytes_received"] > 0,
    "load generator CPU reported": full["client_cpu_cores"] > 0,
    "worker busy ratio reported": 0 < full["busy_ratio"].get("worker_busy:cpu", 0) <= 1.0,
    "the window is --duration": near(full["duration_s"], 3.0, 0.05),
    "server window covers the run": near(server.get("window_s"), full["duration_s"], 0.2),
    "verify_fraction=1 verifies every answer": full["verified"] == full["count"],
    "verify_fraction=0.25 verifies 15-35%": quarter["count"] > 0 and 0.15 <= quarter["verified"] / quarter["count"] <= 0.35,
    "verify_fraction=0 verifies none": fake["verified"] == 0 and fake["wrong"] == 0,
    "stand-in: server_cpu_cores from process_cpu_seconds_total": near(fs.get("server_cpu_cores"), 1.5, 0.1),
    "stand-in: GPU utilization mean": near(fs.get("utilization", {}).get("gpu_util:cuda:0"), 0.8, 0.001),
    "stand-in: JPEG engine mean (line with timestamp)": near(fs.get("utilization", {}).get("jpeg_engine_util:cuda:0"), 0.6, 0.001),
    "stand-in: one gauge sample a second": fs.get("gauge_samples", 0) >= 2,
    "stand-in: decode shares by codec path": near(fs.get("decode_path_share", {}).get("engine"), 0.9, 0.01)
                                             and near(fs.get("decode_path_share", {}).get("cpu"), 0.1, 0.01),
    "stand-in: encode shares by codec path": fs.get("encode_path_share") == {"cuda": 1.0},
    "stand-in: decode batch mean": near(fs.get("decode_batch_mean"), 8.0, 0.01),
    "stand-in: decode batcher busy by phase": near(fs.get("decode_batcher_busy", {}).get("engine"), 0.6, 0.05)
                                              and near(fs.get("decode_batcher_busy", {}).get("prepare"), 0.1, 0.05),
    "stand-in: worker busy over workers": near(fake["busy_ratio"].get("worker_busy:cuda:0"), 0.5, 0.1),
    "mixed: truncated requests sent, all INVALID_ARGUMENT": mixed["invalid_sent"] > 0
        and mixed["invalid_status_codes"] == {"INVALID_ARGUMENT": mixed["invalid_sent"]},
    "mixed: hasty requests sent, each OK or DEADLINE_EXCEEDED": mixed["cancelled_sent"] > 0
        and set(mixed["cancelled_status_codes"]) <= {"OK", "DEADLINE_EXCEEDED"}
        and sum(mixed["cancelled_status_codes"].values()) == mixed["cancelled_sent"],
    "mixed: no unexpected status": mixed["unexpected"] == 0,
}
# Today's server exports no process_cpu_seconds_total; once it does, this check runs against the real server.
if "server_cpu_cores" in server:
    checks["server_cpu_cores > 0"] = server["server_cpu_cores"] > 0
else:
    print("skipped: server_cpu_cores > 0 (the server does not export process_cpu_seconds_total)")
for name, ok in checks.items():
    print(("ok:     " if ok else "FAILED: ") + name)
failed = [name for name, ok in checks.items() if not ok]
print("load report checks:", f"all {len(checks)} passed" if not failed else "FAILED: " + ", ".join(failed))
sys.exit(1 if failed else 0)
PY
