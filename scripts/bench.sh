#!/usr/bin/env bash
# Runs every benchmark under bench/ (each prints JSON figures); never part of `make test`.
# They run compiled, with plain node, as the agent does (dist/): the control-plane
# benchmark measures the process's resident set, and tsx's loader adds ~30 MiB to it.
set -euo pipefail
shopt -s nullglob
benches=(bench/*.ts)
if [ ${#benches[@]} = 0 ]; then echo "dsrlb: no benchmarks under bench/" >&2; exit 1; fi
out=build/js
rm -rf "$out"
npx tsc -p tsconfig.json --outDir "$out"
for b in "${benches[@]}"; do
  echo "== ${b}" >&2
  node "$out/${b%.ts}.js"
done
