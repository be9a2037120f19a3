#!/usr/bin/env bash
# Where the native server's CPU goes per request (for docs/performance.md): loads
# `handoff-limit` (the addon's router, middleware and request log without Node) and
# `handoff-bare` (plain hyper, the floor) with GET /hello over their Unix socket, keep-alive and
# then one connection per request, and prints for each the CPU per request (`perf stat`
# task-clock over the answered requests) and the top of a `perf record` profile (self time, by
# function). An argument ending in `.node` is an addon: the app itself (`node app.js`, native
# backend, HANDOFF_NATIVE_PATH=<it>) is profiled the same way, with HANDOFF_ACCESS_LOG from the
# environment (default on).
#
#   bash bench/profile.sh [seconds] [binary or addon...]
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

# Sums a flat profile (`perf report --no-children --sort symbol`) by component, in µs per request.
group() { # <report> <us per request>
  awk -v us="$2" '
  { p = $1; sub("%", "", p); $1 = ""; s = $0; c = "other (ours, std, futures, bytes)"
    if (s ~ /\[k\]/) c = "kernel (sockets, epoll, scheduling)"
    else if (s ~ /malloc|_int_free|cfree|realloc|unlink_chunk|__libc_free|tcache/) c = "allocator (malloc, free)"
    else if (s ~ /memmove|memcpy|memset|memcmp/) c = "memcpy, memmove"
    else if (s ~ /tokio::runtime::time|tokio::time|TimerEntry|Sleep/) c = "tokio timers"
    else if (s ~ /tokio/) c = "tokio (scheduler, I/O driver)"
    else if (s ~ /hyper|httparse/) c = "hyper (parse, encode, dispatch)"
    else if (s ~ /\[\.\] http::|HeaderMap|HeaderName|HeaderValue/) c = "http (header maps)"
    else if (s ~ /axum|matchit|tower/) c = "axum, tower (routing, layers, boxing)"
    else if (s ~ /v8::|node::|uv_|Builtins|\[\.\] 0x0000/) c = "Node (V8, libuv, JIT code)"
    else if (s ~ /serde|json|ryu|form_urlencoded/) c = "JSON, query (the handler)"
    else if (s ~ /core::fmt|alloc::fmt|float_to_decimal|pow/) c = "formatting"
    else if (s ~ /epoll_wait|__libc_recv|__libc_send|writev|clock_gettime|pthread|syscall/) c = "libc (syscall stubs, clock)"
    t[c] += p }
  END { for (c in t) printf "  %6.1f%% %6.2f us  %s\n", t[c], t[c] * us / 100, c }' "$1" | sort -rn
}

for bin in "${bins[@]}"; do
  name=$(basename "$(dirname "$bin")")-$(basename "$bin")
  sock="$out/$name.sock"
  rm -f "$sock" "$out/$name.fifo"
  mkfifo "$out/$name.fifo"
  if [[ "$bin" == *.node ]]; then
    # The app, with a clean environment (as `npm run bench` starts it); it stops on SIGTERM.
    name=app-$(basename "$bin" .node)-log-${HANDOFF_ACCESS_LOG:-on}
    sock="$out/$name.sock"
    rm -f "$sock"
    env -i PATH="$PATH" HOME="$HOME" NODE_ENV=production HANDOFF_BACKEND=native HANDOFF_NATIVE_PATH="$bin" \
      HANDOFF_SOCKET="$sock" HANDOFF_THREADS="$threads" HANDOFF_ACCESS_LOG="${HANDOFF_ACCESS_LOG:-on}" \
      taskset -c "$server_cpus" node "$root/app.js" </dev/null 2>"$out/$name.log" &
    pid=$!
    exec 3>/dev/null
  else
    # Both binaries stop when their standard input closes: fd 3 holds the fifo open.
    taskset -c "$server_cpus" "$bin" "$sock" --threads "$threads" <"$out/$name.fifo" 2>"$out/$name.log" &
    pid=$!
    exec 3>"$out/$name.fifo"
  fi
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
    us=$(awk -v ms="$ms" -v n="$requests" 'BEGIN { printf "%.2f", ms * 1000 / n }')
    echo "$name $mode: $requests requests in the run, $us us CPU per request"
    perf record -q -e cpu-clock -F 1999 --call-graph dwarf,16384 -o "$out/$name-$mode.data" -p "$pid" 2>/dev/null &
    record=$!
    load "$sock" "$secs" "${flags[@]}" >/dev/null
    kill -INT "$record"
    wait "$record" || true
    perf report -i "$out/$name-$mode.data" --no-children --stdio --sort symbol -g none 2>/dev/null |
      grep -E '^ +[0-9.]+%' | sed -E 's/ +- +- *$//' >"$out/$name-$mode.txt" || true
    echo "  top of the profile (self time):"
    head -25 "$out/$name-$mode.txt" | cut -c1-150 | sed 's/^/  /'
    echo "  by component (share of the samples, us per request):"
    group "$out/$name-$mode.txt" "$us"
  done
  exec 3>&-
  [[ "$bin" == *.node ]] && kill -TERM "$pid"
  wait "$pid" || true
  pid=
done
echo "reports and perf data in $out"
