#!/usr/bin/env bash
# Checks the server's dependency rules (ARCHITECTURE.md) where the linker cannot: a folder of server/ includes only
# folders below it in
#   common  codec  ops  pipeline  core  scheduler  backend  metrics  transport
# (and itself); main.cc, at the top, may include any. Each layer is a library whose layering_check_<layer> link
# fails on a call up into a layer above (server/CMakeLists.txt), but a header's types, inline functions and
# templates leave no symbol to miss: this catches those. The generated proto headers (imgproc/) and third-party
# headers are not checked. Prints each include that breaks a rule; exits 1 if there is one.
set -euo pipefail
cd "$(dirname "$0")/../server"
order=(common codec ops pipeline core scheduler backend metrics transport)
rank() { local i; for i in "${!order[@]}"; do [ "${order[$i]}" = "$1" ] && { echo "$i"; return; }; done; echo -1; }
broken=0
for folder in "${order[@]}"; do
  mine=$(rank "$folder")
  while IFS=: read -r file line target; do
    [ -n "$file" ] || continue
    theirs=$(rank "$target")
    [ "$theirs" -ge 0 ] || continue  # not one of the server's folders
    if [ "$theirs" -gt "$mine" ]; then
      echo "server/$file:$line: $folder/ includes $target/, which sits above it"
      broken=1
    fi
  done < <(grep -rnoE '^#include "[a-z_]+/' "$folder" | sed -E 's|#include "([a-z_]+)/|\1|')
done
[ "$broken" = 0 ] && echo "layering: ${order[*]}: every include points down"
exit "$broken"
