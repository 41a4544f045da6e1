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

count() { grep -Eo "[0-9]+ (tests?|known failures?) $1" "$log" | tail -1 | grep -Eo '^[0-9]+' || true; }
passed=$(count passed)
failed=$(count failed)
skipped=$(count skipped)
errors=$(grep -Ec 'Uncaught exception|Unhandled rejection|Timed out while running tests' "$log" || true)
passed=${passed:-0}
failed=$(( ${failed:-0} + errors ))
if [ "$rc" != 0 ] && [ "$failed" = 0 ]; then failed=1; fi
line="${passed} passed, ${failed} failed"
[ -n "${skipped}" ] && line="${line}, ${skipped} skipped"
echo
echo "$line"
exit "$rc"
