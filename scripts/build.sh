#!/usr/bin/env bash
# Configures and builds imgproc into build/ (or --build-dir).
#   scripts/build.sh [--build-dir DIR] [--opencv-cuda PREFIX] [--cuda on|off|auto] [--cuda-libs DIR]
#                    [--type Release|RelWithDebInfo|Debug] [--sanitize address,undefined|thread] [--target NAME]
#                    [--no-tests]
# --opencv-cuda: the prefix scripts/build-opencv-cuda.sh installed into; the CUDA backend is then built.
# --no-tests: only the server, the clients and the benchmarks (images; no GoogleTest needed).
# --cuda-libs: where scripts/fetch-cuda-libs.sh put the NPP/nvJPEG that the CUDA toolkit lacks (IMGPROC_CUDA_LIBS).
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=build cuda=AUTO type=RelWithDebInfo prefix_path="" cuda_libs="" sanitize="" targets=() tests=ON
while [ $# -gt 0 ]; do
  case "$1" in
    --build-dir) build_dir="$2"; shift 2 ;;
    --opencv-cuda) prefix_path="$2"; shift 2 ;;
    --cuda) cuda="$(echo "$2" | tr a-z A-Z)"; shift 2 ;;
    --cuda-libs) [ -d "$2" ] || { echo "build.sh: --cuda-libs '$2' is no directory (scripts/fetch-cuda-libs.sh fills one)" >&2; exit 2; }
                 cuda_libs="$(cd "$2" && pwd)"; shift 2 ;;
    --type) type="$2"; shift 2 ;;
    --sanitize) sanitize="$2"; shift 2 ;;
    --target) targets+=(--target "$2"); shift 2 ;;
    --no-tests) tests=OFF; shift ;;
    *) echo "build.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
args=(-DCMAKE_BUILD_TYPE="$type" -DIMGPROC_CUDA="$cuda" -DIMGPROC_BUILD_TESTS="$tests")
[ -n "$prefix_path" ] && args+=(-DCMAKE_PREFIX_PATH="$prefix_path")
[ -n "$cuda_libs" ] && args+=(-DIMGPROC_CUDA_LIBS="$cuda_libs")
args+=(-DIMGPROC_SANITIZE="$sanitize")
mkdir -p "$build_dir"
cmake -S . -B "$build_dir" "${generator[@]}" "${args[@]}" > "$build_dir/configure.log" 2>&1 \
  || { cat "$build_dir/configure.log"; exit 1; }
grep -E "CUDA backend|OpenCV [0-9]" "$build_dir/configure.log" | sed 's/^-- /build: /'
cmake --build "$build_dir" --parallel "$(nproc)" "${targets[@]}"
