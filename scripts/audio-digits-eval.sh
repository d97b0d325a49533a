#!/usr/bin/env bash
# Evidence for the audio module on espeak-ng spoken digits (scripts/make-audio-digits.py), in one run:
#  1. waveform LM: ssmtk audio train-lm held-out bits per sample vs add-one unigram/bigram baselines
#     of the mu-law codes (fitted on the training clips, scored on the same windows: train-lm's eval.json),
#     on the 1-second clips (about 60% digital silence) and on the same words without padding
#     (make-audio-digits.py --no-pad), where every sample is speech (windows of SPEECH_LEN: most words
#     are shorter than LM_LEN, and training windows must fit in a clip);
#  2. clip classification: ssmtk audio train-classifier (a small Mamba on raw mu-law samples, by
#     default fine-tuned from the LM of step 1; CLS_INIT=fresh for a fresh one) vs ssmtk audio
#     mfcc-baseline (pooled MFCCs + softmax regression), same train/test manifests (test voices never
#     heard in training).
# Prints two tables. Sizes are for 2 CPU cores (~25 min); scale with the variables below.
# CLIP_RATE=16000 makes (and reads) the clips at SC09's 16 kHz (~/.cache/ssmtk/audio-digits-16000) instead of 8 kHz;
# RATE=16000 then trains at that rate.
#   scripts/audio-digits-eval.sh [OUT] [--device cuda]
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-out/audio-digits}; shift || true
SSMTK=${SSMTK:-bin/ssmtk}
CLIP_RATE=${CLIP_RATE:-8000}  # the rate the clips are made at (8000: the cache's original folders keep their names)
SUFFIX=$([ "$CLIP_RATE" = 8000 ] || echo "-$CLIP_RATE")
DATA=${DATA:-$HOME/.cache/ssmtk/audio-digits$SUFFIX}
SPEECH=${SPEECH:-$HOME/.cache/ssmtk/audio-digits-unpadded$SUFFIX}
RATE=${RATE:-4000}          # the classifier and LM rate; the clips are resampled to it on reading
CLS_STEPS=${CLS_STEPS:-250} CLS_LEN=${CLS_LEN:-4000} LM_STEPS=${LM_STEPS:-250} LM_LEN=${LM_LEN:-2048} SPEECH_LEN=${SPEECH_LEN:-1024} CLS_INIT=${CLS_INIT:-lm}
D_MODEL=${D_MODEL:-32} LAYERS=${LAYERS:-2} THREADS=${THREADS:-2}
[ -f "$DATA/train.tsv" ] || python3 scripts/make-audio-digits.py --rate "$CLIP_RATE" --out "$DATA"
[ -f "$SPEECH/train.tsv" ] || python3 scripts/make-audio-digits.py --rate "$CLIP_RATE" --no-pad --out "$SPEECH"
mkdir -p "$OUT"
rm -rf "$OUT/mfcc-$RATE" "$OUT/mfcc-$CLIP_RATE" "$OUT/cls" "$OUT/lm" "$OUT/lm-speech"
set -x
"$SSMTK" audio mfcc-baseline --manifest "$DATA/train.tsv" --test-manifest "$DATA/test.tsv" --out "$OUT/mfcc-$RATE" --sample-rate "$RATE"
[ "$CLIP_RATE" = "$RATE" ] || "$SSMTK" audio mfcc-baseline --manifest "$DATA/train.tsv" --test-manifest "$DATA/test.tsv" --out "$OUT/mfcc-$CLIP_RATE" --sample-rate "$CLIP_RATE"
"$SSMTK" audio train-lm --manifest "$DATA/train.tsv" --test-manifest "$DATA/test.tsv" --out "$OUT/lm" --sample-rate "$RATE" \
    --d-model "$D_MODEL" --layers "$LAYERS" --seq-len "$LM_LEN" --batch 8 --steps "$LM_STEPS" --lr 3e-3 --warmup 10 \
    --eval-windows 200 --log-every 10 --threads "$THREADS" "$@"
"$SSMTK" audio train-lm --manifest "$SPEECH/train.tsv" --test-manifest "$SPEECH/test.tsv" --out "$OUT/lm-speech" --sample-rate "$RATE" \
    --d-model "$D_MODEL" --layers "$LAYERS" --seq-len "$SPEECH_LEN" --batch 8 --steps "$LM_STEPS" --lr 3e-3 --warmup 10 \
    --eval-windows 200 --log-every 10 --threads "$THREADS" "$@"
if [ "$CLS_INIT" = lm ]; then init=(--model "$OUT/lm/model"); else init=(--d-model "$D_MODEL" --layers "$LAYERS"); fi
"$SSMTK" audio train-classifier --manifest "$DATA/train.tsv" --test-manifest "$DATA/test.tsv" --out "$OUT/cls" --sample-rate "$RATE" \
    "${init[@]}" --seq-len "$CLS_LEN" --batch 8 --steps "$CLS_STEPS" --lr 3e-3 --warmup 10 \
    --log-every 10 --threads "$THREADS" "$@"
set +x
python3 - "$OUT" "$RATE" "$CLS_INIT" "$CLIP_RATE" <<'PY'
import json, sys
out, rate, init, clip_rate = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
def ev(p): return json.load(open(f"{out}/{p}/eval.json"))
print(f"\nclassification (test voices unseen), {ev('cls')['examples']} test clips")
print("| method | rate | accuracy | macro-F1 |\n|---|---|---|---|")
c = ev("cls")
how = "fine-tuned from the LM" if init == "lm" else "fresh"
print(f"| ssmtk Mamba classifier (raw mu-law, {how}, {c['step']} steps) | {rate} Hz | {c['accuracy']:.4f} | {c['macro_f1']:.4f} |")
for r in dict.fromkeys((rate, clip_rate)):
    m = ev(f"mfcc-{r}")
    print(f"| MFCC mean/std + softmax regression | {r} Hz | {m['accuracy']:.4f} | {m['macro_f1']:.4f} |")
print("\nwaveform LM, held-out bits per sample on the unseen voices (8 = uncompressed)")
print("| clips | scored samples (windows) | ssmtk audio train-lm | mu-law bigram, add-one | mu-law unigram, add-one |\n|---|---|---|---|---|")
for name, what in (("lm", "1 s, padded with silence"), ("lm-speech", "words only (--no-pad)")):
    l = ev(name)
    print(f"| {what} | {l['samples']} ({l['windows']}) | {l['bits_per_sample']:.4f} ({l['step']} steps) | {l['bigram_bits_per_sample']:.4f} | {l['unigram_bits_per_sample']:.4f} |")
PY
