#!/usr/bin/env bash
# Builds OpenCV + opencv_contrib with the CUDA modules this service uses, and installs them into a prefix
# that the project's CMake finds (-DCMAKE_PREFIX_PATH=<prefix> or OpenCV_DIR=<prefix>/lib/cmake/opencv4).
#
#   scripts/build-opencv-cuda.sh [--source DIR|ARCHIVE] [--prefix DIR | --cache DIR] [--cuda-arch "9.0"]
#                                [--cuda-libs DIR] [--jobs N] [--work-dir DIR]
#
# --source   a directory or archive (.tar.gz/.tar.xz/.zip) that holds opencv/ and opencv_contrib/ of the
#            same release (the PyPI sdist of opencv-contrib-python-headless has both), for hosts without
#            network. Without it pip downloads the pinned sdist, which is checked against its SHA-256.
# --cache    build into DIR/opencv-cuda-<key> instead of --prefix, or reuse that build when it is complete;
#            the key hashes this script, the OpenCV sources, the CUDA release, the arch list and the NPP
#            location. Prints the prefix on the last line. Sources are kept in DIR/downloads.
# --cuda-arch  CUDA_ARCH_BIN; default: the compute capabilities nvidia-smi reports, or, where no GPU is
#            visible (image builds), $DEFAULT_CUDA_ARCHS: Turing to Blackwell, the range CUDA 13 supports.
# --cuda-libs  where scripts/fetch-cuda-libs.sh put NPP (include/, lib/) when the toolkit has none; without
#            it, that script runs when NPP is missing. The installed libraries find NPP there (RUNPATH).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"

OPENCV_VERSION=4.14.0
# The sdist of opencv-contrib-python-headless carries opencv/ and opencv_contrib/ of one release.
PINNED_SDIST=opencv-contrib-python-headless==4.14.0.94
PINNED_ARCHIVE=opencv_contrib_python_headless-4.14.0.94.tar.gz
PINNED_SHA256=6cd98a20010c80bf9e6a9cff6189dd2c10bd111fb0aa4d5c6361389514a0ff6c
DEFAULT_CUDA_ARCHS="7.5;8.0;8.6;8.9;9.0;10.0;12.0"
# Modules the service links; BUILD_LIST pulls in their dependencies and nothing else.
MODULES=core,imgproc,imgcodecs,cudev,cudaarithm,cudaimgproc,cudawarping,cudafilters

source_arg="" prefix="" cache="" cuda_libs="" cuda_arch="${CUDA_ARCH_BIN:-}" jobs="$(nproc)" work="${WORK_DIR:-}"
fail() { echo "build-opencv-cuda: error: $*" >&2; exit 1; }
while [ $# -gt 0 ]; do
  case "$1" in
    --source|--prefix|--cache|--cuda-arch|--cuda-libs|--jobs|--work-dir)
      { [ $# -ge 2 ] && [ -n "$2" ]; } || fail "$1 needs a value (see --help)" ;;&
    --source) source_arg="$2"; shift 2 ;;
    --prefix) prefix="$2"; shift 2 ;;
    --cache) cache="$2"; shift 2 ;;
    --cuda-arch) cuda_arch="$2"; shift 2 ;;
    --cuda-libs) cuda_libs="$2"; shift 2 ;;
    --jobs) jobs="$2"; shift 2 ;;
    --work-dir) work="$2"; shift 2 ;;
    -h|--help) sed -n '2,/^set -e/{/^set -e/d;p}' "$0"; exit 0 ;;
    *) echo "build-opencv-cuda: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
[ -z "$prefix" ] || [ -z "$cache" ] || fail "--prefix and --cache exclude each other (--cache picks the prefix)"

phase_start=0; declare -a phase_report=()
begin() { phase_name="$1"; phase_start=$(date +%s); echo "== $phase_name"; }
end() { local s=$(( $(date +%s) - phase_start )); phase_report+=("$(printf '%-10s %5d s' "$phase_name" "$s")"); echo "== $phase_name took ${s}s"; }

