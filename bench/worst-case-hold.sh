#!/usr/bin/env bash
# How long one request can hold a worker under the default limits: the chains that come closest to the default
# --max_request_work (5e10 pixel-channel taps) in the families that cost the most per tap, each timed alone on a
# server with one worker. Prints each chain's estimated work (from the server's refusal of the same chain at a
# tenth of the budget), its time, and how long the worker stays busy after the chain's deadline passes
# ("after deadline": the chain sent with a 1 s deadline) or after its client goes away ("after cancel": the
# client killed 0.6 s in): a cheap request sent meanwhile waits for the worker, and its queue wait, less the
# time until the deadline or the cancellation, is that hold (one run each; an upper bound, by the metrics
# polling and the client's start-up, ~10-50 ms). "-": the chain was done before.
#
#   bench/worst-case-hold.sh [--backend cpu|cuda] [--build-dir build] [--only REGEX]
# --only: just the chains that match REGEX (grep -E), e.g. --only warp
set -euo pipefail
cd "$(dirname "$0")/.."
backend=cpu build_dir=build only=
while [ $# -gt 0 ]; do
  case "$1" in
    --backend) backend="$2"; shift 2 ;;
    --build-dir) build_dir="$2"; shift 2 ;;
    --only) only="$2"; shift 2 ;;
    *) echo "usage: $0 [--backend cpu|cuda] [--build-dir DIR] [--only REGEX]" >&2; exit 2 ;;
  esac
done
server="$build_dir/server/imgproc-server" cli="$build_dir/client/imgproc-cli"
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
workers=--cpu_workers=1; [ "$backend" = cuda ] && workers=--cuda_workers=1
start_server port "$out/server.log" --backend="$backend" "$workers"
start_server strict "$out/strict.log" --backend="$backend" "$workers" --max_request_work=5e9

