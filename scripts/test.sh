#!/usr/bin/env bash
# Fresh machine to test results: installs what is missing, builds, runs every test suite with ctest.
# grpcurl, which Debian lacks, comes from scripts/fetch-grpcurl.sh (PyPI, cached under ~/.cache/imgproc).
# GPU tests (label gpu) skip with a printed reason where no CUDA device is present.
#
#   scripts/test.sh [--format] [--sanitizers] [--fuzz SECONDS] [--deploy] [--cuda-build [--cuda-arch 9.0]]
#                   [build.sh arguments]
#
# --format  first checks that the sources are formatted as .clang-format says (scripts/check-format.sh, Debian
#   12's clang-format 14; other releases format some lines differently, so CI checks, not every machine).
# --sanitizers  also builds with ASan and UBSan (build-asan/) and runs the unit and integration tests there, and
#   with ThreadSanitizer (build-tsan/) and runs the scheduler, worker-pool and batcher tests there.
# --deploy  also checks deploy/ and the Dockerfiles, and builds and runs the CPU image (scripts/check-deploy.sh
#   --image: kustomize, kubernetes-validate, yamllint, hadolint, checkov, podman; needs root).
# --fuzz N  also runs each libFuzzer target for N seconds (scripts/fuzz.sh: clang, ASan, UBSan; build-fuzz/).
# --cuda-build  after the default (CPU) configuration, also builds and tests the CUDA configuration, which
#   needs nvcc but no GPU: NPP and nvJPEG from scripts/fetch-cuda-libs.sh where the toolkit lacks them,
#   OpenCV with CUDA for --cuda-arch (default 9.0) built once by scripts/build-opencv-cuda.sh --cache and
#   reused from ${XDG_CACHE_HOME:-$HOME/.cache}/imgproc while its key matches, the service in build-cuda/
#   with the CUDA backend required, and ctest there. A compile error in GPU code fails it.
set -euo pipefail
cd "$(dirname "$0")/.."
format=0 cuda_build=0 cuda_arch=9.0 sanitizers=0 fuzz_seconds=0 deploy=0 build_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --cuda-build) cuda_build=1; shift ;;
    --format) format=1; shift ;;
    --sanitizers) sanitizers=1; shift ;;
    --deploy) deploy=1; shift ;;
    --fuzz) [ $# -ge 2 ] || { echo "test.sh: --fuzz needs seconds per target, e.g. 60" >&2; exit 2; }
            fuzz_seconds="$2"; shift 2 ;;
    --cuda-arch) [ $# -ge 2 ] || { echo "test.sh: --cuda-arch needs a value, e.g. 9.0" >&2; exit 2; }
                 cuda_arch="$2"; shift 2 ;;
    *) build_args+=("$1"); shift ;;
  esac
done

if [ "$cuda_build" = 1 ]; then
  # Fail before the long CPU run, not after it, when the CUDA half cannot work here.
  fail() { echo "test.sh --cuda-build: error: $*" >&2; exit 1; }
  # shellcheck source=scripts/lib/cuda-toolkit.sh
  source scripts/lib/cuda-toolkit.sh
  cuda_find_toolkit
fi
declare -a timings=()
timed() {  # timed NAME COMMAND...: runs it and records how long it took
  local name="$1" start=$SECONDS; shift
  echo "== test.sh: $name"
  "$@"
  timings+=("$(printf '%-28s %5d s' "$name" $((SECONDS - start)))")
}
print_timings() { [ ${#timings[@]} -le 2 ] || printf '  %s\n' "${timings[@]}"; }

# Sanitized runs: a report fails the test that hit it (the server's own reports end it with a non-zero code).
export ASAN_OPTIONS=detect_leaks=1:halt_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export LSAN_OPTIONS="suppressions=$PWD/tests/lsan.supp"
export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$PWD/tests/tsan.supp"
asan_tests() { (cd build-asan && ctest --output-on-failure --timeout 1800 -j "$(nproc)" -L "unit|integration" -LE soak); }
# ThreadSanitizer: the concurrent parts of the server (scheduler, worker pools, dynamic batcher, budgets, front stage).
tsan_tests() {
  (cd build-tsan && ctest --output-on-failure --timeout 1800 -j "$(nproc)" \
     -R "unit\.(SchedulerTest|WorkerPoolTest|WorkerPoolShutdownTest|DynamicBatcherTest|CountedBudgetTest|FrontStageTest)\.")
}

cpu_tests() { (cd build && ctest --output-on-failure --timeout 900 -j "$(nproc)"); }
install_args=(); [ "$deploy" = 0 ] || install_args=(--deploy-checks)
scripts/install-deps.sh "${install_args[@]}"
# grpcurl for integration.grpcurl, which fails rather than skips when IMGPROC_GRPCURL is set.
IMGPROC_GRPCURL="$(scripts/fetch-grpcurl.sh | tail -n 1)"
export IMGPROC_GRPCURL
[ "$format" = 0 ] || timed "format check" scripts/check-format.sh
timed "CPU build" scripts/build.sh "${build_args[@]}"
timed "CPU tests" cpu_tests
[ "$deploy" = 0 ] || timed "deploy/ and the CPU image" scripts/check-deploy.sh --image
if [ "$sanitizers" = 1 ]; then
  timed "ASan+UBSan build" scripts/build.sh --build-dir build-asan --cuda off --sanitize address,undefined
  timed "ASan+UBSan tests" asan_tests
  timed "TSan build" scripts/build.sh --build-dir build-tsan --cuda off --sanitize thread --target unit_tests
  timed "TSan tests" tsan_tests
fi
[ "$fuzz_seconds" = 0 ] || timed "fuzzing (${fuzz_seconds}s a target)" scripts/fuzz.sh --seconds "$fuzz_seconds"
if [ "$cuda_build" = 0 ]; then print_timings; exit 0; fi

cache="${XDG_CACHE_HOME:-$HOME/.cache}/imgproc"
mkdir -p build-cuda
fetch_cuda_libs() { scripts/fetch-cuda-libs.sh > build-cuda/cuda-libs.txt; }
timed "fetch NPP/nvJPEG" fetch_cuda_libs
cuda_libs="$(cat build-cuda/cuda-libs.txt)"  # empty when the toolkit has both
cuda_libs_args=(); [ -z "$cuda_libs" ] || cuda_libs_args=(--cuda-libs "$cuda_libs")

# The OpenCV build prints its progress; its last line is the prefix it built or found in the cache.
opencv_cuda() {
  scripts/build-opencv-cuda.sh --cache "$cache" --cuda-arch "$cuda_arch" "${cuda_libs_args[@]}" \
    | tee build-cuda/opencv-cuda.log
}
timed "OpenCV with CUDA (sm ${cuda_arch})" opencv_cuda
opencv_prefix="$(tail -n 1 build-cuda/opencv-cuda.log)"
[ -d "$opencv_prefix/lib/cmake/opencv4" ] || fail "no OpenCV install at '$opencv_prefix' (see build-cuda/opencv-cuda.log)"

timed "CUDA build" scripts/build.sh --opencv-cuda "$opencv_prefix" --cuda on "${cuda_libs_args[@]}" --build-dir build-cuda
# The soak (label soak) ran in the CPU configuration already; here it would soak the same CPU backend again.
cuda_tests() { (cd build-cuda && ctest --output-on-failure --timeout 900 -j "$(nproc)" -LE soak); }
timed "CUDA tests" cuda_tests
echo "test.sh: both configurations pass"
print_timings
