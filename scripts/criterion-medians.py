#!/usr/bin/env python3
"""Prints the median (and 95% CI of the median) of every criterion benchmark
under target/criterion/ (the last `cargo bench` run), with throughput.

    cargo bench -p sealcam-core --bench sanitize && scripts/criterion-medians.py

MB/s is 10^6 bytes per second; GiB/s is 2^30 bytes per second (what
criterion prints).
"""
import json
import os
import sys
from pathlib import Path

root = Path(sys.argv[1]) if len(sys.argv) > 1 else (
    Path(os.environ.get("CARGO_TARGET_DIR", Path(__file__).resolve().parent.parent / "target"))
    / "criterion"
)
rows = []
for est in sorted(root.glob("*/*/new/estimates.json")):
    bench = json.loads((est.parent / "benchmark.json").read_text())
    e = json.loads(est.read_text())
    med = e["median"]["point_estimate"]  # nanoseconds
    ci = e["median"]["confidence_interval"]
    nbytes = (bench.get("throughput") or {}).get("Bytes")
    rows.append((bench["full_id"], med, ci["lower_bound"], ci["upper_bound"], nbytes))
if not rows:
    sys.exit(f"no criterion results under {root}: run cargo bench first")
print("| benchmark | median | 95% CI of median | input bytes | MB/s | GiB/s |")
print("|:---|---:|---:|---:|---:|---:|")
for name, med, lo, hi, n in rows:
    thr = f"{n / med * 1e3:,.0f} | {n / med * 1e9 / 2**30:.2f}" if n else " | "
    print(f"| {name} | {med / 1e6:.3f} ms | {lo / 1e6:.3f}–{hi / 1e6:.3f} ms | {n or ''} | {thr} |")