# Each at just under 5e10 by the server's own estimate; the final resize to 64x64 and the raw answer keep encoding out
# of it.
chains=(
  "resize width=4800 height=3500 | bilateral_filter diameter=31 sigma_color=50 sigma_space=50"
  "resize width=4800 height=3500 | normalize | bilateral_filter diameter=31 sigma_color=0.2 sigma_space=50"
  "resize width=1000 height=1000 | morphology shape=SHAPE_ELLIPSE kernel_width=127"
  "resize width=4800 height=3500 | median_blur kernel_size=31"
  "resize width=4800 height=3500 | box_filter kernel_width=31"
  "resize width=8000 height=4000 | gaussian_blur kernel_width=255"
  "resize width=10000 height=10000 interpolation=INTERPOLATION_CUBIC | warp_perspective matrix=1,0.1,0,0,1,0,0,0,1 interpolation=INTERPOLATION_CUBIC"
  "resize width=10000 height=10000 interpolation=INTERPOLATION_CUBIC | warp_affine matrix=0.9,0.2,10,-0.2,0.9,30 interpolation=INTERPOLATION_CUBIC"
  # The steps that cannot be cut by their inputs (stopped inside OpenCV's loops), on the largest image the default
  # --max_pixels admits.
  "resize width=10000 height=10000 interpolation=INTERPOLATION_CUBIC | resize width=7001 height=6999 interpolation=INTERPOLATION_AREA"
  "resize width=10000 height=10000 | cvt_color conversion=CONVERSION_BGR2GRAY | canny threshold1=40 threshold2=120 aperture_size=7 l2_gradient=true"
  "resize width=10000 height=10000 | clahe"
  "resize width=10000 height=10000 | equalize_hist"
  "resize width=10000 height=10000 | cvt_color conversion=CONVERSION_BGR2GRAY | threshold otsu=true"
  "resize width=10000 height=10000 | crop x=1 y=1 width=9998 height=9998"
)
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
metrics_port=$(sed -n 's/.*metrics on [0-9.]*:\([0-9]*\).*/\1/p' "$out/server.log" | head -n 1)
# wait_in_flight N: until the server has N requests in flight (at most 20 s)
wait_in_flight() {
  for _ in $(seq 2000); do
    [ "$(curl -s "http://127.0.0.1:$metrics_port/metrics" | sed -n 's/^imgproc_in_flight_requests \([0-9]*\).*/\1/p')" = "$1" ] && return 0
    sleep 0.01
  done
  return 1
}
cheap_args=(process --target=127.0.0.1:$port --in=$photo --out=$out/cheap --ops="resize width=64 height=64" --format=raw --timeout=600s)
queue_wait_ms() { sed -n 's/.*queue \([0-9]*\),.*/\1/p' "$1" | awk '{ printf "%d", $1 / 1000 }'; }
# release CHAIN deadline|cancel: ms the worker stayed busy after the chain's 1 s deadline passed, or after its client
# went away 0.6 s in. An upper bound: the cheap request's queue wait counts from its arrival, which the metrics
# show no later than t_seen, and the deadline runs from the heavy client's call, no sooner than t0.
release() {
  local t0 t_seen t_stop wait heavy cheap
  local timeout=600; [ "$2" = deadline ] && timeout=1
  t0=$(now_ms)
  "$cli" process --target=127.0.0.1:$port --in=$photo --out=$out/x --ops="$1" --format=raw --timeout=${timeout}s > "$out/heavy.log" 2>&1 &
  heavy=$!
  wait_in_flight 1 || { echo "?"; return; }
  "$cli" "${cheap_args[@]}" > "$out/cheap.log" 2>&1 &
  cheap=$!
  if ! wait_in_flight 2; then wait $cheap; wait $heavy; echo "-"; return; fi  # the heavy one was done already
  t_seen=$(now_ms)
  if [ "$2" = deadline ]; then
    t_stop=$(( t0 + 1000 ))
  else
    while [ $(( $(now_ms) - t0 )) -lt 600 ]; do sleep 0.01; done
    t_stop=$(now_ms)
    kill -KILL $heavy
  fi
  wait $cheap || { echo "?"; return; }
  local heavy_status=0; wait $heavy 2>/dev/null || heavy_status=$?
  [ "$2" = deadline ] && [ $heavy_status = 0 ] && { echo "-"; return; }  # done within its deadline
  wait=$(queue_wait_ms "$out/cheap.log")
  local held=$(( t_seen + wait - t_stop ))
  if [ $held -lt 0 ]; then echo "-"; else echo $held; fi  # "-": done before the deadline or the cancellation
}
printf '%-8s %-122s %11s %8s %15s %13s\n' backend chain estimate seconds "after deadline" "after cancel"
for chain in "${chains[@]}"; do
  [ -n "$only" ] && ! grep -qE -- "$only" <<< "$chain" && continue
  estimate=$("$cli" process --target=127.0.0.1:$strict --in=$photo --out=$out/x --ops="$chain | resize width=64 height=64" --format=raw 2>&1 \
             | sed -n 's/.*brings the request to \([0-9.e+]*\),.*/\1/p' | head -n 1 || true)
  t0=$(date +%s%N)
  if ! "$cli" process --target=127.0.0.1:$port --in=$photo --out=$out/x --ops="$chain | resize width=64 height=64" --format=raw --timeout=600s \
       > "$out/cli.log" 2>&1; then
    echo "failed: $chain: $(tail -n 1 "$out/cli.log")" >&2
    continue
  fi
  seconds="$(( ($(date +%s%N) - t0) / 1000000 ))e-3"
  after_deadline=$(release "$chain | resize width=64 height=64" deadline)
  after_cancel=$(release "$chain | resize width=64 height=64" cancel)
  printf '%-8s %-122s %11s %8.2f %12s ms %10s ms\n' "$backend" "$chain" "${estimate:-?}" "$seconds" "$after_deadline" "$after_cancel"
done