# shellcheck source=scripts/lib/cuda-toolkit.sh
source "$here/lib/cuda-toolkit.sh"
cuda_find_toolkit
echo "CUDA toolkit: $cuda_root ($cuda_release)"
for tool in cmake tar sha256sum; do command -v "$tool" >/dev/null || fail "$tool not found"; done
# The CUDA modules link NPP; OpenCV's configure only reports it missing as NOTFOUND variables deep in its log.
# Toolkits without it (wheel-assembled ones, the minimal packages) get it from NVIDIA's nvidia-npp wheel.
npp_dir=""
if ! cuda_toolkit_has_npp; then
  if [ -z "$cuda_libs" ]; then
    echo "The toolkit has no NPP: scripts/fetch-cuda-libs.sh provides the CUDA $cuda_release one"
    cuda_libs="$("$here/fetch-cuda-libs.sh")" || fail "could not fetch NPP; install the toolkit's libnpp-dev or pass --cuda-libs DIR"
  fi
  { [ -f "$cuda_libs/include/npp.h" ] && [ -e "$cuda_libs/lib/libnppc.so" ]; } \
    || fail "no NPP in --cuda-libs '$cuda_libs' (want include/npp.h and lib/libnppc.so: run scripts/fetch-cuda-libs.sh --prefix '$cuda_libs')"
  npp_dir="$(cd "$cuda_libs" && pwd)"
  echo "NPP: $npp_dir"
fi
generator=(); command -v ninja >/dev/null && generator=(-G Ninja)

if [ -z "$cuda_arch" ]; then
  if command -v nvidia-smi >/dev/null && caps="$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null)" && [ -n "$caps" ]; then
    cuda_arch="$(echo "$caps" | tr -d ' ' | sort -u | paste -sd';')"
    echo "CUDA_ARCH_BIN from nvidia-smi: $cuda_arch"
  else
    cuda_arch="$DEFAULT_CUDA_ARCHS"
    echo "No GPU visible; CUDA_ARCH_BIN defaults to $cuda_arch (override with --cuda-arch)"
  fi
fi

# JPEG is most of the CPU time per request. OpenCV's bundled libjpeg-turbo gets its SIMD code only when NASM
# is installed; the system's libjpeg-turbo (libjpeg-turbo8-dev, libjpeg62-turbo-dev) always has it.
jpeg_args=(-DBUILD_JPEG=ON)
if [ -f /usr/include/jpeglib.h ] || [ -f /usr/include/x86_64-linux-gnu/jpeglib.h ]; then
  jpeg_args=(-DBUILD_JPEG=OFF)
  echo "JPEG: the system's libjpeg-turbo"
elif ! command -v nasm >/dev/null && ! command -v yasm >/dev/null; then
  echo "warning: no system libjpeg and no NASM: the bundled libjpeg-turbo builds without SIMD (about 3x slower JPEG)"
fi

downloads=""
if [ -n "$cache" ]; then
  # The key names everything that changes the installed build: this script and its helper (flags, modules,
  # the pinned release), the sources, the CUDA release, the architectures, where NPP comes from (its path
  # is in the libraries' RUNPATH) and the JPEG choice.
  source_id="$PINNED_SHA256"
  if [ -f "$source_arg" ]; then source_id="$(sha256sum < "$source_arg")"
  elif [ -n "$source_arg" ]; then source_id="dir:$(readlink -f "$source_arg")"; fi
  key_hash="$(cat "$here/$(basename "$0")" "$here/lib/cuda-toolkit.sh" - <<<"$OPENCV_VERSION|$source_id|$cuda_release|$cuda_arch|$npp_dir|${jpeg_args[*]}" \
              | sha256sum | cut -c1-12)"
  mkdir -p "$cache"
  cache="$(cd "$cache" && pwd)"
  prefix="$cache/opencv-cuda-$OPENCV_VERSION-cuda$cuda_release-sm$(echo "$cuda_arch" | tr -d '.' | tr ';' '-')-$key_hash"
  # Two CI jobs on one machine with the same key: the second waits for the first build, then reuses it.
  if command -v flock >/dev/null; then exec 9>"$prefix.lock"; flock 9; fi
  if [ -f "$prefix/.complete" ]; then
    echo "OpenCV with CUDA (arch $cuda_arch): reusing the cached build (key $key_hash)"
    echo "$prefix"
    exit 0
  fi
  # A prefix without the stamp is an interrupted build: start over.
  rm -rf "$prefix"
  echo "OpenCV with CUDA (arch $cuda_arch): no cached build for key $key_hash; building into $prefix"
  downloads="$cache/downloads"
  # A private work dir: the shared default would collide with other builds on the machine.
  [ -n "$work" ] || work="$(mktemp -d "${TMPDIR:-/tmp}/opencv-cuda-build.XXXXXX")"
