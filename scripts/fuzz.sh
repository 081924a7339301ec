#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz: header parsers, decoder front door, chain validation,
# fuzz_decode_pattern, which decodes each input under two fill bytes to catch output a decoder never wrote, and
# fuzz_metadata: the EXIF rewriter and the metadata blocks extracted and spliced back into each answer format) with
# clang, ASan and UBSan into build-fuzz/, and runs each for --seconds (default 60). The corpus of each target is kept in
# build-fuzz/corpus/<target> and grows from run to run; seeds: the test photos (mate-backgrounds), tests/data,
# tests/fuzz/header_seeds (PNG, WebP and GIF chunk walks), tests/fuzz/chain_seeds, tests/fuzz/metadata_seeds, and for
# fuzz_color_profile (ICC profiles: the container walks and lcms2's parsing, issue 29) tests/fuzz/color_seeds and the
# profiles of colord-data and icc-profiles-free; fuzz_heif (HEIC/AVIF: the box walk, limits, colour, metadata and
# libheif's decode, issue 30) tests/fuzz/heif_seeds, made by the unit tests' encoders. A crash, an ASan or UBSan
# report or an input slower than 10 s fails the run; the input
# that did it is left in build-fuzz/artifacts/ (replay it: build-fuzz/tests/fuzz/<target> <file>).
#
#   scripts/fuzz.sh [--seconds 60] [--build-dir build-fuzz] [target ...]
#   scripts/fuzz.sh --seconds 3600 fuzz_decode        # a longer run of one target
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=60 build_dir=build-fuzz targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds="$2"; shift 2 ;;
    --build-dir) build_dir="$2"; shift 2 ;;
    fuzz_*) targets+=("$1"); shift ;;
    *) echo "usage: $0 [--seconds N] [--build-dir DIR] [fuzz_image_header|fuzz_decode|fuzz_chain|fuzz_decode_pattern|fuzz_metadata|fuzz_color_profile|fuzz_heif ...]" >&2; exit 2 ;;
  esac
done
[ ${#targets[@]} -gt 0 ] || targets=(fuzz_image_header fuzz_decode fuzz_chain fuzz_decode_pattern fuzz_metadata fuzz_color_profile fuzz_heif)
command -v clang++ >/dev/null || { echo "fuzz.sh: clang++ is missing (scripts/install-deps.sh installs clang)" >&2; exit 1; }

generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
mkdir -p "$build_dir"
CC=clang CXX=clang++ cmake -S . -B "$build_dir" "${generator[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DIMGPROC_FUZZ=ON \
  -DIMGPROC_BUILD_TESTS=OFF -DIMGPROC_CUDA=OFF > "$build_dir/configure.log" 2>&1 || { cat "$build_dir/configure.log"; exit 1; }
cmake --build "$build_dir" --parallel "$(nproc)" --target "${targets[@]}"

photos="${IMGPROC_TEST_IMAGES:-/usr/share/backgrounds/mate}"
mkdir -p "$build_dir/artifacts"
failed=()
for target in "${targets[@]}"; do
  corpus="$build_dir/corpus/$target"
  mkdir -p "$corpus"
  case "$target" in
    fuzz_chain) seeds=(tests/fuzz/chain_seeds) max_len=4096 ;;
    fuzz_metadata) seeds=(tests/fuzz/metadata_seeds tests/fuzz/header_seeds tests/data) max_len=262144 ;;
    fuzz_heif) seeds=(tests/fuzz/heif_seeds) max_len=65536 ;;
    fuzz_color_profile) seeds=(tests/fuzz/color_seeds /usr/share/color/icc /usr/share/color/icc/colord) max_len=262144 ;;
    *) seeds=("$photos/nature" tests/data tests/fuzz/header_seeds) max_len=262144 ;;  # photos: their first 256 KiB
  esac
  echo "== fuzz.sh: $target for ${seconds}s (corpus $corpus: $(ls "$corpus" | wc -l) inputs)"
  # Leaks are checked at exit only: OpenCV and libjpeg keep per-thread buffers that a per-input check would report.
  if ! ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
       "$build_dir/tests/fuzz/$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 -max_len="$max_len" \
       -detect_leaks=0 -print_final_stats=1 -artifact_prefix="$build_dir/artifacts/$target-" "$corpus" "${seeds[@]}" \
       > "$build_dir/$target.log" 2>&1; then
    tail -n 60 "$build_dir/$target.log"
    failed+=("$target")
  fi
  grep -E "^stat::(number_of_executed_units|new_units_added|peak_rss_mb)|^Done " "$build_dir/$target.log" | sed "s/^/  $target: /" || true
done
[ ${#failed[@]} -eq 0 ] || { echo "fuzz.sh: failed: ${failed[*]} (inputs in $build_dir/artifacts/)"; exit 1; }
echo "fuzz.sh: ${targets[*]} ran ${seconds}s each without a finding"
