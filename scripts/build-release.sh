#!/usr/bin/env bash
# The one release build every benchmark script uses: `sealcam`,
# `sealcam-store` and the load bench `store-load`, built together so that
# cargo resolves dependency features once (building the packages one by one
# resolves them per set and rebuilds the dependencies, with LTO, each time).
# A no-op when up to date; `.ci/run` calls it once before the benchmarks.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
cargo build --release --quiet -p sealcam -p sealcam-store -p sealcam-tests \
    --bin sealcam --bin sealcam-store --bin store-load
