#!/usr/bin/env bash
# Installs what bench/run.ts needs on a fresh Debian/Ubuntu machine, skipping whatever is already
# there: nginx, haproxy, wrk, curl and perf (Debian packages), and the project's npm dependencies,
# Deno and Bun among them (pinned devDependencies in node_modules/.bin: `npm run bench` puts them on
# PATH). The packages' own services are kept from starting (Debian's nginx
# would listen on *:80): the benchmark runs its own instances on 127.0.0.1 only. bench/run.ts
# raises its own open-files limit with prlimit (its children inherit it).
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

need_apt=()
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need_apt+=(nginx)
command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ] || need_apt+=(haproxy)
command -v wrk >/dev/null 2>&1 || need_apt+=(wrk)
command -v curl >/dev/null 2>&1 || need_apt+=(curl)
command -v prlimit >/dev/null 2>&1 || need_apt+=(util-linux)
if ! command -v perf >/dev/null 2>&1; then
  # perf is optional (the profile phase is skipped without it); Debian ships it as linux-perf.
  need_apt+=(linux-perf)
fi
apt_install() {
  # policy-rc.d 101: packages install without starting their services.
  local policy=/usr/sbin/policy-rc.d made_policy=""
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null && $SUDO chmod +x "$policy" && made_policy=1
  fi
  local rc=0
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" || rc=$?
  [ -z "$made_policy" ] || $SUDO rm -f "$policy"
  return $rc
}
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "bench/install.sh: apt-get install ${need_apt[*]}"
  $SUDO apt-get update -qq
  if ! apt_install "${need_apt[@]}"; then
    # linux-perf may not exist for this kernel/distro: install the rest without it.
    rest=()
    for p in "${need_apt[@]}"; do [ "$p" = linux-perf ] || rest+=("$p"); done
    [ ${#rest[@]} -eq 0 ] || apt_install "${rest[@]}"
  fi
fi

if ! command -v npm >/dev/null 2>&1; then
  echo "bench/install.sh: npm is needed to install the project (Deno and Bun included); apt-get install nodejs npm"
  $SUDO apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm
fi
[ -x node_modules/.bin/deno ] && [ -x node_modules/.bin/bun ] || npm install --no-audit --no-fund
export PATH="$PWD/node_modules/.bin:$PATH"

echo "bench/install.sh: nginx $(nginx -v 2>&1 | sed 's/.*\///'), haproxy $(haproxy -v | head -1 | awk '{print $3}'), $(wrk -v 2>&1 | head -1 | awk '{print $1, $2}'), deno $(deno --version | head -1 | awk '{print $2}'), bun $(bun --version); open files $(ulimit -n) (hard $(ulimit -Hn))"
