#!/usr/bin/env bash
# Peak memory under a flood of 50 MB requests: one CPU worker, --max_queued_bytes=1GiB, and more clients than
# that admits, each sending a 50 MB BMP (4096x4096, uncompressed) for a cheap chain. Prints the server's peak
# resident memory (VmHWM) beside the bounds it was given and how the requests ended.
#
#   bench/flood-rss.sh [--build-dir build] [--concurrency 64] [--duration 20]
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=build concurrency=64 duration=20
while [ $# -gt 0 ]; do
  case "$1" in
    --build-dir) build_dir="$2"; shift 2 ;;
    --concurrency) concurrency="$2"; shift 2 ;;
    --duration) duration="$2"; shift 2 ;;
    *) echo "usage: $0 [--build-dir DIR] [--concurrency N] [--duration S]" >&2; exit 2 ;;
  esac
done
out=$(mktemp -d)
server_pid=
trap '[ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; rm -rf "$out"' EXIT
python3 - "$out/flood.bmp" <<'PY'
import os, struct, sys
w = h = 4096
pixels = os.urandom(w * h * 3)
header = b"BM" + struct.pack("<IHHI", 54 + len(pixels), 0, 0, 54)
info = struct.pack("<IiiHHIIiiII", 40, w, h, 1, 24, 0, len(pixels), 2835, 2835, 0, 0)
open(sys.argv[1], "wb").write(header + info + pixels)
PY
bound=$((1 << 30))
"$build_dir/server/imgproc-server" --listen=127.0.0.1:0 --metrics_listen=127.0.0.1:0 --backend=cpu --cpu_workers=1 \
    --max_queued_bytes=$bound > "$out/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 300); do grep -q "listening on" "$out/server.log" && break; sleep 0.1; done
port=$(sed -n 's/.*listening on [0-9.]*:\([0-9]*\).*/\1/p' "$out/server.log" | head -n 1)
idle_kb=$(awk '/VmRSS/ {print $2}' /proc/$server_pid/status)
"$build_dir/client/imgproc-load" --target=127.0.0.1:$port --input="$out/flood.bmp" --ops="resize width=256 height=256" \
    --format=jpeg --concurrency="$concurrency" --connections=8 --duration="${duration}s" --timeout=60s \
    --progress=false > "$out/load.txt" 2>&1 || true
cp "$out/load.txt" /tmp/flood-load.txt
peak_kb=$(awk '/VmHWM/ {print $2}' /proc/$server_pid/status)
echo "request: $(stat -c %s "$out/flood.bmp") bytes (4096x4096 BMP); $concurrency clients over 8 connections for ${duration}s; one CPU worker"
echo "bounds: --max_queued_bytes $((bound >> 20)) MiB; one running request's pixels: $((4096 * 4096 * 3 * 2 >> 20)) MiB"
echo "server resident memory: idle $((idle_kb >> 10)) MiB, peak $((peak_kb >> 10)) MiB"
grep -E "Requests/sec|Status code|\[" "$out/load.txt" | head -8
