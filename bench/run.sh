#!/usr/bin/env bash
# One command for the standard workloads, each side by side in one run, then a table with ratios.
#   bench/run.sh [--duration 10] [--build-dir build-release] [--opencv-cuda PREFIX] [--out bench/results]
# Runs: the service on the CPU backend (and on the CUDA backend where the build has it and a GPU is usable)
# driven by imgproc-load over loopback, at concurrency 1 and at saturation; the in-process C++ baseline; and
# torchvision on the GPU where Python has torch and CUDA. Photos: Debian's mate-backgrounds.
set -euo pipefail
cd "$(dirname "$0")/.."
duration=10 build_dir=build-release out=bench/results cuda_prefix=""
while [ $# -gt 0 ]; do
  case "$1" in
    --duration) duration="$2"; shift 2 ;;
    --build-dir) build_dir="$2"; shift 2 ;;
    --opencv-cuda) cuda_prefix="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    *) echo "bench/run.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
photos="${IMGPROC_TEST_IMAGES:-/usr/share/backgrounds/mate}"
[ -d "$photos/nature" ] || scripts/install-deps.sh
build_args=(--build-dir "$build_dir" --type Release)
[ -n "$cuda_prefix" ] && build_args+=(--opencv-cuda "$cuda_prefix")
scripts/build.sh "${build_args[@]}" > /dev/null
mkdir -p "$out"
rm -f "$out"/*.json
cores=$(nproc)
bin="$build_dir"

start_server() {  # start_server BACKEND -> sets server_pid, port, metrics
  local log="$out/server-$1.log"
  "$bin/server/imgproc_server" --listen=127.0.0.1:0 --metrics_listen=127.0.0.1:0 --backend="$1" \
      --queue_capacity=1024 > "$log" 2>&1 &
  server_pid=$!
  for _ in $(seq 300); do grep -q "metrics on" "$log" && break; sleep 0.1; done
  port=$(sed -n 's/.*listening on [0-9.]*:\([0-9]*\).*/\1/p' "$log")
  metrics=$(sed -n 's/.*metrics on \([0-9.]*:[0-9]*\).*/\1/p' "$log")
  [ -n "$port" ] || { cat "$log"; exit 1; }
}
stop_server() { kill -TERM "$server_pid"; wait "$server_pid" || true; }

# W4's inputs: 256x256 JPEGs made from the photos by the service itself.
small="$out/small"
mkdir -p "$small"
start_server cpu
for f in "$photos"/nature/*.jpg; do
  "$bin/client/imgproc_cli" --target="127.0.0.1:$port" process --in="$f" --out="$small/$(basename "$f")" \
      --ops="resize width=256 height=256 interpolation=INTERPOLATION_AREA" --format=jpeg --quality=90 > /dev/null
done
stop_server

declare -A input ops fmt
input[W1]="$photos/nature";                       ops[W1]="resize scale=0.5 | gaussian_blur kernel_width=5 sigma_x=1.5"; fmt[W1]="--output_format=jpeg --quality=90"
input[W2]="$photos/abstract/Elephants_3840x2160.jpg"; ops[W2]="bilateral_filter diameter=9 sigma_color=75 sigma_space=75"; fmt[W2]="--output_format=jpeg --quality=90"
input[W3]="$photos/nature";                       ops[W3]="resize width=224 height=224 interpolation=INTERPOLATION_AREA | cvt_color conversion=BGR2RGB | normalize mean=0.485,0.456,0.406 std=0.229,0.224,0.225"; fmt[W3]="--output_format=raw --dtype=float32 --layout=chw"
input[W4]="$small";                               ops[W4]="flip"; fmt[W4]="--output_format=jpeg --quality=85"

# The CUDA backend runs where the build has it and a GPU is usable: the server says so, or exits saying why.
cuda_usable() {
  "$bin/server/imgproc_server" --listen=127.0.0.1:0 --metrics_listen= --backend=cuda > "$out/probe-cuda.log" 2>&1 &
  local p=$!
  for _ in $(seq 100); do
    if grep -q "listening on" "$out/probe-cuda.log"; then kill -TERM $p; wait $p || true; return 0; fi
    kill -0 $p 2>/dev/null || { wait $p || true; return 1; }
    sleep 0.2
  done
  kill -KILL $p || true
  return 1
}
backends=(cpu)
if cuda_usable; then backends+=(cuda); else echo "bench: no CUDA rows: $(tail -n1 "$out/probe-cuda.log")" >&2; fi

for backend in "${backends[@]}"; do
  start_server "$backend"
  [ "$backend" = cpu ] && saturation=$((2 * cores)) || saturation=64
  for w in W1 W2 W3 W4; do
    for c in 1 "$saturation"; do
      echo "bench: service-$backend $w concurrency $c" >&2
      "$bin/client/imgproc-load" --target="127.0.0.1:$port" --metrics="$metrics" --input="${input[$w]}" \
          --ops="${ops[$w]}" ${fmt[$w]} --concurrency="$c" --connections=$(( c < 4 ? c : 4 )) --warmup=2s \
          --duration="${duration}s" --timeout=120s --format=json --progress=false > "$out/service-$backend-$w-c$c.json"
    done
  done
  stop_server
done

for w in W1 W2 W3 W4; do
  echo "bench: baseline $w" >&2
  "$bin/bench/imgproc-baseline" --workload="$w" --input="${input[$w]}" --duration="${duration}s" --threads=1 > "$out/baseline-$w-c1.json"
  "$bin/bench/imgproc-baseline" --workload="$w" --input="${input[$w]}" --duration="${duration}s" --threads="$cores" > "$out/baseline-$w-c$cores.json"
  if python3 -c "import torch, torchvision; assert torch.cuda.is_available()" 2>/dev/null; then
    echo "bench: torchvision $w" >&2
    python3 bench/torch_pipeline.py --workload="$w" --input="${input[$w]}" --duration="$duration" --threads=1 > "$out/torch-$w-c1.json"
    python3 bench/torch_pipeline.py --workload="$w" --input="${input[$w]}" --duration="$duration" --threads=16 > "$out/torch-$w-c16.json"
  fi
done

{
  echo "host: $(hostname), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
  command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | sed 's/^/gpu: /'
  echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown), date: $(date -u +%Y-%m-%dT%H:%MZ), duration ${duration}s per run"
} > "$out/host.txt"
python3 bench/report.py "$out"
