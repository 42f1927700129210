#!/usr/bin/env bash
# The long fuzz run reported in docs/BENCHMARKS.md §4: each target, one at
# a time, until 10,000,000 executions (LONG_RUNS) or LONG_SECONDS (default
# 360) have passed, whichever comes first, continuing from its corpus.
# Prints a Markdown table row per target: executions, seconds, exec/s,
# crashes. Does not stop at a crash: it is reported and the next target runs.
#
#   ./long.sh                          # every target
#   ./long.sh envelope_open receipt    # some targets
#   FUZZ_NICE=10 LONG_SECONDS=600 ./long.sh
#
# Seed first (./seed.sh). Logs: fuzz/target/fuzz-logs/long-<target>.log.
set -euo pipefail
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"
seconds="${LONG_SECONDS:-360}"
runs="${LONG_RUNS:-10000000}"
cd "$here"

cargo +nightly fuzz build "${build_flags[@]}"
echo "fuzz long run: $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(git -C "$here" rev-parse --short HEAD 2>/dev/null || echo '?'), flags: ${build_flags[*]}"
echo "| target | executions | seconds | exec/s | crashes |"
echo "|---|---:|---:|---:|---|"
failed=()
for t in "${targets[@]}"; do
    run_target "$t" "$logs/long-$t.log" -runs="$runs" -max_total_time="$seconds"
    crashes="0"
    if [[ "$status" -ne 0 ]]; then
        crashes="**1** (exit $status: ${artifact:-no input saved})"
        failed+=("$t")
    fi
    printf '| `%s` | %s | %s | %s | %s |\n' "$t" "$execs" "$secs" "$rate" "$crashes"
done
if [[ ${#failed[@]} -gt 0 ]]; then
    loud "fuzz long run: crashes in ${failed[*]} (logs in $logs)"
    exit 1
fi
