#!/usr/bin/env bash
# The Mamba paper's long-context audio figure, redone on the piano set (scripts/make-piano-set.sh):
# one waveform LM per training context (default 8k, 32k, 128k and 512k samples at 16 kHz, i.e.
# 0.5 s to 33 s), every run seeing the same tokens (TOKENS_PER_STEP per step: batch = TOKENS_PER_STEP
# / context, same STEPS), then held-out bits per sample of each model on every sample of the test
# pieces (pieces never heard in training), scored with `audio score --context L` (the state reset
# every L samples, L = that model's training context), so all models are scored on the same pieces
# (the first sample of each L-window has no context and is not scored: 0.3% of the samples at L = 256,
# 0.0002% at 512k).
# Prints a table and writes OUT/long-context.tsv and OUT/long-context.svg (bits/sample against context).
#
#   scripts/audio-long-context.sh [--out DIR] [--device cuda] [--tiny]
#
# On a GPU (defaults): --device cuda --precision fp32 --recompute-activations (a 512k window of a
# d_model 128 x 6-layer model then needs a few GB), STEPS=600 x 524,288 samples (315M samples, about
# 2.7 epochs of the 2 h training pieces) per context: 11 minutes for the four contexts on one H200
# (2.8-2.9M samples/s; scoring the held-out pieces took ~40 s a context before audio score fed a
# clip's pieces side by side, SCORE_OPTS below). KEEP=1 keeps a context already
# trained and scored in OUT with the same train-lm options (so the contexts can be run a few at a time, e.g. in
# calls of limited length, and the last run prints the whole table). The set is read from PIANO (default ~/.cache/ssmtk/piano/mulaw; elsewhere
# `cat piano-16k-mulaw.tar.xz.part-* | tar -xJ` gives mulaw/; built here if missing and fluidsynth
# is installable).
# Contexts of at least 4 x SLW_START (default 8192; 0 turns it off) spend the first half of their
# steps in a sequence-length warmup from SLW_START (train-lm --seq-len-warmup; same samples per
# step), as the long DNA runs do: the 2026-11-29 runs without it got worse with context.
# DRAW_LENGTH (default: the longest context; 0 = off) makes every context train on the same samples in
# the same order: each step draws TOKENS_PER_STEP / DRAW_LENGTH stretches of DRAW_LENGTH samples and cuts
# them into windows of the context (train-lm --draw-length), so the runs differ only in how far back a
# window's state reaches. Without it a step of context L averages over TOKENS_PER_STEP / L independent
# windows (64 at 8k, 1 at 512k), and the comparison is also one of gradient noise: the 2026-11-29/30
# runs that drew independent windows got worse with context at 150 and 600 steps.
# DT_MIN (default 1e-6) is the smallest initial Δ of the fresh models (train-lm --dt-min; the
# reference's is 0.001): a channel forgets over about 1/Δ samples, so with the reference's range no
# channel of a fresh model remembers more than ~1,000 samples, far less than the longer contexts.
# --tiny: the same pipeline on the CPU in 2-3 minutes on 2 shared cores, on test-data/audio/piano (contexts 256,
# 1024, 4096; a d_model 16 x 1-layer model; 6 steps): a check that the script runs, not a result.
# Variables: PIANO CONTEXTS TOKENS_PER_STEP STEPS SLW_START DRAW_LENGTH D_MODEL LAYERS DT_MIN LR THREADS SCORE_OPTS (audio score's
# --chunk/--batch: on a GPU 16,384 x 32 pieces, the samples of one training step) SSMTK (the launcher)
# EXTRA (more train-lm options, e.g. "--precision bf16").
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=out/audio-long-context DEVICE=cuda TINY=
while [ $# -gt 0 ]; do
    case "$1" in
        --out) OUT=$2; shift 2 ;;
        --device) DEVICE=$2; shift 2 ;;
        --tiny) TINY=1; shift ;;
        *) echo "audio-long-context.sh: unknown argument $1" >&2; exit 1 ;;
    esac
done
SSMTK=${SSMTK:-bin/ssmtk}
if [ -n "$TINY" ]; then
    PIANO=${PIANO:-test-data/audio/piano} CONTEXTS=${CONTEXTS:-256,1024,4096} TOKENS_PER_STEP=${TOKENS_PER_STEP:-8192}
    STEPS=${STEPS:-6} SLW_START=${SLW_START:-256} D_MODEL=${D_MODEL:-16} LAYERS=${LAYERS:-1} LR=${LR:-3e-3} THREADS=${THREADS:-2}
    [ "$DEVICE" = cuda ] && DEVICE=cpu
    SCORE_OPTS=${SCORE_OPTS:-}
else
    PIANO=${PIANO:-$HOME/.cache/ssmtk/piano/mulaw} CONTEXTS=${CONTEXTS:-8192,32768,131072,524288} TOKENS_PER_STEP=${TOKENS_PER_STEP:-524288}
    SCORE_OPTS=${SCORE_OPTS:---chunk 16384 --batch 32}
    STEPS=${STEPS:-600} SLW_START=${SLW_START:-8192} D_MODEL=${D_MODEL:-128} LAYERS=${LAYERS:-6} LR=${LR:-2e-3} THREADS=${THREADS:-16}
    [ -f "$PIANO/train.tsv" ] || scripts/make-piano-set.sh --out "$(dirname "$PIANO")"
