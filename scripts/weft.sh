#!/usr/bin/env bash
# Runs weft from source on Deno (the primary runtime): the pinned devDependency in node_modules/.bin
# (first on PATH), else deno from PATH, else the pinned version via npx.
# V8's young generation is capped at 4 MiB per semi-space (default: grows to 16 MiB in each of the
# main and worker isolates): same throughput, about 100 MiB less RSS with 2 workers (README, design).
cd "$(dirname "$0")/.."
[ -d node_modules ] || npm install --no-audit --no-fund >&2
export PATH="$PWD/node_modules/.bin:$PATH"
V8="--v8-flags=--max-semi-space-size=4"
if command -v deno >/dev/null; then exec deno run -A "$V8" cmd/main.ts "$@"; fi
exec npx --yes "deno@$(node -p "require('./package.json').devDependencies.deno")" run -A "$V8" cmd/main.ts "$@"
