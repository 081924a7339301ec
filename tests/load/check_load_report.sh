#!/usr/bin/env bash
# Runs imgproc-load for a few seconds against a real server on loopback and checks its JSON report.
#   check_load_report.sh SERVER_BINARY LOAD_BINARY
set -euo pipefail
server_bin=$1 load_bin=$2
photos="${IMGPROC_TEST_IMAGES:-/usr/share/backgrounds/mate}/nature"
log=$(mktemp)
"$server_bin" --listen=127.0.0.1:0 --metrics_listen=127.0.0.1:0 --backend=cpu > "$log" &
server=$!
trap 'kill -TERM $server 2>/dev/null; wait $server 2>/dev/null; rm -f "$log" "$log.json"' EXIT
for _ in $(seq 100); do grep -q "metrics on" "$log" && break; sleep 0.1; done
port=$(sed -n 's/.*listening on [0-9.]*:\([0-9]*\).*/\1/p' "$log")
metrics=$(sed -n 's/.*metrics on \([0-9.]*:[0-9]*\).*/\1/p' "$log")
[ -n "$port" ] || { echo "server did not start"; cat "$log"; exit 1; }
"$load_bin" --target="127.0.0.1:$port" --input="$photos/Dune.jpg,$photos/GreenMeadow.jpg" \
  --ops="resize scale=0.25 | flip" --output_format=jpeg --concurrency=4 --warmup=1s --duration=3s \
  --metrics="$metrics" --format=json --progress=false > "$log.json"
cat "$log.json"
python3 - "$log.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
l = r["latency_ms"]
checks = {
    "answers": r["count"] > 0,
    "no errors": r["errors"] == 0,
    "no wrong answers": r["wrong"] == 0,
    "all OK": r["status_codes"].get("OK") == r["count"],
    "throughput > 0": r["rps"] > 0,
    "percentiles ordered": l["min"] <= l["p50"] <= l["p90"] <= l["p95"] <= l["p99"] <= l["max"],
    "mean within range": l["min"] <= l["mean"] <= l["max"],
    "histogram covers every answer": sum(b["count"] for b in r["histogram"]) == r["count"],
    "bytes moved": r["bytes_sent"] > 0 and r["bytes_received"] > 0,
    "worker busy ratio reported": 0 < r["busy_ratio"].get("worker_busy:cpu", 0) <= 1.0,
}
failed = [name for name, ok in checks.items() if not ok]
print("load report checks:", "all passed" if not failed else "FAILED: " + ", ".join(failed))
sys.exit(1 if failed else 0)
PY
