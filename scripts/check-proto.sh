#!/usr/bin/env bash
# The API's proto against buf's rules, as CI checks it (ctest runs it as lint.proto):
#   - buf lint: the STANDARD and COMMENTS rules (proto/buf.yaml; every exception there says why);
#   - buf breaking: no change that breaks clients of the published imgproc.v1 (FILE rules) against BASELINE below,
#     the commit that published it. A deliberate break needs a new package (imgproc.v2), not a new baseline.
#   scripts/check-proto.sh
# buf is pinned and installed by pip (PyPI's buf-bin) into a venv under ${XDG_CACHE_HOME:-$HOME/.cache}/imgproc.
# google/rpc/status.proto, which the proto imports, comes from Debian's golang-github-gogo-googleapis-dev (or
# IMGPROC_GOOGLEAPIS_PROTO_DIR), as in the build.
set -euo pipefail
cd "$(dirname "$0")/.."
fail() { echo "check-proto: FAIL: $*" >&2; exit 1; }
BUF=buf-bin==1.75.0
BASELINE=22f021f02c1e5cafde7391a8d289c35c9106f264  # the commit that published imgproc.v1 (issue 32)

googleapis="${IMGPROC_GOOGLEAPIS_PROTO_DIR:-/usr/share/gocode/src/github.com/gogo/googleapis}"
[ -f "$googleapis/google/rpc/status.proto" ] \
  || fail "no google/rpc/status.proto under $googleapis (scripts/install-deps.sh installs golang-github-gogo-googleapis-dev)"
venv="${XDG_CACHE_HOME:-$HOME/.cache}/imgproc/proto-tools-$(printf '%s' "$BUF" | sha256sum | cut -c1-12)"
if [ ! -x "$venv/bin/buf" ]; then
  echo "check-proto: installing $BUF into $venv"
  rm -rf "$venv"
  python3 -m venv "$venv" || fail "python3 -m venv failed (scripts/install-deps.sh installs python3-venv)"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "$BUF" || { rm -rf "$venv"; fail "pip install $BUF failed"; }
fi
buf="$venv/bin/buf"

# A module of the proto tree with the one file it imports beside it; only imgproc/ is checked (--path).
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
module() {  # module DIR: proto/'s files are already in DIR
  mkdir -p "$1/google/rpc"
  cp "$googleapis/google/rpc/status.proto" "$1/google/rpc/"
}
mkdir -p "$work/current" && cp -r proto/. "$work/current"
rm -f "$work/current/CMakeLists.txt"
module "$work/current"
(cd "$work/current" && "$buf" lint --path imgproc) || fail "buf lint (rules: proto/buf.yaml)"
echo "check-proto: buf lint: proto/imgproc clean (STANDARD, COMMENTS)"

if [ -z "$BASELINE" ]; then
  echo "check-proto: buf breaking: no baseline yet (imgproc.v1 unpublished)"
  exit 0
fi
if ! git cat-file -e "$BASELINE^{commit}" 2>/dev/null && [ "$(git rev-parse --is-shallow-repository)" = true ]; then
  echo "check-proto: a shallow clone lacks the baseline; fetching the history"
  git fetch --quiet --unshallow || true
fi
git cat-file -e "$BASELINE^{commit}" 2>/dev/null \
  || fail "the baseline commit $BASELINE is not in this clone (git fetch --unshallow, or clone without --depth)"
mkdir -p "$work/baseline"
git archive "$BASELINE" proto | tar -x -C "$work/baseline"
mv "$work/baseline/proto" "$work/against"
rm -f "$work/against/CMakeLists.txt"
[ -f "$work/against/buf.yaml" ] || cp proto/buf.yaml "$work/against/"
module "$work/against"
# Both trees: google/rpc/status.proto is the same file in each (buf applies --path to both inputs, so none).
(cd "$work" && "$buf" breaking current --against against) \
  || fail "buf breaking: the change above breaks clients of imgproc.v1 as published at ${BASELINE:0:12}"
echo "check-proto: buf breaking: compatible with imgproc.v1 as published at ${BASELINE:0:12}"
