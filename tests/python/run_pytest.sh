#!/usr/bin/env bash
# The Python client as a user gets it: a fresh virtualenv, `pip install ./client/python` (the stubs generated from
# the proto by grpcio-tools while the wheel is built), then pytest against a real server on loopback.
#
#   tests/python/run_pytest.sh PYTHON VENV_DIR SERVER_BINARY [pytest arguments]
#
# ctest runs it as integration.python_client, VENV_DIR in the build folder. It needs the package index (PyPI or the
# pip configuration's) for grpcio, grpcio-tools, protobuf, numpy and pytest. Exit 77 (skipped) only when PYTHON
# cannot make a virtualenv: Debian's python3-venv (scripts/install-deps.sh installs it).
set -euo pipefail
[ $# -ge 3 ] || { echo "usage: $0 PYTHON VENV_DIR SERVER_BINARY [pytest arguments]" >&2; exit 2; }
python="$1" venv="$2" server="$3"
shift 3
repo="$(cd "$(dirname "$0")/../.." && pwd)"

if ! "$python" -c 'import ensurepip, venv' 2>/dev/null; then
  echo "run_pytest.sh: $python cannot make a virtualenv (Debian package python3-venv missing): skipped"
  exit 77
fi
rm -rf "$venv"
"$python" -m venv "$venv"
# -q keeps the log short; a failing install still prints pip's error.
"$venv/bin/python" -m pip install -q --disable-pip-version-check "$repo/client/python" pytest
"$venv/bin/python" -m pip list --disable-pip-version-check 2>/dev/null |
  grep -i -E '^(imgproc-client|grpcio|protobuf|numpy|pytest) ' || true
# From outside the source tree, so that the tests import the installed package and nothing else; no cache files
# left in the source tree.
cd "$venv"
IMGPROC_SERVER="$server" exec "$venv/bin/python" -m pytest -p no:cacheprovider -q "$repo/tests/python" "$@"
