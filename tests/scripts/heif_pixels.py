#!/usr/bin/env python3
"""Decode pairs of HEIF files with libheif (pillow-heif) and compare pixels.

Usage: heif_pixels.py ORIGINAL SANITIZED [ORIGINAL SANITIZED ...]

libheif applies the irot/imir/clap transforms, so equal pixels mean both the
coded image and its orientation survived sanitizing. Exits 0 when every pair
matches, 1 when one differs, 3 when pillow-heif is not installed. Prints only
file names, sizes and verdicts: never pixel data or metadata.
"""
import sys

try:
    import pillow_heif
    from PIL import Image
except ImportError:
    print("pillow-heif is not installed (pip install pillow-heif)", file=sys.stderr)
    sys.exit(3)

pillow_heif.register_heif_opener()
args = sys.argv[1:]
if not args or len(args) % 2:
    print(__doc__, file=sys.stderr)
    sys.exit(2)
failed = 0
for original, sanitized in zip(args[0::2], args[1::2]):
    a, b = Image.open(original), Image.open(sanitized)
    a.load()
    b.load()
    same = a.size == b.size and a.mode == b.mode and a.tobytes() == b.tobytes()
    print(f"{'ok  ' if same else 'DIFF'} {original} {a.size}->{b.size}")
    failed += not same
sys.exit(1 if failed else 0)
