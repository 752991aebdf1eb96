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
# record NAME EXIT SUMMARY-FOUND PASSED FAILED SKIPPED: prints and adds one runtime's figures.
record() {
  local name=$1 code=$2 found=$3 p=${4:-0} f=${5:-0} s=${6:-0}
  if [ "$found" != yes ]; then
    echo "$name: crashed (exit $code, no summary line): counted as 1 failed"
    count 0 1 0
    return
  fi
  if [ "$code" != 0 ] && [ "$f" = 0 ]; then
    echo "$name: exit $code without a failed test: counted as 1 failed"
    f=1
  fi
  echo "$name: $p passed, $f failed, $s skipped"
  count "$p" "$f" "$s"
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
deno_count() { grep -oE "[0-9]+ $1" <<<"$line" | tr -dc 0-9; }
record deno "$code" "$([ -n "$line" ] && echo yes)" "$(deno_count passed)" "$(deno_count failed)" "$(deno_count ignored)"

# Bun's summary: " 12 pass", " 1 skip", " 1 todo", " 0 fail", "Ran 14 tests across 3 files."
echo "== bun test =="
$BUN test --timeout 300000 "$@" 2>&1 | tee "$out"
code=${PIPESTATUS[0]}
bun_count() { grep -E "^ *[0-9]+ $1\$" "$out" | tail -1 | tr -dc 0-9; }
skip=$(bun_count skip) todo=$(bun_count todo)
record bun "$code" "$(grep -qE '^Ran [0-9]+ tests? across' "$out" && echo yes)" \
  "$(bun_count pass)" "$(bun_count fail)" "$(( ${skip:-0} + ${todo:-0} ))"

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ]
