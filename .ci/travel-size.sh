#!/usr/bin/env bash
# Prints the size of what travels to a GPU machine: the tracked files (as git ls-files lists them,
# uncompressed) plus the Deno + onnxruntime-node runtime compressed with xz -9 (the deno binary
# and node_modules/ with onnxruntime-node's linux-x64 binaries only: the other platforms' do not
# travel). The limit is 64 MiB. Takes a few minutes (xz over ~150 MB); run after `deno install`.
set -euo pipefail
cd "$(dirname "$0")/.."
deno_bin=$(readlink -f "$(command -v deno)")
[ -d node_modules ] || { echo "node_modules/ missing: run deno install (or deno task test) first" >&2; exit 1; }
tracked=$(git ls-files -z | du -cb --files0-from=- | tail -1 | cut -f1)
runtime=$(tar -cf - --exclude='*/bin/napi-v6/darwin' --exclude='*/bin/napi-v6/win32' \
  --exclude='*/bin/napi-v6/linux/arm64' -C "$(dirname "$deno_bin")" "$(basename "$deno_bin")" \
  -C "$PWD" node_modules 2>/dev/null | xz -T0 -9 | wc -c)
limit=$((64 * 1024 * 1024))
total=$((tracked + runtime))
mib() { awk -v b="$1" 'BEGIN { printf "%.2f MiB", b / 1048576 }'; }
echo "tracked files:      $(mib "$tracked") ($tracked bytes, $(git ls-files | wc -l) files)"
echo "runtime (xz -9):    $(mib "$runtime") ($runtime bytes: deno, node_modules linux-x64)"
echo "travels:            $(mib "$total") of 64 MiB ($(mib $((limit - total))) left)"
[ "$total" -lt "$limit" ]
