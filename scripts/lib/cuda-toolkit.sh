# shellcheck shell=bash
# Sourced by the scripts that build CUDA code: finds the CUDA toolkit and says what it lacks.
# Sets cuda_nvcc, cuda_root (the toolkit root, symlinks resolved) and cuda_release (e.g. 13.0), or fails
# with what to install. Needs a fail() function from the caller.

cuda_find_toolkit() {
  cuda_nvcc="$(command -v nvcc || true)"
  if [ -z "$cuda_nvcc" ]; then
    for c in /usr/local/cuda/bin/nvcc /usr/local/cuda-*/bin/nvcc; do
      [ -x "$c" ] && cuda_nvcc="$c" && break
    done
  fi
  [ -n "$cuda_nvcc" ] || fail "nvcc not found: install the CUDA toolkit (13.x; no GPU is needed to build) or put its bin/ on PATH"
  cuda_root="$(dirname "$(dirname "$(readlink -f "$cuda_nvcc")")")"
  cuda_release="$("$cuda_nvcc" --version | sed -n 's/.*release \([0-9]*\.[0-9]*\).*/\1/p')"
  [ -n "$cuda_release" ] || fail "could not read the CUDA release from '$cuda_nvcc --version'"
}

# Toolkits lay out headers and libraries as include/ + lib64/ (runfile, Debian/Ubuntu packages) or under
# targets/<arch>/ (NVIDIA's own packages and containers); wheel-assembled ones have lib/.
cuda_toolkit_has_header() {
  local h
  for h in "$cuda_root/include/$1" "$cuda_root"/targets/*/include/"$1"; do [ -f "$h" ] && return 0; done
  return 1
}
cuda_toolkit_has_library() {  # the unversioned .so, which linking needs
  local l
  for l in "$cuda_root/lib64/$1.so" "$cuda_root/lib/$1.so" "$cuda_root"/targets/*/lib/"$1.so"; do
    [ -e "$l" ] && return 0
  done
  return 1
}
cuda_toolkit_has_npp() { cuda_toolkit_has_header npp.h && cuda_toolkit_has_library libnppc; }
cuda_toolkit_has_nvjpeg() { cuda_toolkit_has_header nvjpeg.h && cuda_toolkit_has_library libnvjpeg; }

# Where scripts/fetch-cuda-libs.sh puts what the toolkit lacks, by default.
cuda_libs_default_prefix() { echo "${XDG_CACHE_HOME:-$HOME/.cache}/imgproc/cuda-libs-$cuda_release"; }
