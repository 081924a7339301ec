#!/usr/bin/env bash
# One command for the standard workloads, each side by side in one run, then a table with ratios.
#   bench/run.sh [--duration 10] [--build-dir build-release] [--opencv-cuda PREFIX] [--out bench/results]
#                [--workloads W1,W2,W3,W4,W5,W6,W7,W8,W3B] [--systems service-cpu,service-cuda,baseline,torch,vips]
#                [--cuda-devices "0 all"]
# Runs: the service on the CPU backend (and on the CUDA backend where the build has it and a GPU is usable)
# driven by imgproc-load over loopback, at concurrency 1 and at saturation, and W1 again open loop at half
# the saturation throughput; on the CPU backend W1 and W3 also at full-size decode (shrink-on-load off, the
# service-cpu-full-decode rows); the in-process C++ baseline; libvips in-process on W1 (full-size decode and
# shrink-on-load) and W4 (installed by scripts/install-deps.sh --bench); and torchvision on the GPU where
# Python has torch and CUDA. W8 (issue 30) is HEIC to a JPEG thumbnail: the photos made HEIC by heif-enc, answered
# by the service and by libvips in-process (vips_thumbnail_buffer, as `vips thumbnail`, through the same libheif);
# it is not run by default (--workloads ...,W8) and has no baseline or torch rows. Photos: Debian's mate-backgrounds. Without service-cuda in --systems the build
# leaves the CUDA backend out (nothing of it would run). --cuda-devices runs the CUDA backend once per device set
# (CUDA_VISIBLE_DEVICES; "all": every visible GPU, the service-cuda rows; "0" or "0,1": the service-cuda-1gpu or
# -2gpu rows), so that a multi-GPU host measures 1 GPU against 2 in one run and the report prints the scaling.
# W3B (issue 34) is W3 in ProcessBatch calls of 64 images, a few batches in flight, answered as bytes and, on the
# CUDA backend, written into CUDA shared memory of imgproc-load's process (service-cuda-region rows); not run by
# default; the report sets it beside W3 on each backend.
# service-cuda-sm (not run by default) is the CUDA backend again with --sm_decode_threads=4 (issue 31: a share of
# the baseline JPEGs decoded on the SMs beside the JPEG engine, adaptive): its rows sit beside service-cuda's.
# W6 is W1's chain on the same photos carrying a Display P3 or Adobe RGB profile (bench/tag_photos.cc makes them),
# converted to sRGB by the service (issue 29): run with W1 (--workloads W1,W6), the report puts the two side by side
# per backend and says what the conversion costs (the target on the GPU: at most 5% of W1's throughput). Beside W6's
# rows, its control (system SYSTEM-untagged): the same JPEGs without the profile, so the difference is the conversion
# alone (the tagged photos are re-encoded, which changes their decode time against W1's originals).
set -euo pipefail
cd "$(dirname "$0")/.."
cores=$(nproc)

# Saturation: enough requests in flight to keep the backend busy. The CUDA backend batches decodes across
# requests and must reach ~3,000 images/s over loopback, so it gets many more, over several connections.
cpu_concurrency=$((2 * cores)) cpu_connections=4
cuda_concurrency=256 cuda_connections=8
queue_capacity=$((4 * cuda_concurrency))  # no RESOURCE_EXHAUSTED at saturation, W5's streams included
# At saturation only a sample of answers is decoded and checked, so that verification does not take the CPU
# the server needs; at concurrency 1 every answer is.
saturation_verify_fraction=0.05
warmup=2s torch_threads=16

duration=10 build_dir=build-release out=bench/results cuda_prefix="" cuda_device_sets="all"
workloads=W1,W2,W3,W4,W5,W6,W7 systems=service-cpu,service-cuda,baseline,torch,vips
while [ $# -gt 0 ]; do
  case "$1" in
    --duration) duration="$2"; shift 2 ;;
    --build-dir) build_dir="$2"; shift 2 ;;
    --opencv-cuda) cuda_prefix="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --workloads) workloads="$2"; shift 2 ;;
    --systems) systems="$2"; shift 2 ;;
    --cuda-devices) cuda_device_sets="$2"; shift 2 ;;
    *) echo "bench/run.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
