#!/usr/bin/env bash
# Runs every benchmark under bench/ (each prints JSON figures); never part of `make test`.
set -euo pipefail
shopt -s nullglob
benches=(bench/*.ts)
if [ ${#benches[@]} = 0 ]; then echo "dsrlb: no benchmarks under bench/" >&2; exit 1; fi
for b in "${benches[@]}"; do
  echo "== ${b}" >&2
  npx tsx "$b"
done
