#!/usr/bin/env bash
# Seeds fuzz/corpus/sanitize/ (git-ignored; never commit it) from the shared
# corpus: every image under 200 KB (JPEG, MPO, PNG, WebP, HEIC) and every
# malformed file. Existing corpus entries (e.g. ones libFuzzer found) stay.
#
#   SEALCAM_CORPUS   corpus directory (default: <repo>/../shared/corpus)
#   MAX_SEED_BYTES   size limit for images (default 204800)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
corpus="${SEALCAM_CORPUS:-$here/../../shared/corpus}"
max="${MAX_SEED_BYTES:-204800}"
dest="$here/corpus/sanitize"
mkdir -p "$dest"

if [[ ! -d "$corpus/images" ]]; then
    echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!" >&2
    echo "!! fuzz/seed.sh: shared corpus not found at $corpus (set SEALCAM_CORPUS)" >&2
    echo "!! the fuzzer starts from an empty corpus" >&2
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
echo "fuzz/seed.sh: $n images and $m malformed files copied into $dest ($(find "$dest" -type f | wc -l) entries now)"
