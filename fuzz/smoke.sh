#!/usr/bin/env bash
# CI fuzz smoke: seeds the corpora, builds every target once, then runs
# each for SMOKE_SECONDS (default 15) and prints one line per target with
# the executions done. Any crash, panic, broken property, timeout or
# out-of-memory fails the run, loudly, naming the input libFuzzer saved.
#
#   ./smoke.sh                      # every target
#   ./smoke.sh envelope_header      # some targets
#   SMOKE_SECONDS=60 ./smoke.sh
#
# Logs: fuzz/target/fuzz-logs/smoke-<target>.log. See lib.sh for
# FUZZ_BUILD_FLAGS and FUZZ_TARGETS.
set -euo pipefail
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"
seconds="${SMOKE_SECONDS:-15}"
cd "$here"

t0=$SECONDS
./seed.sh
cargo +nightly fuzz build "${build_flags[@]}"
echo "fuzz smoke: seeded and built in $((SECONDS - t0)) s; ${#targets[@]} targets, ${seconds} s each"

failed=()
t1=$SECONDS
for t in "${targets[@]}"; do
    run_target "$t" "$logs/smoke-$t.log" -max_total_time="$seconds"
    if [[ "$status" -ne 0 ]]; then
        echo "fuzz smoke: $t: FAILED (exit $status) after $execs executions in $secs s"
        tail -n 40 "$logs/smoke-$t.log" >&2
        loud "fuzz smoke: target $t FAILED (exit $status)" \
            "input: ${artifact:-(none saved)}" \
            "reproduce: (cd fuzz && cargo +nightly fuzz run ${build_flags[*]} $t ${artifact:-})" \
            "log: $logs/smoke-$t.log"
        failed+=("$t")
    else
        printf 'fuzz smoke: %-18s %10s executions in %5s s (%s/s), no crash\n' "$t" "$execs" "$secs" "$rate"
    fi
done
echo "fuzz smoke: ${#targets[@]} targets in $((SECONDS - t1)) s (total with seeding and build: $((SECONDS - t0)) s)"
if [[ ${#failed[@]} -gt 0 ]]; then
    loud "fuzz smoke FAILED: ${failed[*]}"
    exit 1
fi
