#!/usr/bin/env bash
# Installs what the CUDA toolkit lacks among NPP and nvJPEG, from NVIDIA's wheels of the same release.
#
#   scripts/fetch-cuda-libs.sh [--prefix DIR]
#
# Toolkits assembled from wheels (CI) or the minimal packages have nvcc but neither NPP, which OpenCV's CUDA
# modules link, nor nvJPEG. For the release of the nvcc found (13.0 -> nvidia-npp>=13.0,<13.1), this puts
# their headers into DIR/include and their libraries into DIR/lib (lib*.so.N plus the unversioned .so links
# that linking needs). DIR defaults to ${XDG_CACHE_HOME:-$HOME/.cache}/imgproc/cuda-libs-<release>.
# Prints DIR alone on stdout (its last line), or nothing there when the toolkit has both (stderr says so).
# Quick and offline when DIR already holds them. Package index settings come from pip's own configuration.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
fail() { echo "fetch-cuda-libs: error: $*" >&2; exit 1; }
say() { echo "fetch-cuda-libs: $*" >&2; }
# shellcheck source=scripts/lib/cuda-toolkit.sh
source "$here/lib/cuda-toolkit.sh"

prefix=""
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) [ $# -ge 2 ] || fail "--prefix needs a directory"; prefix="$2"; shift 2 ;;
    -h|--help) sed -n '2,/^set -e/{/^set -e/d;p}' "$0"; exit 0 ;;
    *) fail "unknown argument '$1' (see --help)" ;;
  esac
done

cuda_find_toolkit
[ -n "$prefix" ] || prefix="$(cuda_libs_default_prefix)"

# The wheels of one CUDA release series carry the same sonames as its toolkit; CUDA 12's are suffixed -cu12.
major="${cuda_release%%.*}" minor="${cuda_release#*.}"
suffix=""; [ "$major" -le 12 ] && suffix="-cu$major"
series=">=$cuda_release,<$major.$((minor + 1))"
wanted=()
cuda_toolkit_has_npp || wanted+=("nvidia-npp$suffix")
cuda_toolkit_has_nvjpeg || wanted+=("nvidia-nvjpeg$suffix")
if [ ${#wanted[@]} -eq 0 ]; then
  say "the CUDA $cuda_release toolkit at $cuda_root has NPP and nvJPEG: nothing is missing"
  exit 0
fi

mkdir -p "$prefix/include" "$prefix/lib"
prefix="$(cd "$prefix" && pwd)"
# CI jobs on one machine may start together; one fills the prefix, the other waits and finds it done.
if command -v flock >/dev/null; then exec 9>"$prefix/.lock"; flock 9; fi

# A manifest per package and release lists what it installed: present and complete means nothing to do.
installed() {
  local manifest="$prefix/.installed-$1-$cuda_release" f
  [ -f "$manifest" ] || return 1
  while read -r f; do [ -e "$prefix/$f" ] || return 1; done < "$manifest"
}

todo=()
for p in "${wanted[@]}"; do installed "$p" || todo+=("$p"); done
if [ ${#todo[@]} -gt 0 ]; then
  py=""
  for c in python3 python; do
    command -v "$c" >/dev/null && "$c" -m pip --version >/dev/null 2>&1 && py="$c" && break
  done
  [ -n "$py" ] || fail "pip is needed to fetch ${todo[*]} (apt-get install python3-pip), or install the toolkit's libnpp-dev-${major}-${minor} and libnvjpeg-dev-${major}-${minor}"
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  for p in "${todo[@]}"; do
    say "fetching $p$series (the CUDA $cuda_release toolkit at $cuda_root lacks it)"
    "$py" -m pip download -q --no-deps --only-binary :all: -d "$tmp/$p" "$p$series" >&2 \
      || fail "pip download '$p$series' failed (network or pip's index configuration; or install the toolkit's package instead)"
    wheel="$(ls "$tmp/$p"/*.whl)"
    # Wheels keep them under nvidia/<cuXX or name>/{include,lib}; only headers and shared libraries matter.
    "$py" - "$wheel" "$tmp/$p/x" <<'PY'
import re, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    for n in z.namelist():
        if re.fullmatch(r"nvidia/[^/]+/(include/[^/]+\.h|lib/lib[^/]+\.so\.[0-9.]+)", n):
            z.extract(n, sys.argv[2])
PY
    manifest=()
    for h in "$tmp/$p"/x/nvidia/*/include/*.h; do
      [ -e "$h" ] || fail "$(basename "$wheel") has no headers under nvidia/*/include"
      install -m 644 "$h" "$prefix/include/"; manifest+=("include/$(basename "$h")")
    done
    for l in "$tmp/$p"/x/nvidia/*/lib/lib*.so.*; do
      [ -e "$l" ] || fail "$(basename "$wheel") has no libraries under nvidia/*/lib"
      name="$(basename "$l")"
      install -m 755 "$l" "$prefix/lib/"
      # The linker looks for libX.so; the wheels ship only the sonamed file (libX.so.13).
      ln -sfn "$name" "$prefix/lib/${name%%.so.*}.so"
      manifest+=("lib/$name" "lib/${name%%.so.*}.so")
    done
    printf '%s\n' "${manifest[@]}" > "$prefix/.installed-$p-$cuda_release"
    say "installed $(basename "$wheel"): ${#manifest[@]} files"
  done
else
  say "${wanted[*]} for CUDA $cuda_release already in $prefix"
fi
echo "$prefix"