fi
[ -n "$prefix" ] || prefix="${PREFIX:-/opt/opencv-cuda}"
prefix="$(realpath -m "$prefix")"  # it goes into the libraries' RUNPATH
[ -n "$work" ] || work="${TMPDIR:-/tmp}/opencv-cuda-build"
[ -n "$downloads" ] || downloads="$work"

begin sources
mkdir -p "$work" "$downloads"
work="$(cd "$work" && pwd)"
src="$work/src"
if [ -z "$source_arg" ]; then
  archive="$downloads/$PINNED_ARCHIVE"
  if [ -f "$archive" ] && ! echo "$PINNED_SHA256  $archive" | sha256sum -c - >/dev/null 2>&1; then
    echo "$archive does not match its SHA-256: downloading it again"
    rm -f "$archive"
  fi
  if [ ! -f "$archive" ]; then
    py=""
    for c in python3 python; do
      command -v "$c" >/dev/null && "$c" -m pip --version >/dev/null 2>&1 && py="$c" && break
    done
    [ -n "$py" ] || fail "no --source given and no pip to download $PINNED_SDIST (apt-get install python3-pip, or pass --source)"
    # pip, not a URL: it honours the machine's index configuration (mirrors, proxies, certificates).
    "$py" -m pip download -q --no-deps --no-binary opencv-contrib-python-headless -d "$downloads" "$PINNED_SDIST" \
      || fail "pip download $PINNED_SDIST failed (use --source on hosts without network)"
    [ -f "$archive" ] || fail "pip download did not produce $archive"
  fi
  echo "$PINNED_SHA256  $archive" | sha256sum -c - >/dev/null || fail "SHA-256 mismatch for $archive (expected $PINNED_SHA256)"
  source_arg="$archive"
fi
if [ -d "$source_arg" ]; then
  root="$(readlink -f "$source_arg")"
else
  [ -f "$source_arg" ] || fail "--source $source_arg: no such file or directory"
  rm -rf "$src"; mkdir -p "$src"
  case "$source_arg" in
    *.zip) command -v unzip >/dev/null || fail "unzip is needed for $source_arg"; unzip -q "$source_arg" -d "$src" ;;
    *) tar -xf "$source_arg" -C "$src" ;;
  esac
  root="$src"
fi
opencv_dir="$(find "$root" -maxdepth 3 -type f -path '*/opencv/CMakeLists.txt' -printf '%h\n' | head -n1)"
contrib_dir="$(find "$root" -maxdepth 3 -type d -path '*/opencv_contrib/modules' | head -n1)"
[ -n "$opencv_dir" ] || fail "no opencv/ source tree in $source_arg"
[ -n "$contrib_dir" ] || fail "no opencv_contrib/modules in $source_arg"
version_hpp="$opencv_dir/modules/core/include/opencv2/core/version.hpp"
found_version="$(awk '/define CV_VERSION_(MAJOR|MINOR|REVISION) /{printf "%s%s", sep, $3; sep="."}' "$version_hpp")"
[ "$found_version" = "$OPENCV_VERSION" ] || echo "warning: sources are OpenCV $found_version, this script pins $OPENCV_VERSION"
for m in cudev cudaarithm cudaimgproc cudawarping cudafilters; do
  [ -d "$contrib_dir/$m" ] || fail "opencv_contrib module $m missing in $contrib_dir"
done
end

begin configure
build="$work/build"
npp_args=()
if [ -n "$npp_dir" ]; then
  # NPP beside the toolkit, not in it. Its headers: OpenCV's .cpp and .cu files include npp.h, and only the
  # toolkit's include directory is on their paths, so both compilers get NPP's too. Its libraries: FindCUDA
  # looks in the toolkit, then in the default paths, which CMAKE_LIBRARY_PATH leads. The installed libraries'
  # RUNPATH names NPP's directory, so they load it without LD_LIBRARY_PATH.
  npp_args=(-DCMAKE_CXX_STANDARD_INCLUDE_DIRECTORIES="$npp_dir/include" -DCUDA_NVCC_FLAGS="-I$npp_dir/include"
            -DCMAKE_LIBRARY_PATH="$npp_dir/lib" -DCMAKE_INSTALL_RPATH="$prefix/lib;$npp_dir/lib")
