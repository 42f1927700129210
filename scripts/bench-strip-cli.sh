#!/usr/bin/env bash
# Whole-process comparison of metadata stripping on the 12 MP bench input,
# in ONE hyperfine run:
#
#   sealcam   sealcam strip IN -o OUT           (release build; writes OUT
#                                                atomically: temp file, fsync, rename)
#   jhead     jhead -purejpg FILE               (edits in place: --prepare copies IN first)
#   exiftool  exiftool -all= -o OUT IN          (--prepare removes OUT)
#
# Targets: sealcam no slower than jhead, and >= 10x faster than exiftool.
# A missed target is printed, not fatal (set STRICT=1 to exit non-zero).
#
# Results: bench-inputs/results/strip-cli.{md,json,csv} (git-ignored).
# Environment:
#   RUNS=N      hyperfine runs per command (default 30; CI uses fewer)
#   WARMUP=N    warm-up runs per command (default 3)
#   INPUT=FILE  input image (default bench-inputs/photo-12mp.jpg)
#   STRICT=1    exit 1 if a target is missed
#   DIAG=1      add two diagnostic rows: sealcam with fsync disabled
#               (libeatmydata) and sealcam writing to stdout, to show what
#               the durable file write costs
#   SEALCAM_BENCH_INPUTS  bench input directory (default <repo>/bench-inputs)
#
# Needs: hyperfine, jhead, exiftool (apt-get install -y --no-install-recommends
# hyperfine jhead libimage-exiftool-perl) and the inputs from
# scripts/gen-bench-inputs.sh.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
inputs="${SEALCAM_BENCH_INPUTS:-$repo/bench-inputs}"
input="${INPUT:-$inputs/photo-12mp.jpg}"
runs="${RUNS:-30}"
warmup="${WARMUP:-3}"
results="$inputs/results"

die() { printf 'bench-strip-cli: error: %s\n' "$*" >&2; exit 1; }

for tool in hyperfine jhead exiftool; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool not found (apt-get install hyperfine jhead libimage-exiftool-perl)"
done
[[ -s "$input" ]] || die "$input not found: run scripts/gen-bench-inputs.sh first"

echo "bench-strip-cli: building sealcam (release)..." >&2
"$repo/scripts/build-release.sh"
target_dir="$(cd "$repo" && cargo metadata --format-version 1 --no-deps 2>/dev/null \
    | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')"
sealcam="${target_dir:-$repo/target}/release/sealcam"
[[ -x "$sealcam" ]] || die "sealcam binary not found at $sealcam"

mkdir -p "$results"
work="$(mktemp -d "$inputs/.strip-cli-XXXXXX")"
trap 'rm -rf "$work"' EXIT
cp "$input" "$work/in.jpg"

# -N: no intermediate shell, so a few-millisecond command is timed as itself.
cmds=(
    -n "sealcam strip" --prepare "rm -f $work/sealcam.jpg"
    "$sealcam strip $work/in.jpg -o $work/sealcam.jpg"
    -n "jhead -purejpg" --prepare "cp $work/in.jpg $work/jhead.jpg"
    "jhead -purejpg $work/jhead.jpg"
    -n "exiftool -all=" --prepare "rm -f $work/exiftool.jpg"
    "exiftool -all= -o $work/exiftool.jpg $work/in.jpg"
)
# Diagnostic rows (DIAG=1; not among the compared tools): the same sealcam
# work without the durable write, to show what it costs. (1) fsync turned
# into a no-op by libeatmydata (LD_PRELOAD; apt-get install eatmydata);
# (2) the image written to standard output (hyperfine discards it): no
# temporary file, no fsync, no rename.
if [[ "${DIAG:-0}" == 1 ]]; then
    eatmydata_lib="$(ls /usr/lib/*/libeatmydata.so 2>/dev/null | head -1 || true)"
    [[ -n "$eatmydata_lib" ]] || die "DIAG=1 needs libeatmydata (apt-get install eatmydata)"
    cmds+=(
        -n "diagnostic: sealcam strip, fsync disabled (libeatmydata)"
        --prepare "rm -f $work/sealcam-nofsync.jpg"
        "env LD_PRELOAD=$eatmydata_lib $sealcam strip $work/in.jpg -o $work/sealcam-nofsync.jpg"
        -n "diagnostic: sealcam strip -o - (stdout, discarded)"
        --prepare "true"
        "$sealcam strip $work/in.jpg -o -"
    )
fi
hyperfine -N --style basic --warmup "$warmup" --runs "$runs" \
    --export-markdown "$results/strip-cli.md" \
    --export-json "$results/strip-cli.json" \
    --export-csv "$results/strip-cli.csv" \
    "${cmds[@]}"

echo
echo "input: $input ($(stat -c %s "$input") bytes); outputs:"
for t in sealcam jhead exiftool; do
    printf '  %-9s %10s bytes\n' "$t" "$(stat -c %s "$work/$t.jpg")"
done
echo
cat "$results/strip-cli.md"
echo

# Targets, from the CSV (command,mean,stddev,median,user,system,min,max; seconds).
median() { awk -F, -v n="$1" 'NR > 1 && $1 == n { print $4 }' "$results/strip-cli.csv"; }
s="$(median "sealcam strip")"
j="$(median "jhead -purejpg")"
e="$(median "exiftool -all=")"
missed=0
verdict() { # verdict DESCRIPTION AWK-CONDITION
    if awk -v s="$s" -v j="$j" -v e="$e" "BEGIN { exit !($2) }"; then
        echo "TARGET MET:    $1"
    else
        echo "TARGET MISSED: $1"
        missed=1
    fi
}
awk -v s="$s" -v j="$j" -v e="$e" 'BEGIN {
    printf "medians: sealcam %.2f ms, jhead %.2f ms, exiftool %.2f ms\n", s*1e3, j*1e3, e*1e3
    printf "sealcam vs jhead: %.2fx; exiftool / sealcam: %.1fx\n", j/s, e/s }'
verdict "sealcam no slower than jhead (median)" "s <= j"
verdict "sealcam >= 10x faster than exiftool (median)" "e >= 10 * s"
echo "results: $results/strip-cli.{md,json,csv}"
if [[ "$missed" == 1 && "${STRICT:-0}" == 1 ]]; then
    exit 1
fi
