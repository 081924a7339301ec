#!/usr/bin/env bash
# Runs the CPU image's server as the image would, where containers cannot run (CI): in the image's filesystem
# (scripts/build-cpu-image.sh --export DIR) with chroot, as the image's user, with its environment and entry
# point, on loopback ports. From outside it then checks the gRPC health service, one Process call on a photo
# and a /metrics scrape, and that SIGTERM ends the server with code 0. Needs root (chroot, mounting /proc).
#   scripts/check-cpu-image.sh --rootfs DIR [--tag imgproc-cpu:0.1.0] [--cli build/client/imgproc-cli]
#                              [--grpcurl PATH]
set -euo pipefail
cd "$(dirname "$0")/.."
rootfs="" tag=imgproc-cpu:0.1.0 cli=build/client/imgproc-cli grpcurl="${IMGPROC_GRPCURL:-}"
fail() { echo "check-cpu-image: FAIL: $*" >&2; exit 1; }
while [ $# -gt 0 ]; do
  case "$1" in
    --rootfs|--tag|--cli|--grpcurl) { [ $# -ge 2 ] && [ -n "$2" ]; } || fail "$1 needs a value" ;;&
    --rootfs) rootfs="$2"; shift 2 ;;
    --tag) tag="$2"; shift 2 ;;
    --cli) cli="$2"; shift 2 ;;
    --grpcurl) grpcurl="$2"; shift 2 ;;
    -h|--help) sed -n '2,/^set -e/{/^set -e/d;p}' "$0"; exit 0 ;;
    *) echo "check-cpu-image: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
[ -d "$rootfs/opt/imgproc/bin" ] || fail "--rootfs '$rootfs' holds no image filesystem (scripts/build-cpu-image.sh --export)"
[ -x "$cli" ] || fail "no imgproc-cli at '$cli' (scripts/build.sh)"
[ -n "$grpcurl" ] || grpcurl="$(scripts/fetch-grpcurl.sh | tail -n 1)"
photo=/usr/share/backgrounds/mate/nature/Aqua.jpg  # 2560x1600
[ -f "$photo" ] || fail "no test photo $photo (scripts/install-deps.sh installs mate-backgrounds)"

# The image's configuration: user, entry point and environment, as a container runtime would apply them.
user="$(podman image inspect --format '{{.Config.User}}' "$tag")"
entrypoint="$(podman image inspect --format '{{join .Config.Entrypoint " "}}' "$tag")"
mapfile -t image_env < <(podman image inspect --format '{{range .Config.Env}}{{println .}}{{end}}' "$tag" | sed '/^$/d')
[ -n "$user" ] && [ "$user" != root ] && [ "${user%%:*}" != 0 ] || fail "the image runs as '${user:-root}', not as its own user"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
grpc_port="$(free_port)" metrics_port="$(free_port)"
work="$(mktemp -d)"
server_pid=""
cleanup() {
  [ -z "$server_pid" ] || kill -KILL "$server_pid" 2>/dev/null || true
  umount "$rootfs/proc" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
mount -t proc proc "$rootfs/proc"

echo "check-cpu-image: starting '$entrypoint' from $tag as $user in $rootfs (gRPC 127.0.0.1:$grpc_port)"
# shellcheck disable=SC2086  # the entry point is a command line
env -i "${image_env[@]}" IMGPROC_LISTEN="127.0.0.1:$grpc_port" IMGPROC_METRICS_LISTEN="127.0.0.1:$metrics_port" \
  chroot --userspec="$user" "$rootfs" $entrypoint > "$work/server.log" 2>&1 &
server_pid=$!

health() { "$grpcurl" -plaintext -max-time 2 "127.0.0.1:$grpc_port" grpc.health.v1.Health/Check 2>&1; }
for _ in $(seq 1 60); do
  health | grep -q '"SERVING"' && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log"; fail "the server exited at start"; }
  sleep 0.5
done
health | grep -q '"SERVING"' || { cat "$work/server.log"; fail "health is not SERVING after 30 s: $(health)"; }
echo "check-cpu-image: health SERVING"

"$cli" --target="127.0.0.1:$grpc_port" process --in="$photo" --out="$work/thumb.jpg" \
  --ops="resize width=320 keep_aspect=true" --format=jpeg > "$work/process.txt" \
  || { cat "$work/server.log"; fail "Process call failed"; }
grep -q "jpeg 320x200x3" "$work/process.txt" || fail "unexpected answer: $(cat "$work/process.txt")"
echo "check-cpu-image: Process: $(head -n 1 "$work/process.txt")"

curl -sf "http://127.0.0.1:$metrics_port/metrics" > "$work/metrics.txt" || fail "no /metrics on port $metrics_port"
grep -E '^imgproc_requests_total\{.*code="OK".*\} 1$' "$work/metrics.txt" > /dev/null \
  || fail "/metrics does not count the call: $(grep '^imgproc_requests_total' "$work/metrics.txt")"
echo "check-cpu-image: /metrics counts the call"

kill -TERM "$server_pid"
code=0; wait "$server_pid" || code=$?
server_pid=""
[ "$code" = 0 ] || { cat "$work/server.log"; fail "the server exited with code $code after SIGTERM"; }
echo "check-cpu-image: SIGTERM: exit code 0"
echo "check-cpu-image: passed"
