#!/usr/bin/env bash
# Load benchmark of the clinical store (issue 4), against a real
# `sealcam-store serve` on loopback (release build):
#
#   200 concurrent clients (each its own device key and TLS connection)
#   upload 5 MB signed envelopes; envelopes/s, MB/s, latency p50/p99/max,
#   errors, peak RSS of the store; side by side (before and after the load)
#   the raw sequential write throughput of the same disk, in the same
#   directory, with the store's pattern (write 5 MB, fsync, rename, fsync
#   dir), and `dd bs=1M count=1000 conv=fdatasync`.
#
# Targets: throughput >= 80% of that raw write throughput, p99 <= 2 s,
# zero errors, store RSS <= 512 MB. MET/MISSED is printed per target; the
# exit status is non-zero on any upload error or RSS > 512 MB.
#
# Envelopes are all generated in memory before the clock starts (distinct
# ids, each signed by its client's device): sealing 5 MB on the fly would
# take the CPU from the store (2 cores here, client and store share them).
# So the machine needs about envelopes x 5 MB of free memory (3 GB by
# default).
#
# Usage: scripts/bench-store-load.sh [--smoke] [--clients N] [--envelopes N]
#                                    [--size BYTES] [--raw-files N] [--dd-mb N]
#                                    [--work-dir DIR]
#   --smoke   20 clients x 40 envelopes (CI)
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
nice "$repo/scripts/build-release.sh"
export SEALCAM_STORE_BIN="$repo/target/release/sealcam-store"
echo "command: scripts/bench-store-load.sh $*"
exec "$repo/target/release/store-load" "$@"
