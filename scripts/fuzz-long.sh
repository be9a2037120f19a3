#!/usr/bin/env bash
# The long property run, by hand (CI runs the same properties briefly inside `npm test`):
# rounds of the Rust properties (native/tests/properties*.rs, PROPTEST_CASES each) and the
# fast-check ones (every test file of test/ that calls fc.assert, FC_RUNS each), each round with fresh random seeds, until
# FUZZ_MINUTES have passed. Stops at the first failure: proptest saves it in
# native/tests/properties*.proptest-regressions (commit that); fast-check prints its seed and
# path (replay with FC_SEED=<seed>).
#
#   npm run fuzz:long                     # >= 10 minutes
#   FUZZ_MINUTES=30 PROPTEST_CASES=50000 FC_RUNS=50000 npm run fuzz:long
set -euo pipefail
cd "$(dirname "$0")/.."

minutes=${FUZZ_MINUTES:-10}
export PROPTEST_CASES=${PROPTEST_CASES:-20000}
export FC_RUNS=${FC_RUNS:-20000}
logs=".tmp/fuzz-long-$(date +%Y%m%d-%H%M%S)"
mkdir -p "$logs"

rust_targets=(properties properties_json properties_scgi)
# The demo's property tests (test/examples) are found too while the demo is there.
mapfile -t node_files < <(grep -rl --include='*.test.ts' 'fc\.assert(' test | sort)
# Properties per round, counted from the sources (a case is one generated input).
rust_properties=$(cat native/tests/properties*.rs | grep -A1 '^    #\[test\]' | grep -c '^    fn ')
node_properties=$(cat "${node_files[@]}" | grep -c 'fc\.assert(')

echo "[fuzz] building the Rust property tests"
node scripts/cargo.cjs test --no-run --test properties --test properties_json --test properties_scgi \
  >"$logs/build.log" 2>&1

start=$SECONDS
deadline=$((start + minutes * 60))
round=0
while ((SECONDS < deadline)); do
  round=$((round + 1))
  echo "[fuzz] round $round: Rust, $rust_properties properties x $PROPTEST_CASES cases"
  for target in "${rust_targets[@]}"; do
    if ! node scripts/cargo.cjs test --test "$target" \
      >"$logs/round$round-$target.log" 2>&1; then
      tail -40 "$logs/round$round-$target.log"
      echo "[fuzz] FAILED in round $round ($target); log: $logs/round$round-$target.log"
      exit 1
    fi
  done
  echo "[fuzz] round $round: Node, $node_properties properties x $FC_RUNS runs"
  # The servers log every request; keep that out of the terminal.
  if ! node scripts/test.cjs "${node_files[@]}" >"$logs/round$round-node.log" 2>&1; then
    grep -v '^\[\(native\|fastify\|express\)\] - ' "$logs/round$round-node.log" | tail -60
    echo "[fuzz] FAILED in round $round (Node); log: $logs/round$round-node.log"
    exit 1
  fi
  echo "[fuzz] round $round passed at $((SECONDS - start)) s"
done

elapsed=$((SECONDS - start))
echo "[fuzz] PASSED: $round rounds in $((elapsed / 60)) min $((elapsed % 60)) s;" \
  "Rust $((round * rust_properties * PROPTEST_CASES)) cases ($rust_properties properties)," \
  "Node $((round * node_properties * FC_RUNS)) runs ($node_properties properties); logs in $logs"
