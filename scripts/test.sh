#!/usr/bin/env bash
# Runs the ava suites given as glob patterns and ends with one line
# "N passed, N failed" (ava's own summary has another form).
set -uo pipefail

if [ "$(id -u)" != 0 ]; then
  echo "dsrlb: the tests load BPF programs and create network namespaces: run them as root (sudo make test)" >&2
  exit 1
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT
npx ava "$@" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}

# ava marks every test (✔ passed, ✘ failed) but prints no pass count when something failed.
passed=$(grep -cE '^\s*✔' "$log" || true)
failed=$(grep -cE '^\s*✘' "$log" || true)
skipped=$(grep -Eo '[0-9]+ tests? skipped' "$log" | tail -1 | grep -Eo '^[0-9]+' || true)
errors=$(grep -Ec 'Uncaught exception|Unhandled rejection' "$log" || true)
failed=$(( failed + errors ))
if [ "$rc" != 0 ] && [ "$failed" = 0 ]; then failed=1; fi
line="${passed} passed, ${failed} failed"
[ -n "${skipped}" ] && line="${line}, ${skipped} skipped"
echo
echo "$line"
exit "$rc"
