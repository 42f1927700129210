#!/usr/bin/env bash
# Whole-process comparison of sealing the 12 MP bench input to one
# recipient, in ONE hyperfine run:
#
#   sealcam seal --unsigned   sealcam seal IN -r R --unsigned <record flags> -o OUT
#   sealcam seal (signed)     the same with --sign-key DEVICEKEY --certificate CERT
#   age -r                    age -r AGE_RECIPIENT -o OUT IN
#
# and the same three writing to standard output (-o - for sealcam, no -o
# for age; hyperfine discards it), side by side in the same run.
#
# (release build of sealcam; keys, certificate and the age identity are made
# fresh in a temporary directory for each run of this script.)
#
# Target: `sealcam seal` no slower than `age -r` on the same file (median).
# The two tools do different work: sealcam also strips metadata (and
# re-verifies the result), hashes the image into the clinical record, signs
# (signed variant: BLAKE3 + Ed25519) and writes the envelope atomically with
# fsync (temp file, fsync, rename, directory fsync); age only encrypts
# (ChaCha20-Poly1305, 64 KiB chunks) and writes OUT without fsync. The
# comparison is reported as measured; DIAG=1 adds rows that show what the
# durable write costs.
# A missed target is printed, not fatal (set STRICT=1 to exit non-zero).
#
# Results: bench-inputs/results/seal-cli.{md,json,csv} (git-ignored).
# Environment:
#   RUNS=N      hyperfine runs per command (default 30; CI uses fewer)
#   WARMUP=N    warm-up runs per command (default 3)
#   INPUT=FILE  input image (default bench-inputs/photo-12mp.jpg)
#   STRICT=1    exit 1 if the target is missed
#   DIAG=1      add diagnostic rows (not among the compared commands):
#               sealcam seal --unsigned with fsync disabled (libeatmydata)
#               and `sealcam strip` to stdout (the sanitize share of the work)
#   SEALCAM_BENCH_INPUTS  bench input directory (default <repo>/bench-inputs)
#
# Needs: hyperfine, age (apt-get install -y --no-install-recommends hyperfine
# age) and the inputs from scripts/gen-bench-inputs.sh.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
inputs="${SEALCAM_BENCH_INPUTS:-$repo/bench-inputs}"
input="${INPUT:-$inputs/photo-12mp.jpg}"
runs="${RUNS:-30}"
warmup="${WARMUP:-3}"
results="$inputs/results"

die() { printf 'bench-seal-cli: error: %s\n' "$*" >&2; exit 1; }

for tool in hyperfine age age-keygen; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool not found (apt-get install hyperfine age)"
done
[[ -s "$input" ]] || die "$input not found: run scripts/gen-bench-inputs.sh first"

echo "bench-seal-cli: building sealcam (release)..." >&2
"$repo/scripts/build-release.sh"
target_dir="$(cd "$repo" && cargo metadata --format-version 1 --no-deps 2>/dev/null \
    | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')"
sealcam="${target_dir:-$repo/target}/release/sealcam"
[[ -x "$sealcam" ]] || die "sealcam binary not found at $sealcam"
"$sealcam" seal --help >/dev/null 2>&1 || die "this sealcam has no 'seal' command"

mkdir -p "$results"
work="$(mktemp -d "$inputs/.seal-cli-XXXXXX")"
trap 'rm -rf "$work"' EXIT
cp "$input" "$work/in.jpg"

# Keys: a sealcam recipient, an organisation key, a device key and its
# certificate (no passphrases), and an age identity.
recipient="$("$sealcam" keygen -o "$work/records.key" 2>/dev/null)"
[[ "$recipient" == sealcam1* ]] || die "sealcam keygen printed no recipient (got: '$recipient')"
"$sealcam" keygen --kind org -o "$work/org.key" >"$work/org.pub" 2>/dev/null
"$sealcam" keygen --kind device -o "$work/device.key" >"$work/device.pub" 2>/dev/null
"$sealcam" certify --org-key "$work/org.key" --device "$(cat "$work/device.pub")" \
    --name "Dr Sam Fictional" --registration-body GMC --registration-number 1234567 \
    -o "$work/device.cert" 2>/dev/null
age-keygen -o "$work/age.key" 2>/dev/null
age_recipient="$(age-keygen -y "$work/age.key")"

# The clinical record (fictional patient) as command-line flags.
record=(--nhs 9434765919 --site "left forearm" --consent care --consent-method verbal
    --consent-by patient --clinician-name "Dr Sam Fictional" --registration-body GMC
    --registration-number 1234567)
# hyperfine -N splits each command on whitespace (shell-like quoting is
# honoured), so quote the multi-word values.
record_cmd="--nhs 9434765919 --site 'left forearm' --consent care --consent-method verbal \
--consent-by patient --clinician-name 'Dr Sam Fictional' --registration-body GMC \
--registration-number 1234567"

# Check each command once (and that the envelopes open) before timing.
"$sealcam" seal "$work/in.jpg" -r "$recipient" --unsigned "${record[@]}" \
    -o "$work/unsigned.scm" 2>/dev/null
"$sealcam" seal "$work/in.jpg" -r "$recipient" --sign-key "$work/device.key" \
    --certificate "$work/device.cert" "${record[@]}" -o "$work/signed.scm" 2>/dev/null
"$sealcam" open "$work/signed.scm" -i "$work/records.key" --org "$work/org.pub" \
    -o "$work/opened.jpg" 2>/dev/null || die "the signed envelope does not open"
