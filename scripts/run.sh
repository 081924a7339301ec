#!/usr/bin/env bash
# Fresh machine to running server: installs what is missing, builds, starts imgproc-server in the foreground.
# Extra arguments go to the server (e.g. --listen=0.0.0.0:50051 --backend=cpu); Ctrl-C stops it gracefully.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --run
scripts/build.sh
exec build/server/imgproc-server "$@"
