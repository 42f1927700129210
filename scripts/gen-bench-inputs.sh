#!/usr/bin/env bash
# Generates the benchmark inputs for sealcam's sanitizer into bench-inputs/
# (git-ignored; never commit the images):
#
#   bench-inputs/photo-12mp.jpg   4032x3024, JPEG q92, ~5 MB
#   bench-inputs/photo-48mp.jpg   8064x6048, JPEG q92, ~20 MB
#
# The pixels are an ImageMagick plasma fractal with Gaussian noise (fixed
# seeds, so the same ImageMagick version gives the same bytes). exiftool then
# adds what a real phone photo carries and what the sanitizer must remove:
# GPS (lat/lon/alt), Make/Model, body and lens serial numbers, an Apple
# MakerNote (copied from a corpus image), an EXIF IFD1 thumbnail, XMP
# (creator, GPS, description), IPTC (By-line, Caption), a comment, and
# Orientation=6 (which the sanitizer keeps as a minimal EXIF). An ICC profile
# taken from a corpus image is embedded too (the sanitizer keeps it).
#
# Idempotent: an output that already exists is left alone (delete it, or set
# FORCE=1, to rebuild). Environment:
#   SEALCAM_CORPUS        corpus directory (default: <repo>/../shared/corpus)
#   SEALCAM_BENCH_INPUTS  output directory (default: <repo>/bench-inputs)
#   FORCE=1               regenerate even if the outputs exist
#
# Needs real ImageMagick (magick or /usr/bin/convert; a `convert` earlier on
# PATH that is not ImageMagick is skipped) and exiftool:
#   apt-get install -y --no-install-recommends imagemagick libimage-exiftool-perl
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
corpus="${SEALCAM_CORPUS:-$repo/../shared/corpus}"
out_dir="${SEALCAM_BENCH_INPUTS:-$repo/bench-inputs}"
force="${FORCE:-0}"

# The corpus image the MakerNote and the ICC profile come from (Apple MakerNote, 890 bytes; ICC present).
donor="$corpus/images/mei_Apple_iPhone_6_plus.jpg"

log() { printf 'gen-bench-inputs: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# --- tools -----------------------------------------------------------------
im=()
if command -v magick >/dev/null 2>&1 && magick -version 2>/dev/null | grep -q ImageMagick; then
    im=(magick)
else
    for c in /usr/bin/convert "$(command -v convert 2>/dev/null || true)"; do
        if [[ -n "$c" && -x "$c" ]] && "$c" -version 2>/dev/null | grep -q ImageMagick; then
            im=("$c")
            break
        fi
    done
fi
[[ ${#im[@]} -gt 0 ]] || die "real ImageMagick not found (apt-get install imagemagick)"
command -v exiftool >/dev/null 2>&1 || die "exiftool not found (apt-get install libimage-exiftool-perl)"

# --- one image -----------------------------------------------------------
# gen NAME WIDTH HEIGHT PLASMA_SEED NOISE_ATTENUATION
gen() {
    local name="$1" w="$2" h="$3" seed="$4" attenuate="$5"
    local dest="$out_dir/$name"
    if [[ -s "$dest" && "$force" != 1 ]]; then
        log "$dest exists ($(stat -c %s "$dest") bytes), skipping"
        return
    fi
    local work="$tmp/$name.d"
    mkdir -p "$work"

    log "generating $name (${w}x${h})..."
    # Plasma gives smooth structure, the noise makes the JPEG as large as a
    # real 12 MP phone photo at q92 (~5 MB); 4:2:0 like phone cameras.
    "${im[@]}" -seed "$seed" -size "${w}x${h}" plasma:fractal \
        -seed 7 -attenuate "$attenuate" +noise Gaussian \
        -sampling-factor 2x2 -quality 92 "$work/img.jpg"
    # The EXIF thumbnail: a small plasma of its own.
    "${im[@]}" -seed 160 -size 160x120 plasma:fractal -quality 75 "$work/thumb.jpg"

    local args=(
        -q -q -overwrite_original
        -Make=Apple "-Model=iPhone 6 Plus"
        -Orientation#=6
        -SerialNumber=SC-BODY-0012345678 -LensSerialNumber=SC-LENS-0087654321
        "-DateTimeOriginal=2024:05:17 14:03:21" "-Software=sealcam bench generator"
        -GPSLatitude=51.501364 -GPSLatitudeRef=N
        -GPSLongitude=0.141890 -GPSLongitudeRef=W
        -GPSAltitude=23.4 -GPSAltitudeRef=0
        "-ThumbnailImage<=$work/thumb.jpg"
        "-XMP-dc:Creator=Dr Example Clinician"
        "-XMP-dc:Description=Lesion, left forearm, patient 943 476 5919"
        -XMP-exif:GPSLatitude=51.501364N -XMP-exif:GPSLongitude=0.141890W
        "-IPTC:By-line=Dr Example Clinician"
        "-IPTC:Caption-Abstract=Lesion, left forearm, patient 943 476 5919"
        "-Comment=sealcam bench input: every tag in here must be stripped"
    )
    if [[ -f "$donor" ]]; then
        exiftool -q -q -b -ICC_Profile "$donor" >"$work/profile.icc"
        [[ -s "$work/profile.icc" ]] || die "no ICC profile in $donor"
        args+=("-ICC_Profile<=$work/profile.icc" -tagsfromfile "$donor" -MakerNotes)
    else
        log "WARNING: corpus image $donor not found (set SEALCAM_CORPUS);"
        log "WARNING: $name gets no MakerNote and no ICC profile"
    fi
    exiftool "${args[@]}" "$work/img.jpg"

    # Check that the metadata the benchmark is about really is there.
    local tags
    tags="$(exiftool -s -s -s -GPSLatitude -SerialNumber -LensSerialNumber -ThumbnailLength \
        -XMP-dc:Creator -IPTC:By-line -Comment -Orientation# "$work/img.jpg")"
    [[ "$(wc -l <<<"$tags")" -eq 8 ]] || die "$name: metadata missing after exiftool:"$'\n'"$tags"
    if [[ -f "$donor" ]]; then
        exiftool -s -s -s -MakerNoteVersion -ProfileDescription "$work/img.jpg" | grep -q . \
            || die "$name: MakerNote or ICC profile missing after exiftool"
    fi

    mv -f "$work/img.jpg" "$dest"
    log "wrote $dest ($(stat -c %s "$dest") bytes)"
}

mkdir -p "$out_dir"
tmp="$(mktemp -d "$out_dir/.gen-XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
gen photo-12mp.jpg 4032 3024 4032 0.6
gen photo-48mp.jpg 8064 6048 8064 0.55
ls -l "$out_dir"/photo-*.jpg
