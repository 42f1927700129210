#!/usr/bin/env bash
# End-to-end benchmark: N x 12 MP photos captured on a desktop device,
# uploaded to the store and pulled by records staff, on loopback, with the
# release binaries and the real CLI (issue 5's benchmark):
#
#   capture  sealcam send --no-upload   read, strip, SHA-256 for the record, seal, fsync into the outbox
#   upload   sealcam outbox --sync      TLS (pinned), signed PUT, store streams to disk, verifies, fsyncs, catalogs, signs a receipt; device verifies it and deletes
#   pull     sealcam records pull       inbox, fetch, verify + decrypt, write image/record/FHIR (fsync, rename), mark filed
#
# Usage: scripts/bench-e2e.sh [N]   (default 100; the input is
# bench-inputs/photo-12mp.jpg, made by scripts/gen-bench-inputs.sh)
# Prints one table; figures go in docs/BENCHMARKS.md §7.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
n="${1:-100}"
photo="${SEALCAM_BENCH_INPUTS:-$repo/bench-inputs}/photo-12mp.jpg"
if [[ ! -f "$photo" ]]; then
    "$repo/scripts/gen-bench-inputs.sh"
fi
"$repo/scripts/build-release.sh"
bin="$repo/target/release"
work="$(mktemp -d)"
store_pid=""
cleanup() {
    [[ -n "$store_pid" ]] && kill "$store_pid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
cd "$work"

"$bin/sealcam-store" serve --data data --listen 127.0.0.1:0 >store.out 2>store.err &
store_pid=$!
for _ in $(seq 1 100); do grep -q '^ready' store.out 2>/dev/null && break; sleep 0.1; done
grep -q '^ready' store.out || { cat store.err >&2; echo "the store did not start" >&2; exit 1; }
url=$(awk '/^url:/ {print $2}' store.out)
pin=$(awk '/^tls-pin:/ {print $2}' store.out)
code=$(awk '/^bootstrap-code:/ {print $2}' store.out)

s() { "$bin/sealcam" "$@"; }
s keygen --kind org -o org.key >org.pub
s admin bootstrap --store "$url" --pin "$pin" --code "$code" --org-key org.key >/dev/null
s keygen -o records.key >records.pub
s keygen --kind staff -o staff.key >staff.pub
s admin directory add records.pub --name "Records" >/dev/null
s admin directory publish >/dev/null
s admin staff add --name "Clerk" --recipient records.pub --auth-key staff.pub >/dev/null
s admin enrol create --name "Dr Bench" --registration-body GMC --registration-number 1234567 --no-qr 2>/dev/null |
    grep '^sealcam-enrol' >enrol.txt
s device enroll - --home device <enrol.txt >/dev/null
s admin devices approve --all >/dev/null

images=()
for _ in $(seq 1 "$n"); do images+=("$photo"); done
bytes=$(( $(stat -c %s "$photo") * n ))

now() { date +%s.%N; }
# CPU seconds (user + system) used so far by this shell's children (the
# CLI) and by the store process: wall time minus CPU is waiting (fsync,
# the network, the other side, the other core being busy).
store_cpu() { awk -v hz="$(getconf CLK_TCK)" '{print ($14 + $15) / hz}' "/proc/$store_pid/stat"; }
marks=()
mark() {
    local t c
    t=$(now)
    times >"$work/times"
    c=$(tail -1 "$work/times" | python3 -c 'import sys,re; print(sum(int(m)*60+float(s) for m,s in re.findall(r"(\d+)m([\d.]+)s", sys.stdin.read())))')
    marks+=("$t $c $(store_cpu)")
}
mark
s send "${images[@]}" --home device --no-upload \
    --nhs "943 476 5919" --site "left forearm" --consent care --consent-method verbal --consent-by patient >/dev/null 2>&1
mark
s outbox --sync --home device >/dev/null
mark
s records pull --no-progress -i records.key --auth-key staff.key --store "$url" --pin "$pin" --org org.pub -o filed >/dev/null 2>&1
mark

filed=$(find filed -mindepth 1 -maxdepth 1 -type d | wc -l)
left=$(find device/outbox -maxdepth 1 -name '*.sealcam' | wc -l)
rss=$(awk '/VmHWM/ {print $2}' "/proc/$store_pid/status")
if [[ "$filed" -ne "$n" || "$left" -ne 0 ]]; then
    echo "FAILED: $filed of $n filed, $left left in the outbox" >&2
    exit 1
fi
python3 - "$n" "$bytes" "$rss" "$(nproc)" "$(uptime | sed 's/.*load average: //')" "${marks[@]}" <<'PY'
import sys
n, b, rss, cores, load = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
m = [tuple(map(float, x.split())) for x in sys.argv[6:]]
print(f"end to end: {n} x 12 MP photos ({b/1e6:.0f} MB), {cores} cores, load {load}")
print("| phase | wall s | per image ms | images/s | MB/s | CLI CPU ms/image | store CPU ms/image | waiting ms/image |")
print("|---|---:|---:|---:|---:|---:|---:|---:|")
names = ["capture (send --no-upload)", "upload (outbox --sync)", "pull (records pull)"]
rows = [(names[i], m[i], m[i + 1]) for i in range(3)] + [("**total**", m[0], m[3])]
for name, a, z in rows:
    wall, cli, store = z[0] - a[0], z[1] - a[1], z[2] - a[2]
    wait = max(0.0, wall - cli - store)
    print(f"| {name} | {wall:.2f} | {1000*wall/n:.1f} | {n/wall:.1f} | {b/1e6/wall:.0f} | {1000*cli/n:.1f} | {1000*store/n:.1f} | {1000*wait/n:.1f} |")
print(f"store peak RSS (VmHWM): {rss/1024:.0f} MiB")
PY
