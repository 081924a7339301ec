#!/usr/bin/env bash
# Fresh machine to test results: installs what is missing, builds, runs every test suite with ctest.
# GPU tests (label gpu) skip with a printed reason where no CUDA device is present.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh "$@"
cd build
ctest --output-on-failure --timeout 900 -j "$(nproc)"
