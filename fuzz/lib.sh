# Shared by smoke.sh and long.sh (sourced, not run).
#
#   FUZZ_BUILD_FLAGS  cargo fuzz build/run flags (default: no sanitizer,
#                     debug assertions on: every target's code under test is
#                     safe Rust, `#![forbid(unsafe_code)]`, so AddressSanitizer
#                     adds little but halves the speed, while debug
#                     assertions turn integer overflow into a crash).
#                     E.g. FUZZ_BUILD_FLAGS="--sanitizer address" for ASan.
#   FUZZ_TARGETS      space-separated targets (default: all, from Cargo.toml)

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
read -r -a build_flags <<<"${FUZZ_BUILD_FLAGS:---sanitizer none --debug-assertions}"
logs="$here/target/fuzz-logs"
bin_dir="${FUZZ_BIN_DIR:-$here/target/$(rustc +nightly -vV | sed -n 's/^host: //p')/release}"
mkdir -p "$logs"

all_targets() {
    sed -n 's/^name = "\([a-z0-9_]*\)"$/\1/p' "$here/Cargo.toml" | grep -v '^sealcam-fuzz' || true
}

targets=()
if [[ $# -gt 0 ]]; then
    targets=("$@")
elif [[ -n "${FUZZ_TARGETS:-}" ]]; then
    read -r -a targets <<<"$FUZZ_TARGETS"
else
    mapfile -t targets < <(all_targets)
fi

loud() {
    echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!" >&2
    for line in "$@"; do echo "!! $line" >&2; done
    echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!" >&2
}

# run_target <target> <log> <libFuzzer args…>: runs one target (built by
# `cargo +nightly fuzz build` with the same flags first) on its corpus
# (fuzz/corpus/<target>), sets `execs`, `secs`, `rate`, `status`, `artifact`.
run_target() {
    local t="$1" log="$2"
    shift 2
    local start end
    mkdir -p "$here/corpus/$t" "$here/artifacts/$t"
    start="$(date +%s.%N)"
    set +e
    # The binary `cargo fuzz build` made, run directly with the arguments
    # `cargo fuzz run` would give it (a second less per target).
    ${FUZZ_NICE:+nice -n "$FUZZ_NICE"} "$bin_dir/$t" -artifact_prefix="$here/artifacts/$t/" \
        -print_final_stats=1 -timeout=20 "$@" "$here/corpus/$t" >"$log" 2>&1
    status=$?
    set -e
    end="$(date +%s.%N)"
    execs="$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\).*/\1/p' "$log" | tail -1)"
    execs="${execs:-0}"
    secs="$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')"
    rate="$(awk -v n="$execs" -v s="$secs" 'BEGIN { printf "%.0f", (s > 0 ? n / s : 0) }')"
    artifact="$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)"
}