"$sealcam" strip "$work/in.jpg" -o "$work/stripped.jpg"
cmp -s "$work/opened.jpg" "$work/stripped.jpg" || die "opened image differs from sealcam strip's output"
age -r "$age_recipient" -o "$work/age.age" "$work/in.jpg"

# -N: no intermediate shell, so a few-millisecond command is timed as itself.
# Every command writing a file writes a new one (--prepare removes the
# previous one). Each tool is timed twice: to a file (sealcam: atomic and
# durable, temp file + fsync + rename + directory fsync; age: plain write,
# no fsync) and to standard output (hyperfine sends it to /dev/null), which
# compares the work without the file-system policy.
cmds=(
    -n "sealcam seal --unsigned" --prepare "rm -f $work/unsigned.scm"
    "$sealcam seal $work/in.jpg -r $recipient --unsigned $record_cmd -o $work/unsigned.scm"
    -n "sealcam seal (signed)" --prepare "rm -f $work/signed.scm"
    "$sealcam seal $work/in.jpg -r $recipient --sign-key $work/device.key --certificate $work/device.cert $record_cmd -o $work/signed.scm"
    -n "age -r" --prepare "rm -f $work/age.age"
    "age -r $age_recipient -o $work/age.age $work/in.jpg"
    -n "sealcam seal --unsigned -o - (stdout)" --prepare "true"
    "$sealcam seal $work/in.jpg -r $recipient --unsigned $record_cmd -o -"
    -n "sealcam seal (signed) -o - (stdout)" --prepare "true"
    "$sealcam seal $work/in.jpg -r $recipient --sign-key $work/device.key --certificate $work/device.cert $record_cmd -o -"
    -n "age -r (stdout)" --prepare "true"
    "age -r $age_recipient $work/in.jpg"
)
if [[ "${DIAG:-0}" == 1 ]]; then
    eatmydata_lib="$(ls /usr/lib/*/libeatmydata.so 2>/dev/null | head -1 || true)"
    [[ -n "$eatmydata_lib" ]] || die "DIAG=1 needs libeatmydata (apt-get install eatmydata)"
    cmds+=(
        -n "diagnostic: sealcam seal --unsigned, fsync disabled (libeatmydata)"
        --prepare "rm -f $work/unsigned-nofsync.scm"
        "env LD_PRELOAD=$eatmydata_lib $sealcam seal $work/in.jpg -r $recipient --unsigned $record_cmd -o $work/unsigned-nofsync.scm"
        -n "diagnostic: sealcam strip -o - (stdout, discarded)"
        --prepare "true"
        "$sealcam strip $work/in.jpg -o -"
    )
fi
hyperfine -N --style basic --warmup "$warmup" --runs "$runs" \
    --export-markdown "$results/seal-cli.md" \
    --export-json "$results/seal-cli.json" \
    --export-csv "$results/seal-cli.csv" \
    "${cmds[@]}"

echo
echo "input: $input ($(stat -c %s "$input") bytes); outputs:"
for t in unsigned signed; do
    printf '  %-18s %10s bytes\n' "sealcam $t" "$(stat -c %s "$work/$t.scm")"
done
printf '  %-18s %10s bytes\n' "age" "$(stat -c %s "$work/age.age")"
echo
cat "$results/seal-cli.md"
echo

# Target, from the CSV (command,mean,stddev,median,user,system,min,max; seconds).
median() { awk -F, -v n="$1" 'NR > 1 && $1 == n { print $4 }' "$results/seal-cli.csv"; }
u="$(median "sealcam seal --unsigned")"
s="$(median "sealcam seal (signed)")"
a="$(median "age -r")"
uo="$(median "sealcam seal --unsigned -o - (stdout)")"
so="$(median "sealcam seal (signed) -o - (stdout)")"
ao="$(median "age -r (stdout)")"
awk -v u="$u" -v s="$s" -v a="$a" -v uo="$uo" -v so="$so" -v ao="$ao" 'BEGIN {
    printf "medians to a file: sealcam seal --unsigned %.2f ms, sealcam seal (signed) %.2f ms, age -r %.2f ms\n", u*1e3, s*1e3, a*1e3
    printf "medians to stdout: sealcam seal --unsigned %.2f ms, sealcam seal (signed) %.2f ms, age -r %.2f ms\n", uo*1e3, so*1e3, ao*1e3
    printf "sealcam / age: to a file unsigned %.2fx, signed %.2fx; to stdout unsigned %.2fx, signed %.2fx\n", u/a, s/a, uo/ao, so/ao }'
missed=0
verdict() { # verdict DESCRIPTION AWK-CONDITION
    if awk -v u="$u" -v s="$s" -v a="$a" -v uo="$uo" -v so="$so" -v ao="$ao" "BEGIN { exit !($2) }"; then
        echo "TARGET MET:    $1"
    else
        echo "TARGET MISSED: $1"
        missed=1
    fi
}
verdict "sealcam seal --unsigned no slower than age -r, to a file (median)" "u <= a"
verdict "sealcam seal (signed) no slower than age -r, to a file (median)" "s <= a"
verdict "sealcam seal --unsigned no slower than age -r, to stdout (median)" "uo <= ao"
verdict "sealcam seal (signed) no slower than age -r, to stdout (median)" "so <= ao"
echo "results: $results/seal-cli.{md,json,csv}"
if [[ "$missed" == 1 && "${STRICT:-0}" == 1 ]]; then
    exit 1
fi
