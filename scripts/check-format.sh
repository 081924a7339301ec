#!/usr/bin/env bash
# Checks that the C++ and CUDA sources are formatted as .clang-format says (clang-format from Debian 12, which
# scripts/install-deps.sh installs). Prints the files that are not; exits 1 if there is one.
#   scripts/check-format.sh          check
#   scripts/check-format.sh --fix    reformat them in place
set -euo pipefail
cd "$(dirname "$0")/.."
command -v clang-format > /dev/null || { echo "check-format: clang-format is missing (scripts/install-deps.sh installs it)" >&2; exit 1; }
mapfile -t files < <(git ls-files '*.cc' '*.h' '*.cu')
if [ "${1:-}" = --fix ]; then
  clang-format -i "${files[@]}"
  exit 0
fi
unformatted=()
for f in "${files[@]}"; do
  clang-format --dry-run --Werror "$f" > /dev/null 2>&1 || unformatted+=("$f")
done
if [ ${#unformatted[@]} -gt 0 ]; then
  printf 'check-format: not formatted (scripts/check-format.sh --fix): %s\n' "${unformatted[@]}" >&2
  exit 1
fi
echo "check-format: ${#files[@]} files formatted as .clang-format says ($(clang-format --version | sed 's/.*version \([0-9.]*\).*/clang-format \1/'))"