fi
cmake -S "$opencv_dir" -B "$build" "${generator[@]}" \
  -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX="$prefix" \
  -DOPENCV_EXTRA_MODULES_PATH="$contrib_dir" -DBUILD_LIST="$MODULES" \
  -DWITH_CUDA=ON -DCUDA_TOOLKIT_ROOT_DIR="$cuda_root" "${npp_args[@]}" -DCUDA_ARCH_BIN="$cuda_arch" -DCUDA_ARCH_PTX= \
  -DWITH_CUBLAS=OFF -DWITH_CUFFT=OFF -DWITH_CUDNN=OFF -DWITH_NVCUVID=OFF -DWITH_NVCUVENC=OFF \
  -DWITH_IPP=OFF -DWITH_ADE=OFF -DWITH_ITT=OFF -DWITH_OPENCL=OFF -DWITH_PROTOBUF=OFF -DWITH_EIGEN=OFF \
  -DWITH_LAPACK=OFF -DWITH_OPENEXR=OFF -DWITH_JASPER=OFF -DWITH_OPENJPEG=OFF -DWITH_AVIF=OFF \
  -DWITH_FFMPEG=OFF -DWITH_GSTREAMER=OFF -DWITH_V4L=OFF -DWITH_GTK=OFF -DWITH_QT=OFF -DWITH_VTK=OFF \
  -DWITH_KLEIDICV=OFF -DWITH_FASTCV=OFF -DWITH_OPENVX=OFF -DWITH_TBB=OFF -DWITH_OPENMP=OFF \
  "${jpeg_args[@]}" -DBUILD_PNG=ON -DBUILD_TIFF=ON -DBUILD_WEBP=ON -DBUILD_ZLIB=ON \
  -DBUILD_TESTS=OFF -DBUILD_PERF_TESTS=OFF -DBUILD_EXAMPLES=OFF -DBUILD_DOCS=OFF -DBUILD_opencv_apps=OFF \
  -DBUILD_opencv_python3=OFF -DBUILD_opencv_python2=OFF -DBUILD_JAVA=OFF -DBUILD_opencv_js=OFF \
  -DBUILD_opencv_world=OFF -DOPENCV_GENERATE_PKGCONFIG=ON -DINSTALL_C_EXAMPLES=OFF \
  -DOPENCV_SKIP_PYTHON_LOADER=ON -DENABLE_CCACHE=OFF \
  > "$work/configure.log" 2>&1 || { tail -n 40 "$work/configure.log"; fail "configure failed (log: $work/configure.log)"; }
grep -E "Disabled by dependency|To be built|NVIDIA CUDA|NVIDIA GPU arch" "$work/configure.log" | sed 's/^ */  /' || true
grep -q "To be built:.*cudaarithm" "$work/configure.log" || fail "configure did not select the CUDA modules (log: $work/configure.log)"
! grep -q "^CUDA_npp[a-z]*_LIBRARY:FILEPATH=.*NOTFOUND" "$build/CMakeCache.txt" \
  || fail "configure did not find NPP ($(grep -o "^CUDA_npp[a-z]*_LIBRARY:FILEPATH=.*NOTFOUND" "$build/CMakeCache.txt" | cut -d: -f1 | paste -sd' '))"
end

begin build
cmake --build "$build" --parallel "$jobs" > "$work/build.log" 2>&1 || { tail -n 40 "$work/build.log"; fail "build failed (log: $work/build.log)"; }
end

begin install
cmake --install "$build" > "$work/install.log" 2>&1 || { tail -n 20 "$work/install.log"; fail "install failed"; }
end

echo
echo "OpenCV $found_version with CUDA (arch $cuda_arch) installed in $prefix"
printf '  %s\n' "${phase_report[@]}"
echo "Build the service with: scripts/build.sh --opencv-cuda $prefix  (or cmake -DCMAKE_PREFIX_PATH=$prefix)"
if [ -n "$cache" ]; then
  # The stamp goes last: only a finished install is ever reused.
  echo "$OPENCV_VERSION cuda$cuda_release arch=$cuda_arch npp=${npp_dir:-toolkit} key=$key_hash" > "$prefix/.complete"
  [ -n "${WORK_DIR:-}" ] || rm -rf "$work"
  echo "$prefix"
fi
