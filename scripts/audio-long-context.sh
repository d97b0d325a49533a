#!/usr/bin/env bash
# The Mamba paper's long-context audio figure, redone on the piano set (scripts/make-piano-set.sh):
# one waveform LM per training context (default 8k, 32k, 128k and 512k samples at 16 kHz, i.e.
# 0.5 s to 33 s), every run seeing the same tokens (TOKENS_PER_STEP per step: batch = TOKENS_PER_STEP
# / context, same STEPS), then held-out bits per sample of each model on every sample of the test
# pieces (pieces never heard in training), scored with `audio score --context L` (the state reset
# every L samples, L = that model's training context), so all models are scored on the same pieces
# (the first sample of each L-window has no context and is not scored: 0.3% of the samples at L = 256,
# 0.0002% at 512k).
# Prints a table and writes OUT/long-context.tsv, OUT/long-context.svg (bits/sample against context) and
# OUT/report.html (that chart, and every context's training curve and held-out numbers).
#
#   scripts/audio-long-context.sh [--out DIR] [--device cuda] [--tiny]
#
# On a GPU (defaults): --device cuda --precision fp32 --recompute-activations (a 512k window of a
# d_model 128 x 6-layer model then needs a few GB), STEPS=600 x 524,288 samples (315M samples, about
# 2.7 epochs of the 2 h training pieces) per context: about 8.2 minutes of training and scoring for the
# four contexts on one H200 (2.8-3.0M samples/s; 8k, 32k and 128k in 359 s, 512k in 134 s). KEEP=1
# keeps a context already trained and scored in OUT with the same train-lm options (so the contexts
# can be run a few at a time, e.g. in calls of limited length, and the last run prints the whole
# table). The set is read from PIANO (default ~/.cache/ssmtk/piano/mulaw; elsewhere
# `cat piano-16k-mulaw.tar.xz.part-* | tar -xJ` gives mulaw/; built here if missing and fluidsynth
# is installable).
# Every context trains on the same samples in the same order: each step draws TOKENS_PER_STEP /
# DRAW_LENGTH (default 1) stretches of DRAW_LENGTH (default TOKENS_PER_STEP) samples and cuts them
# into windows of the context (train-lm --draw-length), so the runs differ only in how far back a
# window's state reaches. DRAW_LENGTH=0 draws independent windows instead: a step of context L then
# averages over TOKENS_PER_STEP / L unrelated windows (64 at 8k, 1 at 512k), and the comparison is
# also one of gradient noise; those runs (2026-11-29/30, 150 and 600 steps) got worse with context.
# Contexts of at least 4 x SLW_START (default 8192; 0 turns it off) spend the first half of their
# steps in a sequence-length warmup from SLW_START (train-lm --seq-len-warmup; same samples per
# step), as the long DNA runs do: the 2026-11-29 runs without it got worse with context.
# DT_MIN (default 0.001, the reference's) is the smallest initial Δ of the fresh models (train-lm
# --dt-min). With 1e-6, so that some channels start out remembering as far back as the longest
# context, 32k and 128k came out level (2026-11-30; README).
# --tiny: the same pipeline on the CPU in 2-3 minutes on 2 shared cores, on test-data/audio/piano (contexts 256,
# 1024, 4096; a d_model 16 x 1-layer model; 6 steps): a check that the script runs, not a result.
# Variables: PIANO CONTEXTS TOKENS_PER_STEP STEPS SLW_START DRAW_LENGTH D_MODEL LAYERS DT_MIN LR THREADS SCORE_OPTS (audio score's
# --chunk/--batch: on a GPU 16,384 x 32 pieces, the samples of one training step) SSMTK (the launcher)
# EXTRA (more train-lm options, e.g. "--precision bf16"); LABEL (this run's name in the plot) and
# COMPARE ("LABEL=FILE.tsv;...": earlier runs' long-context.tsv drawn beside it).
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
DT_MIN=${DT_MIN:-0.001}
mkdir -p "$OUT"
IFS=, read -ra CTX <<< "$CONTEXTS"
DRAW_LENGTH=${DRAW_LENGTH:-$TOKENS_PER_STEP}
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
python3 scripts/long-context-table.py "$OUT" "$CONTEXTS" "$TOKENS_PER_STEP" "$STEPS" "$D_MODEL" "$LAYERS" "$DRAW_LENGTH" "$DT_MIN"
# the report: every context's training curve and held-out numbers, and bits/sample against context
"$SSMTK" report html --input "$OUT" --title "Piano LM: held-out bits/sample against training context" --output "$OUT/report.html"
