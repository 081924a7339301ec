#!/usr/bin/env bash
# Builds the CPU image (Dockerfile.cpu) with podman, offline of any container registry, and optionally exports
# its filesystem for scripts/check-cpu-image.sh.
#   scripts/build-cpu-image.sh [--tag imgproc-cpu:0.1.0] [--export DIR]
# When the base image (Dockerfile.cpu's FROM) is not in podman's store, it is made with
# `debootstrap --variant=minbase bookworm` from the Debian mirror this host's apt uses (or debootstrap's default)
# and imported under the base's name.
# podman builds with --isolation=chroot, which works where containers cannot run (a CI sandbox); needs root.
set -euo pipefail
cd "$(dirname "$0")/.."
tag=imgproc-cpu:0.1.0 export_dir=""
base="$(awk '/^FROM / {print $2; exit}' Dockerfile.cpu)"
fail() { echo "build-cpu-image: error: $*" >&2; exit 1; }
while [ $# -gt 0 ]; do
  case "$1" in
    --tag|--export) { [ $# -ge 2 ] && [ -n "$2" ]; } || fail "$1 needs a value" ;;&
    --tag) tag="$2"; shift 2 ;;
    --export) export_dir="$2"; shift 2 ;;
    -h|--help) sed -n '2,/^set -e/{/^set -e/d;p}' "$0"; exit 0 ;;
    *) echo "build-cpu-image: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
[ "$(id -u)" = 0 ] || fail "podman's chroot isolation and debootstrap need root"
for tool in podman debootstrap; do command -v "$tool" >/dev/null || fail "$tool not found (scripts/install-deps.sh --deploy-checks)"; done

# The first Debian archive in this host's apt sources, so that a host with a local mirror uses it.
host_debian_mirror() {
  { grep -h -s '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}'
    grep -h -s '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list | awk '{print $2}'; } \
    | grep -v -E 'security|updates' | grep -E '/debian/?$' | head -n 1 || true
}

SECONDS=0
if ! podman image exists "$base"; then
  rootfs="$(mktemp -d)"
  trap 'rm -rf "$rootfs"' EXIT
  mirror="$(host_debian_mirror)"
  echo "build-cpu-image: making $base with debootstrap (minbase, bookworm${mirror:+, from $mirror})"
  debootstrap --variant=minbase bookworm "$rootfs" ${mirror:+"$mirror"} > "$rootfs.debootstrap.log" 2>&1 \
    || { tail -n 30 "$rootfs.debootstrap.log"; fail "debootstrap failed"; }
  rm -f "$rootfs.debootstrap.log"
  # What Debian's own images leave out: the package cache and lists.
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  tar -C "$rootfs" -c . | podman import --change 'CMD ["/bin/bash"]' - "$base" >/dev/null
  echo "build-cpu-image: $base imported ($SECONDS s)"
fi
podman build --format docker --isolation=chroot --network=host -f Dockerfile.cpu -t "$tag" .
echo "build-cpu-image: built $tag ($(podman image inspect --format '{{.Size}}' "$tag" | awk '{printf "%.0f MB", $1/1e6}'), $SECONDS s)"

if [ -n "$export_dir" ]; then
  mkdir -p "$export_dir"
  container="$(podman create "$tag")"
  podman export "$container" | tar -x -C "$export_dir"
  podman rm "$container" >/dev/null
  echo "build-cpu-image: filesystem of $tag in $export_dir"
fi
