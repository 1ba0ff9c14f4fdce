#!/usr/bin/env bash
# Runs the test files (*.test.ts) with node's built-in test runner through tsx.
#   bash scripts/test.sh            static checks, then every file, then the
#                                   wall time and the five slowest files
#   bash scripts/test.sh FILE...    only those files, one after another
# The full suite runs in two groups. First, two at a time: the real-engine
# lane (about 7 minutes of API servers, Pulumi and Helm, with generous waits)
# and the real-pods lane beside the files that only use throwaway resources
# of their own (ports, databases, temp dirs) and assert no timings. Then the
# files listed in SERIAL, one after another and alone: they measure time
# (deadlines, drains, k6 thresholds), so beside another file they would
# measure the neighbour instead. Inside the first group, the real-pods lane's
# drill waits until the real-engine lane is over.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.tools/bin:$PATH"

# Each run also writes its line and branch coverage (node's own, through the
# source maps) as lcov beside its timing; scripts/coverage.mjs merges them.
tap() {
  local concurrency=$1 timing=$2
  shift 2
  node --import tsx --test --test-concurrency="$concurrency" \
    --experimental-test-coverage --enable-source-maps \
    --test-reporter=tap --test-reporter-destination=stdout \
    --test-reporter=lcov --test-reporter-destination="$timing.lcov" \
    --test-reporter=./scripts/test-timing.mjs --test-reporter-destination="$timing" "$@"
}

if [ $# -gt 0 ]; then
  exec node --import tsx --test --test-concurrency=1 "$@"
fi

# The first group's order (node sorts the files it is given, so two workers
# here take one file at a time from this queue): the real-engine lane first,
# half of the light files, then the real-pods lane, so that its setup ends
# about when real-up does (its drill waits for real-up; started at once it
# idled about 3 minutes), then the rest.
FIRST=infra/test/real-up.e2e.test.ts
MIDDLE=infra/test/real-pods.e2e.test.ts
SERIAL=(
  alerting/observability.e2e.test.ts
  apps/feed/test/db-roles.test.ts
  apps/feed/test/outage.test.ts
  apps/feed/test/processes.test.ts
  apps/gateway/test/e2e.test.ts
  apps/gateway/test/http-limits.test.ts
  apps/gateway/test/memory.test.ts
  apps/gateway/test/resilience.test.ts
  apps/gateway/test/scale-out.test.ts
  apps/gateway/test/stalled-replica.test.ts
  apps/gateway/test/websocket.test.ts
  loadtest/test/drill-smoke.test.ts
)

npx biome check .
npx tsc --noEmit -p tsconfig.json
mapfile -t all < <(find apps infra alerting loadtest scripts test proto devkit -name '*.test.ts' -not -path '*/node_modules/*' 2>/dev/null | sort)
light=()
for file in "${all[@]}"; do
  [[ " ${SERIAL[*]} $FIRST $MIDDLE " == *" $file "* ]] || light+=("$file")
done
half_light=$((${#light[@]} / 2))
parallel=("$FIRST" "${light[@]:0:half_light}" "$MIDDLE" "${light[@]:half_light}")
for file in "$FIRST" "$MIDDLE" "${SERIAL[@]}"; do
  [ -f "$file" ] || { echo "scripts/test.sh: SERIAL lists $file, which does not exist" >&2; exit 1; }
done

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
# This run's own folder, where lanes say they are running
# (infra/test/support/suite-lanes.ts: the real-pods drill waits for real-up).
export GOLIVE_SUITE_DIR="$out"
started=$SECONDS
status=0
printf '%s\n' "${parallel[@]}" >"$out/queue"
# Pops the next file of the queue (empty when none is left).
next_file() { flock "$out/queue.lock" bash -c 'head -1 "$1"; sed -i 1d "$1"' _ "$out/queue"; }
worker() {
  local id=$1 n=0 file
  while file=$(next_file) && [ -n "$file" ]; do
    n=$((n + 1))
    tap 1 "$out/timing-w$id-$n" "$file" >"$out/tap-w$id-$n" 2>&1 || echo "$file" >>"$out/failed"
    flock "$out/print.lock" cat "$out/tap-w$id-$n"
  done
}
worker 1 &
worker 2 &
wait
[ ! -s "$out/failed" ] || status=1
half=$SECONDS
tap 1 "$out/timing-serial" "${SERIAL[@]}" | tee "$out/tap-serial" || status=1

sum() { grep -h "^# $1 " "$out"/tap-* | awk '{n += $3} END {print n + 0}'; }
echo "# suite: $(sum tests) tests, $(sum pass) passed, $(sum fail) failed, $(sum cancelled) cancelled in $((SECONDS - started)) s" \
  "(${#parallel[@]} files two at a time: $((half - started)) s; ${#SERIAL[@]} one at a time: $((SECONDS - half)) s)"
echo "# slowest files:"
for f in "$out"/timing-*; do [[ $f == *.lcov ]] || cat "$f"; done | sort -t$'\t' -k2,2nr | head -5 | awk -F'\t' '{printf "#   %6.1f s  %s\n", $2 / 1000, $1}'
node scripts/coverage.mjs "$out"/timing-*.lcov || status=1
exit "$status"
