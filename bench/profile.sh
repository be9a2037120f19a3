#!/usr/bin/env bash
# Where the native server's CPU goes per request (for docs/performance.md), without Node:
# loads `handoff-limit` (the addon's router, middleware and request log) and `handoff-bare`
# (plain hyper, the floor) with GET /hello over their Unix socket, keep-alive and then one
# connection per request, and prints for each the CPU per request (`perf stat` task-clock over
# the answered requests) and the top of a `perf record` profile (self time, by function).
#
#   bash bench/profile.sh [seconds] [binary...]
#
# The binaries default to native/target/profile/release/handoff-{limit,bare}: build them first,
# release with line tables and symbols, in a target folder of their own (the Cargo profiles and
# the normal build stay as they are):
#   CARGO_TARGET_DIR=native/target/profile CARGO_PROFILE_RELEASE_DEBUG=line-tables-only \
#   CARGO_PROFILE_RELEASE_STRIP=none cargo build --release --manifest-path native/Cargo.toml \
#     --bin handoff-limit --bin handoff-bare
# Each server runs with THREADS workers (default 1, the issue's floor) pinned to core 0
# (SERVER_CPUS), oha on core 1 (LOAD_CPUS). Needs perf and oha (OHA, default the bench's own).
# Output: OUT (default a fresh temp folder) keeps perf.data and the full reports.
set -euo pipefail
secs=${1:-5}
shift || true
root=$(cd "$(dirname "$0")/.." && pwd)
bins=("$@")
[ ${#bins[@]} -gt 0 ] || bins=("$root/native/target/profile/release/handoff-limit" "$root/native/target/profile/release/handoff-bare")
oha=${OHA:-$root/native/target/bench-tools/bin/oha}
threads=${THREADS:-1}
server_cpus=${SERVER_CPUS:-0}
load_cpus=${LOAD_CPUS:-1}
out=${OUT:-$(mktemp -d)}
mkdir -p "$out"
pid=
cleanup() {
  exec 3>&- 2>/dev/null || true
  [ -n "$pid" ] && wait "$pid" 2>/dev/null || true
}
trap cleanup EXIT

load() { # <socket> <seconds> [extra oha flags]: prints the answered requests
  local sock=$1 s=$2
  shift 2
  taskset -c "$load_cpus" "$oha" --no-tui --output-format json -z "${s}s" -c 32 --worker-threads 1 -w \
    --unix-socket "$sock" "$@" http://localhost/hello |
    node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const j=JSON.parse(s);const d=j.statusCodeDistribution||{};console.log(d["200"]||0)})'
}

for bin in "${bins[@]}"; do
  name=$(basename "$(dirname "$(dirname "$bin")")")-$(basename "$bin")
  sock="$out/$name.sock"
  rm -f "$sock" "$out/$name.fifo"
  mkfifo "$out/$name.fifo"
  # Both binaries stop when their standard input closes: fd 3 holds the fifo open.
  taskset -c "$server_cpus" "$bin" "$sock" --threads "$threads" <"$out/$name.fifo" 2>"$out/$name.log" &
  pid=$!
  exec 3>"$out/$name.fifo"
  for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.1; done
  load "$sock" 1 >/dev/null
  for mode in keep-alive close; do
    flags=()
    [ "$mode" = close ] && flags=(--disable-keepalive)
    perf stat -e task-clock -x, -o "$out/$name-$mode.stat" -p "$pid" &
    stat=$!
    requests=$(load "$sock" "$secs" "${flags[@]}")
    kill -INT "$stat"
    wait "$stat" || true
    ms=$(awk -F, '$3 == "task-clock" { print $1 }' "$out/$name-$mode.stat")
    awk -v ms="$ms" -v n="$requests" -v what="$name $mode" \
      'BEGIN { printf "%s: %d requests in the run, %.2f us CPU per request\n", what, n, ms * 1000 / n }'
    perf record -q -e cpu-clock -F 1999 --call-graph dwarf,16384 -o "$out/$name-$mode.data" -p "$pid" 2>/dev/null &
    record=$!
    load "$sock" "$secs" "${flags[@]}" >/dev/null
    kill -INT "$record"
    wait "$record" || true
    perf report -i "$out/$name-$mode.data" --no-children --stdio --sort symbol --percent-limit 0.7 \
      -g none 2>/dev/null >"$out/$name-$mode.txt" || true
    echo "  top of the profile (self time):"
    grep -E '^ +[0-9.]+%' "$out/$name-$mode.txt" | head -25 | sed 's/^/  /'
  done
  exec 3>&-
  wait "$pid" || true
  pid=
done
echo "reports and perf data in $out"
