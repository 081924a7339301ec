#!/usr/bin/env bash
# Installs what building and testing imgproc needs on Debian 12 or Ubuntu 24.04, skipping what is there.
#   scripts/install-deps.sh          build + test dependencies
#   scripts/install-deps.sh --run    only what building and running the server needs (the images' build stage)
#   ... --opencv-cuda                without Debian's OpenCV: the build uses scripts/build-opencv-cuda.sh's, which
#                                    needs libjpeg and pip (to download its sources); the CUDA image
#   ... --deploy-checks              also what scripts/check-deploy.sh needs: a Python venv for the linters,
#                                    debootstrap and podman for the CPU image
#   ... --bench                      also libvips, the peer bench/run.sh compares the CPU backend with
set -euo pipefail
mode=all opencv=debian deploy_checks=0 bench=0
for arg in "$@"; do
  case "$arg" in
    --run) mode=run ;;
    --opencv-cuda) opencv=cuda ;;
    --deploy-checks) deploy_checks=1 ;;
    --bench) bench=1 ;;
    *) echo "install-deps: unknown argument '$arg' (--run, --opencv-cuda, --deploy-checks, --bench)" >&2; exit 2 ;;
  esac
done

# grpc-proto: gRPC's health and reflection .proto files, compiled into the server and the tests.
# golang-github-gogo-googleapis-dev: google/rpc/status.proto (a stream answer's status), compiled into imgproc's protos.
# libgif-dev, libwebp-dev: GIF and animated WebP (giflib, libwebp's demux API), which OpenCV 4.6 does not decode.
# libmicrohttpd-dev: the /metrics endpoint's HTTP server. libjpeg-dev (libjpeg-turbo): JPEG on the CPU.
# libpng-dev: PNG through libpng with its allocation limits set (codec/png_decode.h).
# libtiff-dev (4.5 or later): TIFF decoding, called directly (server/codec/tiff_decode.h).
# liblcms2-dev (Little CMS 2): input colour profiles converted to sRGB (server/codec/color_transform.h); zlib1g-dev
# inflates a PNG's iCCP profile, libssl-dev hashes profiles (both also gRPC's).
# libavif-dev (0.11, with libaom, dav1d, rav1e and SVT-AV1): AVIF answers (server/codec/avif_encode.h) and AVIF input
# (dav1d), 2-3x faster than libheif's on the photos; libheif-dev (1.15): HEIC input (server/codec/heif_decode.h;
# libheif1 links libde265 for HEVC, and x265 and aom, which the tests encode with).
# install.sh --bundle-libs carries them and their codec libraries into the images.
packages=(build-essential cmake ninja-build pkg-config git
          libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler grpc-proto
          golang-github-gogo-googleapis-dev libabsl-dev
          prometheus-cpp-dev libgif-dev libwebp-dev libmicrohttpd-dev libjpeg-dev libtiff-dev libpng-dev
          liblcms2-dev zlib1g-dev libssl-dev libheif-dev libavif-dev)
if [ "$opencv" = debian ]; then
  packages+=(libopencv-core-dev libopencv-imgproc-dev libopencv-imgcodecs-dev)
else
  packages+=(python3-pip ca-certificates)
fi
if [ "$deploy_checks" = 1 ]; then
  packages+=(python3-venv debootstrap podman)
fi
if [ "$bench" = 1 ]; then
  packages+=(libvips-dev)  # bench/vips_peer.cc: imgproxy's engine, in-process like the OpenCV baseline
  packages+=(libvips-tools libheif-examples)  # bench/run.sh's HEIC rows: `vips thumbnail` beside us, heif-enc's inputs
fi
if [ "$mode" = all ]; then
  # Tests: GoogleTest, real photos (mate-backgrounds), promtool and a Prometheus server, python3-venv for the Python
  # client's test (a fresh virtualenv that pip-installs client/python, tests/python/run_pytest.sh),
  # pip for scripts/fetch-grpcurl.sh, openssl for the TLS tests' certificates, clang and its libFuzzer for
  # scripts/fuzz.sh, clang-format for scripts/check-format.sh; real ICC profiles (colord-data: Adobe RGB, ProPhoto,
  # Rec. 709, Wide Gamut; icc-profiles-free: gray) that the colour and metadata tests embed in the photos, EXIF
  # written and read back by libexif (libexif-dev); avifenc/avifdec (libavif-bin) to make and check AVIFs by hand.
  packages+=(libgtest-dev libbenchmark-dev mate-backgrounds prometheus python3 python3-venv curl
             python3-pip openssl clang libclang-rt-dev clang-format colord-data icc-profiles-free libexif-dev
             libavif-bin)
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
