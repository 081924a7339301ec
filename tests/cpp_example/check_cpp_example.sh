#!/usr/bin/env bash
# The C++ client library as another project gets it: this build installed into an empty prefix, examples/cpp
# (copied out of the tree) configured with find_package(imgproc CONFIG) against that prefix alone and built, then
# run against a real server on loopback to thumbnail a photo; the thumbnail's size is checked by a strict decode
# through the installed imgproc-cli, against the photo's.
#
#   check_cpp_example.sh BUILD_DIR EXAMPLE_SOURCE_DIR SERVER_BINARY [SANITIZERS]
#
# ctest runs it as integration.cpp_example. SANITIZERS (IMGPROC_SANITIZE, e.g. address,undefined): the installed
# archives were built with them, so the example is too.
set -euo pipefail
[ $# -ge 3 ] || { echo "usage: $0 BUILD_DIR EXAMPLE_SOURCE_DIR SERVER_BINARY [SANITIZERS]" >&2; exit 2; }
build=$1 example_src=$2 server_bin=$3 sanitize=${4:-}
photo="${IMGPROC_TEST_IMAGES:-/usr/share/backgrounds/mate}/nature/Dune.jpg"
dir=$(mktemp -d)
server=""
cleanup() {
  if [ -n "$server" ]; then kill -TERM "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  rm -rf "$dir"
}
trap cleanup EXIT
fail() { echo "FAILED: $*"; exit 1; }

prefix="$dir/prefix"
timeout 120 cmake --install "$build" --prefix "$prefix" > "$dir/install.log" || { cat "$dir/install.log"; fail "install"; }
echo "installed:"; (cd "$prefix" && find . -type f | sort | sed 's/^\./  /')
# The client's pieces and the programs, nothing of the server's own code or its generated health/reflection stubs.
unexpected=$(cd "$prefix" && find . -type f | grep -v -E '^\./(bin/(imgproc-server|imgproc-cli|imgproc-load)|include/imgproc/client\.h|include/(imgproc|google)/.+\.pb\.h|lib/libimgproc_(client|proto)\.a|lib/cmake/imgproc/imgproc[A-Za-z-]*\.cmake)$' || true)
[ -z "$unexpected" ] || fail "installed beyond the client library and the programs: $unexpected"

# Out of the tree, and found through CMAKE_PREFIX_PATH only: the source tree and this build are not reachable.
cp -r "$example_src" "$dir/src"
generator=(); command -v ninja > /dev/null && generator=(-G Ninja)
flags=(); [ -z "$sanitize" ] || flags=(-DCMAKE_CXX_FLAGS="-fsanitize=$sanitize" -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=$sanitize")
timeout 120 cmake -S "$dir/src" -B "$dir/build" "${generator[@]}" -DCMAKE_PREFIX_PATH="$prefix" \
  -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF "${flags[@]}" > "$dir/configure.log" 2>&1 \
  || { cat "$dir/configure.log"; fail "configure examples/cpp against $prefix"; }
grep -q "imgproc_DIR:PATH=$prefix/" "$dir/build/CMakeCache.txt" || fail "imgproc was not found in $prefix"
timeout 300 cmake --build "$dir/build" > "$dir/build.log" 2>&1 || { cat "$dir/build.log"; fail "build examples/cpp"; }

"$server_bin" --listen=127.0.0.1:0 --metrics_listen= --backend=cpu --cpu_workers=1 > "$dir/server.log" 2>&1 &
server=$!
for _ in $(seq 100); do grep -q "listening on" "$dir/server.log" && break; sleep 0.1; done
port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$dir/server.log")
[ -n "$port" ] || { cat "$dir/server.log"; fail "the server did not start"; }

timeout 60 "$dir/build/imgproc_thumbnail" "127.0.0.1:$port" "$photo" "$dir/thumb.jpg" 320 | tee "$dir/example.log" \
  || fail "imgproc_thumbnail"
# The sizes, read by the server through the installed imgproc-cli: the photo's (raw, no operations), and the
# thumbnail's under --strict_decode, which refuses a cut or damaged file, so every byte decodes.
cli="$prefix/bin/imgproc-cli"
size_of() {  # size_of FILE FORMAT: WIDTHxHEIGHT as the server decodes it
  "$cli" --target="127.0.0.1:$port" process --in="$1" --format="$2" --strict_decode > "$dir/size.log" 2>&1 \
    || { cat "$dir/size.log"; fail "$1 does not decode"; }
  sed -n "s/^wrote .*: $2 \([0-9]*x[0-9]*\)x[0-9]* .*/\1/p" "$dir/size.log"
}
photo_size=$(size_of "$photo" raw)
[ -n "$photo_size" ] || fail "no size for $photo"
width=${photo_size%x*} height=${photo_size#*x}
expected="320x$(( (height * 320 * 2 + width) / (2 * width) ))"  # keep_aspect: 320 x round(height * 320 / width)
actual=$(size_of "$dir/thumb.jpg" png)
[ "$actual" = "$expected" ] || fail "the thumbnail is ${actual:-not decodable}, not $expected"
grep -q "wrote $dir/thumb.jpg: IMAGE_FORMAT_JPEG $expected, " "$dir/example.log" || fail "the example reported another size"
echo "cpp example: built against the installed prefix, thumbnail $actual decodes"