has() { [[ ",$1," == *",$2,"* ]]; }  # has LIST ITEM
for w in ${workloads//,/ }; do has W1,W2,W3,W4,W5,W6,W7,W8,W3B "$w" || { echo "bench/run.sh: unknown workload '$w'" >&2; exit 2; }; done
for s in ${systems//,/ }; do
  has service-cpu,service-cuda,service-cuda-sm,baseline,torch,vips "$s" ||
    { echo "bench/run.sh: unknown system '$s'" >&2; exit 2; }
done

photos="${IMGPROC_TEST_IMAGES:-/usr/share/backgrounds/mate}"
[ -d "$photos/nature" ] || scripts/install-deps.sh
# An air-gapped host (no package registry) runs the rest without libvips: its rows are then reported as missing.
if has "$systems" vips && ! pkg-config --exists vips; then
  scripts/install-deps.sh --bench || echo "bench: could not install libvips (scripts/install-deps.sh --bench)" >&2
fi
build_args=(--build-dir "$build_dir" --type Release --no-tests)  # the bench needs no test binaries
[ -n "$cuda_prefix" ] && build_args+=(--opencv-cuda "$cuda_prefix")
wants_cuda() { has "$systems" service-cuda || has "$systems" service-cuda-sm; }
wants_cuda || build_args+=(--cuda off)
scripts/build.sh "${build_args[@]}" > /dev/null
mkdir -p "$out"
rm -f "$out"/*.json
bin="$build_dir"

start_server() {  # start_server BACKEND [SYSTEM [CUDA_VISIBLE_DEVICES]] -> sets server_pid, port, metrics
  local log="$out/server-${2:-$1}.log"
  [ -n "${3:-}" ] && export CUDA_VISIBLE_DEVICES="$3"
  local extra=(); [ "$1" = cuda ] && extra=(--allow_cuda_shared_memory)  # W3B's regions; loopback only
  [ "${2:-}" = service-cuda-sm ] && extra+=(--sm_decode_threads=4)
  "$bin/server/imgproc-server" --listen=127.0.0.1:0 --metrics_listen=127.0.0.1:0 --backend="$1" \
      --queue_capacity="$queue_capacity" "${extra[@]}" > "$log" 2>&1 &
  server_pid=$!
  [ -n "${3:-}" ] && unset CUDA_VISIBLE_DEVICES
  for _ in $(seq 300); do grep -q "metrics on" "$log" && break; sleep 0.1; done
  port=$(sed -n 's/.*listening on [0-9.]*:\([0-9]*\).*/\1/p' "$log")
  metrics=$(sed -n 's/.*metrics on \([0-9.]*:[0-9]*\).*/\1/p' "$log")
  [ -n "$port" ] || { cat "$log"; exit 1; }
}
stop_server() { kill -TERM "$server_pid"; wait "$server_pid" || true; }

# W4's inputs: 256x256 JPEGs made from the photos by the service itself.
small="$out/small"
if has "$workloads" W4; then
  mkdir -p "$small"
  start_server cpu
  for f in "$photos"/nature/*.jpg; do
    "$bin/client/imgproc-cli" --target="127.0.0.1:$port" process --in="$f" --out="$small/$(basename "$f")" \
        --ops="resize width=256 height=256 interpolation=INTERPOLATION_AREA" --format=jpeg --quality=90 > /dev/null
  done
  stop_server
fi

# W6's inputs: the photos in Display P3 and Adobe RGB (alternately), the profile embedded.
wide_gamut="$out/wide-gamut"
if has "$workloads" W6; then
  rm -rf "$wide_gamut" "$wide_gamut-untagged"
  "$bin/bench/imgproc-tag-photos" --in="$photos/nature" --out="$wide_gamut" --untagged_out="$wide_gamut-untagged" >&2
fi

# W8's inputs: the photos as HEIC (heif-enc, libheif-examples: x265 at quality 90, no thumbnail item).
heic="$out/heic"
if has "$workloads" W8; then
  command -v heif-enc > /dev/null || scripts/install-deps.sh --bench
  mkdir -p "$heic"
  for f in "$photos"/nature/*.jpg; do
    [ -s "$heic/$(basename "$f" .jpg).heic" ] || heif-enc -q 90 -o "$heic/$(basename "$f" .jpg).heic" "$f" > /dev/null
  done
fi

# W5 is W1 sent over ProcessStream (one stream per worker): the in-process rows of W1 stand for it.
declare -A input ops fmt
input[W1]="$photos/nature";                       ops[W1]="resize scale=0.5 | gaussian_blur kernel_width=5 sigma_x=1.5"; fmt[W1]="--format=jpeg --quality=90"
input[W2]="$photos/abstract/Elephants_3840x2160.jpg"; ops[W2]="bilateral_filter diameter=9 sigma_color=75 sigma_space=75"; fmt[W2]="--format=jpeg --quality=90"
input[W3]="$photos/nature";                       ops[W3]="resize width=224 height=224 interpolation=INTERPOLATION_AREA | cvt_color conversion=CONVERSION_BGR2RGB | normalize mean=0.485,0.456,0.406 std=0.229,0.224,0.225"; fmt[W3]="--format=raw --dtype=float32 --layout=chw"
input[W4]="$small";                               ops[W4]="flip"; fmt[W4]="--format=jpeg --quality=85"
input[W8]="$heic";                                ops[W8]="resize width=400 keep_aspect=true interpolation=INTERPOLATION_AREA"; fmt[W8]="--format=jpeg --quality=90"
input[W3B]="${input[W3]}";                        ops[W3B]="${ops[W3]}"; fmt[W3B]="${fmt[W3]}"
input[W5]="${input[W1]}";                         ops[W5]="${ops[W1]}"; fmt[W5]="${fmt[W1]} --stream"
input[W6]="$wide_gamut";                          ops[W6]="${ops[W1]}"; fmt[W6]="${fmt[W1]}"
# W7: JPEG to an AVIF thumbnail (issue 30) at the server's defaults (quality 60, speed 8); libvips's row is
# `vips thumbnail` to AVIF through libheif's libaom at the same quality and speed (bench/vips_peer.cc).
input[W7]="$photos/nature";                       ops[W7]="resize width=320 keep_aspect=true interpolation=INTERPOLATION_AREA"; fmt[W7]="--format=avif"

# The CUDA backend runs where the build has it and a GPU is usable: the server says so, or exits saying why.
cuda_usable() {
  "$bin/server/imgproc-server" --listen=127.0.0.1:0 --metrics_listen= --backend=cuda > "$out/probe-cuda.log" 2>&1 &
  local p=$!
  for _ in $(seq 100); do
    if grep -q "listening on" "$out/probe-cuda.log"; then kill -TERM $p; wait $p || true; return 0; fi
    kill -0 $p 2>/dev/null || { wait $p || true; return 1; }
    sleep 0.2
  done
  kill -KILL $p || true
  return 1
}
servers=()  # BACKEND:SYSTEM:CUDA_VISIBLE_DEVICES
has "$systems" service-cpu && servers+=("cpu:service-cpu:")
if wants_cuda; then
  if cuda_usable; then
    for set in $cuda_device_sets; do
      if [ "$set" = all ]; then
        has "$systems" service-cuda && servers+=("cuda:service-cuda:")
        has "$systems" service-cuda-sm && servers+=("cuda:service-cuda-sm:")
      else servers+=("cuda:service-cuda-$(echo "$set" | tr ',' '\n' | grep -c .)gpu:$set"); fi
    done
  else
    echo "bench: no CUDA rows: $(tail -n1 "$out/probe-cuda.log")" >&2
  fi
fi

load() {  # load OUT_JSON WORKLOAD CONCURRENCY CONNECTIONS VERIFY_FRACTION [more imgproc-load flags]
  local json=$1 w=$2 c=$3 connections=$4 verify=$5
  shift 5
  # shellcheck disable=SC2086  # fmt holds several flags on purpose
  "$bin/client/imgproc-load" --target="127.0.0.1:$port" --metrics="$metrics" --input="${input[$w]}" \
      --ops="${ops[$w]}" ${fmt[$w]} --concurrency="$c" --connections="$connections" --verify_fraction="$verify" \
      --warmup="$warmup" --duration="${duration}s" --timeout=120s --report_format=json --progress=false "$@" > "$json"
  summarize "$json"
}
summarize() { echo "bench: $(python3 bench/report.py --line "$1")" >&2; }

for server in "${servers[@]}"; do
  IFS=: read -r backend system devices <<< "$server"
  start_server "$backend" "$system" "$devices"
  if [ "$backend" = cpu ]; then saturation=$cpu_concurrency connections=$cpu_connections
  else saturation=$cuda_concurrency connections=$cuda_connections; fi
  for w in ${workloads//,/ }; do
    # W3B: W3 in batches of 64 (a few batches in flight), answered as bytes and, on the GPU, into CUDA shared memory.
    if [ "$w" = W3B ]; then
      batches=4; [ "$backend" = cpu ] && batches=2
      load "$out/$system-W3B-c$batches.json" W3B "$batches" "$batches" 1 --batch=64
      if [ "$backend" = cuda ]; then
        load "$out/$system-region-W3B-c$batches.json" W3B "$batches" "$batches" 1 --batch=64 --cuda_shared_memory
      fi
      continue
    fi
    load "$out/$system-$w-c1.json" "$w" 1 1 1
    load "$out/$system-$w-c$saturation.json" "$w" "$saturation" "$connections" "$saturation_verify_fraction"
    # The CPU backend shrinks JPEGs on load where a chain starts with a downscale (W1, W3): the same at full size.
    if [ "$backend" = cpu ] && { [ "$w" = W1 ] || [ "$w" = W3 ]; }; then
      load "$out/service-cpu-full-decode-$w-c$saturation.json" "$w" "$saturation" "$connections" \
           "$saturation_verify_fraction" --shrink_on_load=false
    fi
    # W6: its control, and what the server did with the profiles, from its own counter (converted, on which device).
    if [ "$w" = W6 ]; then
      load "$out/$system-untagged-W6-c1.json" W6 1 1 1 --input="$wide_gamut-untagged"
      load "$out/$system-untagged-W6-c$saturation.json" W6 "$saturation" "$connections" "$saturation_verify_fraction" \
           --input="$wide_gamut-untagged"
      python3 -c "import sys, urllib.request
print(''.join(l for l in urllib.request.urlopen('http://' + sys.argv[1] + '/metrics').read().decode().splitlines(True)
              if l.startswith('imgproc_color_conversions_total')), end='')" "$metrics" > "$out/$system-W6-color.txt"
      echo "bench: $system W6 colour: $(tr '\n' ' ' < "$out/$system-W6-color.txt")" >&2
    fi
  done
  # Latency at half load: open loop at half the saturation throughput (the target: p99 within 2x p50).
  if has "$workloads" W1; then
    half=$(python3 -c "import json,sys; print(int(json.load(open(sys.argv[1])).get('rps', 0) / 2))" \
           "$out/$system-W1-c$saturation.json")
    if [ "$half" -gt 0 ]; then
      load "$out/$system-W1-c$saturation-rps$half.json" W1 "$saturation" "$connections" \
           "$saturation_verify_fraction" --rps="$half"
    fi
  fi
  stop_server
done

# In-process rows: W1's stand for W5's and W6's (the in-process programs do no colour management), so W5 or W6
# alone still gets its ratio to the baseline.
inprocess=()
for w in ${workloads//,/ }; do [ "$w" = W5 ] || [ "$w" = W6 ] || [ "$w" = W3B ] || inprocess+=("$w"); done
{ has "$workloads" W5 || has "$workloads" W6; } && ! has "$workloads" W1 && inprocess+=(W1)
torch_ok=false
if has "$systems" torch; then
  if python3 -c "import torch, torchvision; assert torch.cuda.is_available()" 2>/dev/null; then torch_ok=true
  else echo "bench: no torchvision rows: torch, torchvision or a CUDA device missing" >&2; fi
fi
for w in "${inprocess[@]}"; do
  if has "$systems" baseline && [ "$w" != W7 ] && [ "$w" != W8 ]; then  # OpenCV 4.6 writes no AVIF, reads no HEIC
    for threads in 1 "$cores"; do
      "$bin/bench/imgproc-baseline" --workload="$w" --input="${input[$w]}" --duration="${duration}s" \
          --threads="$threads" > "$out/baseline-$w-c$threads.json"
      summarize "$out/baseline-$w-c$threads.json"
    done
  fi
  if has "$systems" vips && { [ "$w" = W1 ] || [ "$w" = W4 ] || [ "$w" = W7 ] || [ "$w" = W8 ]; }; then
    if [ -x "$bin/bench/imgproc-vips-peer" ]; then
      variants=(vips)
      [ "$w" = W1 ] && variants+=(vips-shrink-on-load)  # W4 has no downscale to shrink
      for variant in "${variants[@]}"; do
        for threads in 1 "$cores"; do
          "$bin/bench/imgproc-vips-peer" --workload="$w" --input="${input[$w]}" --duration="${duration}s" \
              --threads="$threads" --shrink_on_load="$([ "$variant" = vips ] && echo false || echo true)" \
              > "$out/$variant-$w-c$threads.json"
          summarize "$out/$variant-$w-c$threads.json"
        done
      done
    else
      echo "bench: no libvips rows: the build has no imgproc-vips-peer (libvips-dev missing)" >&2
    fi
  fi
  if $torch_ok && [ "$w" != W7 ] && [ "$w" != W8 ]; then
    for threads in 1 "$torch_threads"; do
      python3 bench/torch_pipeline.py --workload="$w" --input="${input[$w]}" --duration="$duration" \
          --threads="$threads" > "$out/torch-$w-c$threads.json"
      summarize "$out/torch-$w-c$threads.json"
    done
  fi
done

{
  echo "host: $(hostname), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
  command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | sed 's/^/gpu: /'
  echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown), date: $(date -u +%Y-%m-%dT%H:%MZ), duration ${duration}s per run, warm-up $warmup"
  # Which libvips ran matters: builds differ by 1.5x and more (BENCHMARKS.md, 2026-12-05).
  if has "$systems" vips && [ -x "$bin/bench/imgproc-vips-peer" ]; then
    echo "libvips: $(pkg-config --modversion vips 2>/dev/null || echo unknown), $(ldd "$bin/bench/imgproc-vips-peer" | awk '/libvips/ {print $3}')"
  fi
  echo "saturation: service-cpu $cpu_concurrency in flight over $cpu_connections connections, service-cuda $cuda_concurrency over $cuda_connections; answers verified: all at concurrency 1, a $saturation_verify_fraction sample otherwise"
} > "$out/host.txt"
python3 bench/report.py "$out"
