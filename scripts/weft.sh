#!/usr/bin/env bash
# Runs weft from source on Deno (the primary runtime): deno from PATH, else the pinned version via npx.
cd "$(dirname "$0")/.."
[ -d node_modules ] || npm install --no-audit --no-fund >&2
if command -v deno >/dev/null; then exec deno run -A cmd/main.ts "$@"; fi
exec npx --yes deno@2.9.6 run -A cmd/main.ts "$@"
