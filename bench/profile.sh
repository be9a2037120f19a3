#!/usr/bin/env bash
# Where the native server's CPU goes per request (for docs/performance.md). Loads each server
# given with GET /hello over its Unix socket, keep-alive and then one connection per request,
# and prints the CPU per request of each (`perf stat` task-clock over the answered requests)
# and the top of a `perf record` profile (self time, by function, then by component).
#
#   bash bench/profile.sh [seconds] [server...]
#
# A server is a binary taking `<socket> --threads N` (`handoff-limit`: the addon's router,
# middleware and request log without Node; `handoff-bare`: plain hyper, the floor), or an
# addon (a `.node` file): then the app itself runs (`node app.js`, native backend,
# HANDOFF_NATIVE_PATH=<it>, HANDOFF_ACCESS_LOG from the environment, default on); `addon@off`
# runs it with the request log off. The servers default to
# native/target/profile/release/handoff-{limit,bare}: build them first, release with line tables
# and symbols, in a target folder of their own (the Cargo profiles and the normal build stay as
# they are):
#   CARGO_TARGET_DIR=native/target/profile CARGO_PROFILE_RELEASE_DEBUG=line-tables-only \
#   CARGO_PROFILE_RELEASE_STRIP=none cargo build --release --manifest-path native/Cargo.toml \
#     --bin handoff-limit --bin handoff-bare
# (an addon the same way: `node scripts/build-native.cjs --output-dir <dir>` with those variables).
#
# All servers start at once, each with THREADS workers (default 1, the issue's floor) pinned to
# core 0 (SERVER_CPUS), and are loaded one at a time by oha on core 1 (LOAD_CPUS), ROUNDS times
# over (default 3), interleaved, so that a change in the machine's load hits all alike; the table
# gives each server's median and, per round, its ratio to the last server given (measured right
# after it), median of the rounds. PROFILE=0 skips the perf profiles. Needs perf and oha (OHA,
# default the bench's own). OUT (default a fresh temp folder) keeps perf.data and the reports.
set -euo pipefail
secs=${1:-5}
shift || true
root=$(cd "$(dirname "$0")/.." && pwd)
servers=("$@")
[ ${#servers[@]} -gt 0 ] ||
  servers=("$root/native/target/profile/release/handoff-limit" "$root/native/target/profile/release/handoff-bare")
oha=${OHA:-$root/native/target/bench-tools/bin/oha}
threads=${THREADS:-1}
server_cpus=${SERVER_CPUS:-0}
load_cpus=${LOAD_CPUS:-1}
rounds=${ROUNDS:-3}
out=${OUT:-$(mktemp -d)}
mkdir -p "$out"
pids=()
names=()
socks=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  [ -n "${fd:-}" ] && exec {fd}>&- || true
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
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

median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# Start every server.
for i in "${!servers[@]}"; do
  server=${servers[$i]}
  log=${HANDOFF_ACCESS_LOG:-on}
  if [[ "$server" == *.node@off ]]; then
    server=${server%@off}
    log=off
  fi
  if [[ "$server" == *.node ]]; then
    name=$i-app-$(basename "$(dirname "$server")")-log-$log
  else
    name=$i-$(basename "$(dirname "$server")")-$(basename "$server")
  fi
  sock="$out/$name.sock"
  rm -f "$sock" "$out/$name.fifo"
  if [[ "$server" == *.node ]]; then
    # The app, with a clean environment (as `npm run bench` starts it); it stops on SIGTERM.
    env -i PATH="$PATH" HOME="$HOME" NODE_ENV=production HANDOFF_BACKEND=native HANDOFF_NATIVE_PATH="$server" \
      HANDOFF_SOCKET="$sock" HANDOFF_THREADS="$threads" HANDOFF_ACCESS_LOG="$log" \
      taskset -c "$server_cpus" node "$root/app.js" </dev/null 2>"$out/$name.log" &
  else
    # The binaries stop when their standard input closes: this script holds the fifo open
    # (closed when it exits).
    mkfifo "$out/$name.fifo"
    taskset -c "$server_cpus" "$server" "$sock" --threads "$threads" <"$out/$name.fifo" 2>"$out/$name.log" &
  fi
  pids+=($!)
  if [[ "$server" != *.node ]]; then exec {fd}>"$out/$name.fifo"; fi
  names+=("$name")
  socks+=("$sock")
  for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.1; done
  [ -S "$sock" ] || { echo "$name did not start: $(tail -3 "$out/$name.log")" >&2; exit 1; }
  load "$sock" 1 >/dev/null
done

last=$((${#names[@]} - 1))
for mode in keep-alive close; do
  flags=()
  [ "$mode" = close ] && flags=(--disable-keepalive)
  for round in $(seq "$rounds"); do
    for i in "${!names[@]}"; do
      perf stat -e task-clock -x, -o "$out/${names[$i]}-$mode-$round.stat" -p "${pids[$i]}" &
      stat=$!
      requests=$(load "${socks[$i]}" "$secs" "${flags[@]}")
      kill -INT "$stat"
      wait "$stat" || true
      ms=$(awk -F, '$3 == "task-clock" { print $1 }' "$out/${names[$i]}-$mode-$round.stat")
      awk -v ms="$ms" -v n="$requests" 'BEGIN { printf "%.3f\n", ms * 1000 / n }' >"$out/${names[$i]}-$mode-$round.us"
    done
  done
  echo "$mode, µs CPU per request (median of $rounds rounds; each round's figures) and ÷ ${names[$last]} (median of the rounds' ratios):"
  for i in "${!names[@]}"; do
    figures=()
    ratios=()
    for round in $(seq "$rounds"); do
      us=$(cat "$out/${names[$i]}-$mode-$round.us")
      ref=$(cat "$out/${names[$last]}-$mode-$round.us")
      figures+=("$us")
      ratios+=("$(awk -v a="$us" -v b="$ref" 'BEGIN { printf "%.3f", a / b }')")
    done
    printf '  %-40s %7.2f us  (%s)  ÷ last %.2fx  (%s)\n' "${names[$i]}" "$(median "${figures[@]}")" "${figures[*]}" \
      "$(median "${ratios[@]}")" "${ratios[*]}"
    median "${figures[@]}" >"$out/${names[$i]}-$mode.us"
  done
done

[ "${PROFILE:-1}" = 0 ] && exit 0
for i in "${!names[@]}"; do
  for mode in keep-alive close; do
    flags=()
    [ "$mode" = close ] && flags=(--disable-keepalive)
    perf record -q -e cpu-clock -F 1999 --call-graph dwarf,16384 -o "$out/${names[$i]}-$mode.data" -p "${pids[$i]}" 2>/dev/null &
    record=$!
    load "${socks[$i]}" "$secs" "${flags[@]}" >/dev/null
    kill -INT "$record"
    wait "$record" || true
    perf report -i "$out/${names[$i]}-$mode.data" --no-children --stdio --sort symbol -g none 2>/dev/null |
      grep -E '^ +[0-9.]+%' | sed -E 's/ +- +- *$//' >"$out/${names[$i]}-$mode.txt" || true
    us=$(cat "$out/${names[$i]}-$mode.us")
    echo "${names[$i]} $mode: $us us CPU per request (median above); top of the profile (self time):"
    head -25 "$out/${names[$i]}-$mode.txt" | cut -c1-150 | sed 's/^/  /'
    echo "  by component (share of the samples, us per request):"
    group "$out/${names[$i]}-$mode.txt" "$us"
  done
done
echo "reports and perf data in $out"
