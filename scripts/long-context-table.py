#!/usr/bin/env python3
"""The table and figure of scripts/audio-long-context.sh from its OUT folder (OUT/ctx-L/test-scores.tsv and
eval.json for every context L): prints a Markdown table, writes OUT/long-context.tsv and OUT/long-context.svg.
Also run alone to redraw a finished run's figure, e.g. with earlier runs beside it:

  COMPARE="600 steps, independent windows=docs/figures/piano-long-context-independent.tsv" \\
    python3 scripts/long-context-table.py OUT 8192,32768,131072,524288 524288 600 128 6 524288 0.001
"""
import json, sys
out, contexts, tps, steps, d, layers = sys.argv[1], [int(c) for c in sys.argv[2].split(",")], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], sys.argv[6]
draw, dt_min = int(sys.argv[7]), sys.argv[8]
rows = []
for L in contexts:
    bits = scored = 0.0
    with open(f"{out}/ctx-{L}/test-scores.tsv") as f:
        next(f)
        for line in f:
            _id, _n, _s, k, b = line.rstrip("\n").split("\t")
            if b != "NA":
                bits += float(b) * int(k)
                scored += int(k)
    ev = json.load(open(f"{out}/ctx-{L}/eval.json"))
    rows.append((L, tps // L, bits / scored, int(scored), ev["step"]))
with open(f"{out}/long-context.tsv", "w") as f:
    f.write("context\tbatch\tsteps\ttokens_seen\ttest_bits_per_sample\tscored_samples\n")
    for L, b, bps, n, step in rows:
        f.write(f"{L}\t{b}\t{step}\t{L * b * step}\t{bps:.6f}\t{n}\n")
print(f"\npiano LM (d_model {d} x {layers} layers, initial Δ from {dt_min}), held-out pieces scored at the training context, {steps} steps of {tps:,} samples"
      + (f", every context on the same {draw:,}-sample draws" if draw else ", independent windows per context"))
print("| training context (samples) | seconds at 16 kHz | batch | samples seen | test bits/sample (8 = uncompressed) | scored samples |\n|---|---|---|---|---|---|")
for L, b, bps, n, step in rows:
    print(f"| {L:,} | {L / 16000:.2f} | {b} | {L * b * step:,} | {bps:.4f} | {n:,} |")
falling = all(rows[i + 1][2] < rows[i][2] for i in range(len(rows) - 1))
print(f"falls monotonically with context: {'yes' if falling else 'no'}")
# The plot as SVG, drawn here so that it needs nothing beyond python3.
# The plot as SVG, drawn here so that it needs nothing beyond python3: this run, then any COMPARE series
# ("LABEL=FILE.tsv;LABEL=FILE.tsv", long-context.tsv files of earlier runs) with a legend.
import os
label = os.environ.get("LABEL") or f"{steps} steps, " + (f"same {draw // 1024}k draws" if draw else "independent windows")
series = [(label, [(r[0], r[2]) for r in rows])]
for item in filter(None, os.environ.get("COMPARE", "").split(";")):
    name, path = item.split("=", 1)
    with open(path) as f:
        next(f)
        series.append((name, [(int(c[0]), float(c[4])) for c in (l.rstrip("\n").split("\t") for l in f if l.strip())]))
colors = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e"]
W, H, M = 640, 400, 60
all_x = sorted({c for _, pts in series for c, _ in pts})
ys = [y for _, pts in series for _, y in pts]
lo, hi = min(ys), max(ys)
pad = max((hi - lo) * 0.15, 0.01)
lo, hi = lo - pad, hi + pad
x0, x1 = min(all_x).bit_length() - 1.5, max(all_x).bit_length() - 0.5
def px(c): return M + (c.bit_length() - 1 - x0) / (x1 - x0) * (W - 2 * M)
def py(y): return H - M - (y - lo) / (hi - lo) * (H - 2 * M)
svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="12">',
       f'<rect width="{W}" height="{H}" fill="white"/>',
       f'<text x="{W / 2}" y="24" text-anchor="middle" font-size="14">Piano LM: held-out bits/sample vs training context (equal samples seen)</text>',
       f'<line x1="{M}" y1="{H - M}" x2="{W - M}" y2="{H - M}" stroke="black"/><line x1="{M}" y1="{M}" x2="{M}" y2="{H - M}" stroke="black"/>']
for c in all_x:
    svg.append(f'<text x="{px(c):.1f}" y="{H - M + 18}" text-anchor="middle">{f"{c // 1024}k" if c >= 1024 else c}</text>')
for i in range(5):
    y = lo + (hi - lo) * i / 4
    svg.append(f'<text x="{M - 6}" y="{py(y) + 4:.1f}" text-anchor="end">{y:.3f}</text>')
    svg.append(f'<line x1="{M}" y1="{py(y):.1f}" x2="{W - M}" y2="{py(y):.1f}" stroke="#ddd"/>')
for k, (name, pts) in enumerate(series):
    color = colors[k % len(colors)]
    svg.append(f'<polyline fill="none" stroke="{color}" stroke-width="2" points="' + " ".join(f"{px(c):.1f},{py(y):.1f}" for c, y in pts) + '"/>')
    svg += [f'<circle cx="{px(c):.1f}" cy="{py(y):.1f}" r="4" fill="{color}"/>' for c, y in pts]
    if len(series) > 1:
        svg.append(f'<line x1="{M + 20}" y1="{M + 6 + 18 * k}" x2="{M + 40}" y2="{M + 6 + 18 * k}" stroke="{color}" stroke-width="2"/>')
        svg.append(f'<text x="{M + 46}" y="{M + 10 + 18 * k}">{name}</text>')
svg.append(f'<text x="{W / 2}" y="{H - 16}" text-anchor="middle">training context (samples, log scale)</text>')
svg.append(f'<text x="16" y="{H / 2}" transform="rotate(-90 16 {H / 2})" text-anchor="middle">bits per sample</text></svg>')
open(f"{out}/long-context.svg", "w").write("\n".join(svg) + "\n")
print(f"-> {out}/long-context.tsv, {out}/long-context.svg")
