#!/usr/bin/env bash
# Installs a build into a prefix (bin/imgproc-server, bin/imgproc-cli, bin/imgproc-load), for images and hosts.
#   scripts/install.sh --prefix DIR [--build-dir build] [--bundle-libs]
# --bundle-libs  also copies into DIR/lib every shared library the binaries load except those a runtime base image
#   provides: glibc's, and the NVIDIA driver's and CUDA runtime's (the nvidia/cuda runtime image has those, the
#   container toolkit mounts the driver). A runtime stage then needs the base image, DIR and
#   LD_LIBRARY_PATH=DIR/lib, which both Dockerfiles use; nothing else is installed there.
set -euo pipefail
cd "$(dirname "$0")/.."
prefix="" build_dir=build bundle=0
fail() { echo "install: error: $*" >&2; exit 1; }
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix|--build-dir) { [ $# -ge 2 ] && [ -n "$2" ]; } || fail "$1 needs a value" ;;&
    --prefix) prefix="$2"; shift 2 ;;
    --build-dir) build_dir="$2"; shift 2 ;;
    --bundle-libs) bundle=1; shift ;;
    -h|--help) sed -n '2,/^set -e/{/^set -e/d;p}' "$0"; exit 0 ;;
    *) echo "install: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
[ -n "$prefix" ] || fail "--prefix DIR is required"
[ -f "$build_dir/CMakeCache.txt" ] || fail "no build in '$build_dir' (scripts/build.sh --build-dir $build_dir)"
# The programs alone (the "runtime" component): the client library's package (headers, archives) is for builds.
cmake --install "$build_dir" --prefix "$prefix" --component runtime >/dev/null
echo "install: $(find "$prefix/bin" -type f | wc -l) programs in $prefix/bin"
[ "$bundle" = 1 ] || exit 0

# What the base images provide. glibc's libraries must come from the base (they go with its loader); the CUDA
# ones from the runtime image and the driver, which must match the GPU's driver.
provided='/(libc|libm|libdl|libpthread|librt|libutil|libresolv|libanl|ld-linux[^/]*)\.so'
provided+='|/(libcuda|libcudart|libnvidia-[^/]*|libnvjpeg|libnpp[^/]*|libcublas[^/]*|libcufft[^/]*|libcurand|libcusolver[^/]*|libcusparse|libnvrtc[^/]*|libnvJitLink)\.so'
mkdir -p "$prefix/lib"
missing="$(ldd "$prefix"/bin/* | grep 'not found' || true)"
[ -z "$missing" ] || fail "the binaries need libraries this host lacks:"$'\n'"$missing"
ldd "$prefix"/bin/* | awk '/=> \// {print $3}' | sort -u | { grep -v -E "$provided" || true; } > "$build_dir/bundled-libs.txt"
xargs -a "$build_dir/bundled-libs.txt" -I{} cp -L {} "$prefix/lib/"
echo "install: $(wc -l < "$build_dir/bundled-libs.txt") libraries bundled in $prefix/lib ($(du -sh "$prefix/lib" | cut -f1))"
