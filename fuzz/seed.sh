#!/usr/bin/env bash
# Seeds fuzz/corpus/<target>/ (git-ignored; never commit it):
#
# - sanitize: from the shared corpus, every image under 200 KB (JPEG, MPO,
#   PNG, WebP, HEIC) and every malformed file;
# - every other target: valid inputs made with the real sealcam-core API
#   and the fixture keys the targets use (fuzz/seeds, built here without
#   instrumentation), plus the envelopes of core/tests/vectors for the
#   envelope header and stream targets.
#
# Existing corpus entries (e.g. ones libFuzzer found) stay; seed files
# (seed-*) are rewritten.
#
#   SEALCAM_CORPUS   corpus directory (default: <repo>/../shared/corpus)
#   MAX_SEED_BYTES   size limit for images (default 204800)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
corpus="${SEALCAM_CORPUS:-$here/../../shared/corpus}"
max="${MAX_SEED_BYTES:-204800}"

# --- API-made seeds for the parser targets --------------------------------
(cd "$here" && cargo build --quiet -p sealcam-fuzz-seeds)
"$here/target/debug/sealcam-fuzz-seeds" "$here/corpus" "$here/../core/tests/vectors"
for d in "$here"/corpus/*/; do
    t="$(basename "$d")"
    [[ "$t" == sanitize ]] && continue
    echo "fuzz/seed.sh: $t: $(find "$d" -name 'seed-*' -type f | wc -l) seeds ($(find "$d" -type f | wc -l) entries now)"
done

# --- images for the sanitizer ----------------------------------------------
dest="$here/corpus/sanitize"
mkdir -p "$dest"

if [[ ! -d "$corpus/images" ]]; then
    echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!" >&2
    echo "!! fuzz/seed.sh: shared corpus not found at $corpus (set SEALCAM_CORPUS)" >&2
    echo "!! the sanitize fuzzer starts from an empty corpus" >&2
    echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!" >&2
    exit 0
fi

n=0
while IFS= read -r -d '' f; do
    cp -f "$f" "$dest/"
    n=$((n + 1))
done < <(find "$corpus/images" -maxdepth 1 -type f -size -"$((max + 1))"c \
    \( -iname '*.jpg' -o -iname '*.jpeg' -o -iname '*.mpo' -o -iname '*.png' \
       -o -iname '*.webp' -o -iname '*.heic' -o -iname '*.heif' -o -iname '*.avif' \) -print0)
m=0
if [[ -d "$corpus/malformed" ]]; then
    while IFS= read -r -d '' f; do
        cp -f "$f" "$dest/"
        m=$((m + 1))
    done < <(find "$corpus/malformed" -maxdepth 1 -type f \
        ! -name '*.md' ! -name '*.tsv' -print0)
fi
chmod u+w "$dest"/* 2>/dev/null || true
echo "fuzz/seed.sh: sanitize: $n images and $m malformed files copied into $dest ($(find "$dest" -type f | wc -l) entries now)"