fi
[ -f "$PIANO/train.tsv" ] && [ -f "$PIANO/test.tsv" ] || { echo "audio-long-context.sh: no $PIANO/train.tsv and test.tsv (scripts/make-piano-set.sh)" >&2; exit 1; }
DT_MIN=${DT_MIN:-1e-6}
mkdir -p "$OUT"
IFS=, read -ra CTX <<< "$CONTEXTS"
LONGEST=0; for L in "${CTX[@]}"; do [ "$L" -gt "$LONGEST" ] && LONGEST=$L; done
DRAW_LENGTH=${DRAW_LENGTH:-$LONGEST}
DRAW=(); [ "$DRAW_LENGTH" -gt 0 ] && DRAW=(--draw-length "$DRAW_LENGTH")
for L in "${CTX[@]}"; do
    B=$((TOKENS_PER_STEP / L))
    [ "$B" -ge 1 ] || { echo "audio-long-context.sh: TOKENS_PER_STEP $TOKENS_PER_STEP is below context $L" >&2; exit 1; }
    SLW=()
    stages=0; if [ "$SLW_START" -gt 0 ]; then for ((l = SLW_START; l < L; l *= 2)); do stages=$((stages + 1)); done; fi
    # (a warmup needs a step per short stage: with too few steps the context trains without one)
    if [ "$SLW_START" -gt 0 ] && [ "$L" -ge $((4 * SLW_START)) ] && [ $((STEPS / 2)) -ge "$stages" ]; then
        SLW=(--seq-len-warmup "$SLW_START" --seq-len-warmup-steps $((STEPS / 2)))
    fi
    # shellcheck disable=SC2206
    TRAIN=(--manifest "$PIANO/train.tsv" --test-manifest "$PIANO/test.tsv" --out "$OUT/ctx-$L" --sample-rate 16000
        --d-model "$D_MODEL" --layers "$LAYERS" --seq-len "$L" --batch "$B" --steps "$STEPS" --lr "$LR" --warmup $((STEPS / 10 + 1))
        --eval-windows 8 --dt-min "$DT_MIN" --checkpoint-every 0 --log-every 10 --seed 1 --device "$DEVICE" --threads "$THREADS"
        --recompute-activations "${DRAW[@]}" "${SLW[@]}" ${EXTRA:-})
    if [ "${KEEP:-0}" = 1 ] && [ -f "$OUT/ctx-$L/test-scores.tsv" ] && [ "$(cat "$OUT/ctx-$L/train-args.txt" 2>/dev/null)" = "${TRAIN[*]}" ]; then
        echo "audio-long-context.sh: keeping $OUT/ctx-$L (trained and scored with the same train-lm options)" >&2
        continue
    fi
    rm -rf "$OUT/ctx-$L"
    set -x
    "$SSMTK" audio train-lm "${TRAIN[@]}"
    # shellcheck disable=SC2086
    "$SSMTK" audio score --model "$OUT/ctx-$L/model" --manifest "$PIANO/test.tsv" --output "$OUT/ctx-$L/test-scores.tsv" --context "$L" \
        --device "$DEVICE" --threads "$THREADS" $SCORE_OPTS
    { set +x; } 2>/dev/null
    echo "${TRAIN[*]}" > "$OUT/ctx-$L/train-args.txt"
done
python3 - "$OUT" "$CONTEXTS" "$TOKENS_PER_STEP" "$STEPS" "$D_MODEL" "$LAYERS" "$DRAW_LENGTH" "$DT_MIN" <<'PY'
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
W, H, M = 640, 400, 60
xs = [c.bit_length() - 1 for c, *_ in rows]
ys = [r[2] for r in rows]
lo, hi = min(ys), max(ys)
pad = max((hi - lo) * 0.15, 0.01)
lo, hi = lo - pad, hi + pad
x0, x1 = min(xs) - 0.5, max(xs) + 0.5
def px(x): return M + (x - x0) / (x1 - x0) * (W - 2 * M)
def py(y): return H - M - (y - lo) / (hi - lo) * (H - 2 * M)
svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="12">',
       f'<rect width="{W}" height="{H}" fill="white"/>',
       f'<text x="{W / 2}" y="24" text-anchor="middle" font-size="14">Piano LM: held-out bits/sample vs training context (equal samples seen)</text>',
       f'<line x1="{M}" y1="{H - M}" x2="{W - M}" y2="{H - M}" stroke="black"/><line x1="{M}" y1="{M}" x2="{M}" y2="{H - M}" stroke="black"/>']
for x, (L, *_r) in zip(xs, rows):
    label = f"{L // 1024}k" if L >= 1024 else str(L)
    svg.append(f'<text x="{px(x):.1f}" y="{H - M + 18}" text-anchor="middle">{label}</text>')
for i in range(5):
    y = lo + (hi - lo) * i / 4
    svg.append(f'<text x="{M - 6}" y="{py(y) + 4:.1f}" text-anchor="end">{y:.3f}</text>')
    svg.append(f'<line x1="{M}" y1="{py(y):.1f}" x2="{W - M}" y2="{py(y):.1f}" stroke="#ddd"/>')
svg.append('<polyline fill="none" stroke="#1f77b4" stroke-width="2" points="' + " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in zip(xs, ys)) + '"/>')
for x, y in zip(xs, ys):
    svg.append(f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="4" fill="#1f77b4"/>')
svg.append(f'<text x="{W / 2}" y="{H - 16}" text-anchor="middle">training context (samples, log scale)</text>')
svg.append(f'<text x="16" y="{H / 2}" transform="rotate(-90 16 {H / 2})" text-anchor="middle">bits per sample</text></svg>')
open(f"{out}/long-context.svg", "w").write("\n".join(svg) + "\n")
print(f"-> {out}/long-context.tsv, {out}/long-context.svg")
PY
