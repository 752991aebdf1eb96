#!/usr/bin/env bash
# Runs deno lint and the whole suite on Deno and then on Bun. Its last line is always
# "N passed, N failed, N skipped" (both runtimes together); it exits non-zero unless 0 failed.
# A runtime that crashed (no summary line, or a non-zero exit without a failure count) counts as one
# failure, and so does a failed lint.
#
# The runtimes: the pinned devDependencies in node_modules/.bin (first on PATH, so every test that
# spawns `deno` or `bun` finds them too), else PATH, else the pinned version through npx.
# WEFT_DENO / WEFT_BUN name other executables (the script's own test uses stand-ins).
set -uo pipefail
cd "$(dirname "$0")/.."

[ -d node_modules ] || npm install --no-audit --no-fund
export PATH="$PWD/node_modules/.bin:$PATH"
export NO_COLOR=1

pinned() { node -p "require('./package.json').devDependencies['$1']"; }
runtime_cmd() { # name override
  if [ -n "$2" ]; then echo "$2"; elif command -v "$1" >/dev/null; then echo "$1"; else echo "npx --yes $1@$(pinned "$1")"; fi
}
DENO=$(runtime_cmd deno "${WEFT_DENO:-}")
BUN=$(runtime_cmd bun "${WEFT_BUN:-}")

passed=0 failed=0 skipped=0
count() { # passed failed skipped
  passed=$((passed + $1)); failed=$((failed + $2)); skipped=$((skipped + $3))
}
out=$(mktemp)
trap 'rm -f "$out"' EXIT

echo "== deno lint =="
if $DENO lint; then :; else echo "deno lint: failed"; count 0 1 0; fi

# Deno's summary: "ok | 12 passed (3 steps) | 0 failed | 1 ignored (5s)".
echo "== deno test =="
$DENO test -A --parallel "$@" 2>&1 | tee "$out"
code=${PIPESTATUS[0]}
line=$(grep -E '^(ok|FAILED) \| [0-9]+ passed' "$out" | tail -1)
if [ -z "$line" ]; then
  echo "deno: crashed (exit $code, no summary line): counted as 1 failed"
  count 0 1 0
else
  p=$(grep -oE '[0-9]+ passed' <<<"$line" | tr -dc 0-9)
  f=$(grep -oE '[0-9]+ failed' <<<"$line" | tr -dc 0-9)
  s=$(grep -oE '[0-9]+ ignored' <<<"$line" | tr -dc 0-9)
  if [ "$code" != 0 ] && [ "${f:-0}" = 0 ]; then
    echo "deno: exit $code without a failed test: counted as 1 failed"
    f=1
  fi
  echo "deno: ${p:-0} passed, ${f:-0} failed, ${s:-0} skipped"
  count "${p:-0}" "${f:-0}" "${s:-0}"
fi

# Bun's summary: " 12 pass", " 1 skip", " 1 todo", " 0 fail", "Ran 14 tests across 3 files."
echo "== bun test =="
$BUN test --timeout 300000 "$@" 2>&1 | tee "$out"
code=${PIPESTATUS[0]}
bun_count() { grep -E "^ *[0-9]+ $1\$" "$out" | tail -1 | tr -dc 0-9; }
if ! grep -qE '^Ran [0-9]+ tests? across' "$out"; then
  echo "bun: crashed (exit $code, no summary line): counted as 1 failed"
  count 0 1 0
else
  p=$(bun_count pass) f=$(bun_count fail) s=$(bun_count skip) t=$(bun_count todo)
  s=$(( ${s:-0} + ${t:-0} ))
  if [ "$code" != 0 ] && [ "${f:-0}" = 0 ]; then
    echo "bun: exit $code without a failed test: counted as 1 failed"
    f=1
  fi
  echo "bun: ${p:-0} passed, ${f:-0} failed, $s skipped"
  count "${p:-0}" "${f:-0}" "$s"
fi

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ]
