#!/usr/bin/env bash
# Builds the patient page's WebAssembly module (web/wasm, crate
# sealcam-web) and copies it where the loader reads it:
# web/page/sealcam_web.wasm. Prints its size raw and gzipped.
#
#   web/build.sh            release build for wasm32-unknown-unknown
#
# Needs: rustup target add wasm32-unknown-unknown. (No wasm-opt pass yet:
# Debian's binaryen 108 was not tried against this module.)
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build -p sealcam-web --release --target wasm32-unknown-unknown
src=target/wasm32-unknown-unknown/release/sealcam_web.wasm
dst=web/page/sealcam_web.wasm
cp "$src" "$dst"
raw=$(wc -c <"$dst")
gz=$(gzip -9 -c "$dst" | wc -c)
echo "web/build.sh: $dst: $raw bytes, $gz gzipped (gzip -9)"
# The issue's budget: 400 KB gzipped.
if ((gz > 400 * 1024)); then
    echo "web/build.sh: over the 400 KB gzipped budget" >&2
    exit 1
fi
