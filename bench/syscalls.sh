#!/usr/bin/env bash
# Syscalls per request of the native server under load (for docs/performance.md): starts
# `node app.js` with HANDOFF_BACKEND=native on a free TCP port, warms it up, attaches
# `strace -f -c` to all its threads, sends N requests with ab (keep-alive, then one connection
# per request, 32 at a time), and prints each syscall's count per request.
#   bash bench/syscalls.sh [N] [extra env, e.g. HANDOFF_ACCESS_LOG=off]
# Needs strace and ab (apache2-utils). Run from the repository root after `npm run build`.
set -euo pipefail
n=${1:-50000}
shift || true
port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
out=$(mktemp -d)
trap 'kill "$app" 2>/dev/null || true; rm -rf "$out"' EXIT
env "$@" PORT="$port" HANDOFF_BACKEND=native node "${APP:-app.js}" 2>"$out/app.log" &
app=$!
for _ in $(seq 100); do grep -q 'serving with native' "$out/app.log" 2>/dev/null && break; sleep 0.1; done
url="http://127.0.0.1:$port/hello"
ab -q -k -c 32 -n 5000 "$url" >/dev/null
for mode in keep-alive close; do
  flag=$([ "$mode" = keep-alive ] && echo -k || true)
  strace -f -c -o "$out/$mode.txt" -p "$app" 2>/dev/null &
  tracer=$!
  sleep 1
  ab -q $flag -c 32 -n "$n" "$url" | grep -E '^(Complete|Failed) requests' | tr -s ' ' | sed "s/^/$mode: /"
  kill -INT "$tracer"
  wait "$tracer" || true
  echo "$mode: syscalls per request (of $n)"
  # `% time  seconds  usecs/call  calls  [errors]  syscall`; the last row is the total.
  awk -v n="$n" '$1 ~ /^[0-9.]+$/ && NF >= 5 { if ($4 > n / 100) printf "  %-14s %6.2f\n", $NF, $4 / n }' "$out/$mode.txt" |
    sort -k2 -rn
done
