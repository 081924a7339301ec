#!/usr/bin/env bash
# How long one request can hold a worker under the default limits: the chains that come closest to the default
# --max_request_work (5e10 pixel-channel taps) in the families that cost the most per tap, each timed alone on a
# server with one worker. Prints each chain's estimated work (from the server's refusal of the same chain at a
# tenth of the budget) and its time.
#
#   bench/worst-case-hold.sh [--backend cpu|cuda] [--build-dir build]
set -euo pipefail
cd "$(dirname "$0")/.."
backend=cpu build_dir=build
while [ $# -gt 0 ]; do
  case "$1" in
    --backend) backend="$2"; shift 2 ;;
    --build-dir) build_dir="$2"; shift 2 ;;
    *) echo "usage: $0 [--backend cpu|cuda] [--build-dir DIR]" >&2; exit 2 ;;
  esac
done
server="$build_dir/server/imgproc_server" cli="$build_dir/client/imgproc_cli"
photo=/usr/share/backgrounds/mate/nature/Aqua.jpg  # 2560x1600
out=$(mktemp -d)
trap 'kill "${pids[@]}" 2>/dev/null; rm -rf "$out"' EXIT
pids=()
start_server() {  # start_server VAR LOG FLAGS...: sets VAR to the port it listens on
  local var=$1 log=$2; shift 2
  "$server" --listen=127.0.0.1:0 --metrics_listen=127.0.0.1:0 "$@" > "$log" 2>&1 &
  pids+=($!)
  for _ in $(seq 300); do grep -q "listening on" "$log" && break; sleep 0.1; done
  printf -v "$var" '%s' "$(sed -n 's/.*listening on [0-9.]*:\([0-9]*\).*/\1/p' "$log" | head -n 1)"
}
workers=--cpu_workers=1; [ "$backend" = cuda ] && workers=--gpu_workers=1
start_server port "$out/server.log" --backend="$backend" "$workers"
start_server strict "$out/strict.log" --backend="$backend" "$workers" --max_request_work=5e9

# Each at just under 5e10 by the server's own estimate; the final resize keeps the answer's encoding out of it.
chains=(
  "resize width=4800 height=3500 | bilateral_filter diameter=31 sigma_color=50 sigma_space=50"
  "resize width=1000 height=1000 | morphology shape=SHAPE_ELLIPSE kernel_width=127"
  "resize width=4800 height=3500 | median_blur kernel_size=31"
  "resize width=4800 height=3500 | box_filter kernel_width=31"
  "resize width=8000 height=4000 | gaussian_blur kernel_width=255"
  "resize width=10000 height=10000 interpolation=INTERPOLATION_CUBIC | warp_perspective matrix=1,0.1,0,0,1,0,0,0,1 interpolation=INTERPOLATION_CUBIC"
)
printf '%-8s %-122s %11s %8s\n' backend chain estimate seconds
for chain in "${chains[@]}"; do
  estimate=$("$cli" process --target=127.0.0.1:$strict --in=$photo --out=$out/x --ops="$chain | resize width=64 height=64" --format=raw 2>&1 \
             | sed -n 's/.*brings the request to \([0-9.e+]*\),.*/\1/p' | head -n 1 || true)
  t0=$(date +%s%N)
  if ! "$cli" process --target=127.0.0.1:$port --in=$photo --out=$out/x --ops="$chain | resize width=64 height=64" --format=png --timeout=600 \
       > "$out/cli.log" 2>&1; then
    echo "failed: $chain: $(tail -n 1 "$out/cli.log")" >&2
    continue
  fi
  printf '%-8s %-122s %11s %8.2f\n' "$backend" "$chain" "${estimate:-?}" "$(( ($(date +%s%N) - t0) / 1000000 ))e-3"
done
