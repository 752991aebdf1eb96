#!/usr/bin/env bash
# Runs the whole suite on Deno and then on Bun, and ends with one "N passed, N failed" line.
# Uses deno and bun from PATH, else the pinned versions through npx (npm registry only).
set -uo pipefail
cd "$(dirname "$0")/.."

DENO_VERSION=2.9.6
BUN_VERSION=1.4.5
deno_cmd() { if command -v deno >/dev/null; then deno "$@"; else npx --yes "deno@$DENO_VERSION" "$@"; fi; }
bun_cmd() { if command -v bun >/dev/null; then bun "$@"; else npx --yes "bun@$BUN_VERSION" "$@"; fi; }

[ -d node_modules ] || npm install --no-audit --no-fund

export NO_COLOR=1
passed=0 failed=0 status=0

echo "== deno lint =="
deno_cmd lint || status=1

echo "== deno test =="
deno_out=$(mktemp)
deno_cmd test -A --parallel "$@" 2>&1 | tee "$deno_out"
[ "${PIPESTATUS[0]}" = 0 ] || status=1
line=$(grep -E '^(ok|FAILED) \| [0-9]+ passed' "$deno_out" | tail -1)
p=$(sed -E 's/.*\| ([0-9]+) passed.*/\1/' <<<"$line"); f=$(sed -E 's/.*\| ([0-9]+) failed.*/\1/' <<<"$line")
echo "deno: ${p:-0} passed, ${f:-0} failed"
passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0}))

echo "== bun test =="
bun_out=$(mktemp)
bun_cmd test --timeout 300000 "$@" 2>&1 | tee "$bun_out"
[ "${PIPESTATUS[0]}" = 0 ] || status=1
p=$(grep -E '^ *[0-9]+ pass$' "$bun_out" | tail -1 | tr -dc 0-9); f=$(grep -E '^ *[0-9]+ fail$' "$bun_out" | tail -1 | tr -dc 0-9)
echo "bun: ${p:-0} passed, ${f:-0} failed"
passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0}))

[ "$failed" = 0 ] || status=1
echo "$passed passed, $failed failed"
exit $status
