#!/usr/bin/env bash
# Spoken-digit generation measured the way SaShiMi and Mamba measure SC09 generation, with ssmtk's
# own classifier in place of theirs (so the numbers compare across ssmtk runs, not with the papers'):
#  1. a waveform LM (audio train-lm) on the training voices of the espeak-ng digits at 16 kHz
#     (scripts/make-audio-digits.py --rate 16000), held-out bits/sample on the unseen test voices;
#  2. a digit classifier (audio train-classifier, fresh: it shares nothing with the generator) on
#     the same training clips, its accuracy on the test voices;
#  3. GEN clips of 1 s generated unconditionally (audio generate --count: one batch), and GEN
#     prompt-continued clips: the first PROMPT_S seconds of test clips (PROMPTS of them, one per
#     digit in turn, each holding PROMPT_SPEECH_S or more of its digit) continued to 1 s, GEN /
#     PROMPTS continuations of each;
#  4. audio score-generation of both sets against the real test clips: Inception Score, modified IS,
#     Frechet distance of classifier embeddings; spectrograms of the first clips;
#  5. classification on the unseen voices: the LM of step 1 fine-tuned into a digit classifier (a new
#     head on its hidden state, FT_STEPS steps; 0 skips it) beside audio mfcc-baseline at the same rate.
# Prints a table (and OUT/generation.md); the issue's goal is a generated IS within 20% of the real
# clips' IS.
#
#   scripts/audio-digits-generate.sh [--out DIR] [--device cuda] [--tiny]
#
# GPU defaults: d_model 128 x 6 layers LM (LM_STEPS 2500, batch 32 x 16,000 samples: 1.28G samples,
# about 25 epochs of the 3,160 training clips; 6.5 min at 3.3M samples/s on one H200), a d_model
# 64 x 4 classifier (CLS_STEPS 600, ~1 min), GEN 250 clips each way (10 prompts, one per digit, 25
# continuations each; generating and scoring both sets ~20 s), the fine-tune and the MFCC baseline
# about 1.5 min more (more LM steps raised the IS: 600, 1000, 2500 steps gave 0.54, 0.57, 0.66 of the
# real clips' IS). --tiny runs the same pipeline on the CPU
# on test-data/audio/digits at 4 kHz with tiny models in a few minutes: a check that it runs.
# A GPU machine without espeak-ng gets the set packed here: scripts/pack-audio-set.sh
# ~/.cache/ssmtk/audio-digits-16000 digits-16k (G.711 mu-law, xz, 30 MB parts), unpacked there into DATA.
# Variables: DATA RATE LM_STEPS LM_BATCH LM_D LM_LAYERS LM_DT_MIN (the LM's smallest initial Δ) CLS_STEPS CLS_BATCH CLS_D CLS_LAYERS GEN PROMPTS
# PROMPT_S PROMPT_SPEECH_S TOP_K TEMPERATURE THREADS SSMTK EXTRA (more options for both trainers, e.g. "--precision bf16"),
# LM_EXTRA (for the LM's alone: the classifier that scores stays as it was), REUSE_MODELS and RESUME (below).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=out/audio-digits-generate DEVICE=cuda TINY=
while [ $# -gt 0 ]; do
    case "$1" in
        --out) OUT=$2; shift 2 ;;
        --device) DEVICE=$2; shift 2 ;;
        --tiny) TINY=1; shift ;;
        *) echo "audio-digits-generate.sh: unknown argument $1" >&2; exit 1 ;;
    esac
done
SSMTK=${SSMTK:-bin/ssmtk}
if [ -n "$TINY" ]; then
    DATA=${DATA:-test-data/audio/digits} RATE=${RATE:-4000} LM_STEPS=${LM_STEPS:-4} LM_BATCH=${LM_BATCH:-4} LM_D=${LM_D:-16} LM_LAYERS=${LM_LAYERS:-1}
    CLS_STEPS=${CLS_STEPS:-4} FT_STEPS=${FT_STEPS:-4} CLS_BATCH=${CLS_BATCH:-4} CLS_D=${CLS_D:-16} CLS_LAYERS=${CLS_LAYERS:-1} GEN=${GEN:-4} PROMPTS=${PROMPTS:-2}
    THREADS=${THREADS:-2} PROMPT_S=${PROMPT_S:-0.8} # the committed test clips' digits start up to 0.69 s in
    [ "$DEVICE" = cuda ] && DEVICE=cpu
else
    DATA=${DATA:-$HOME/.cache/ssmtk/audio-digits-16000} RATE=${RATE:-16000} LM_STEPS=${LM_STEPS:-2500} LM_BATCH=${LM_BATCH:-32} LM_D=${LM_D:-128}
    LM_LAYERS=${LM_LAYERS:-6} CLS_STEPS=${CLS_STEPS:-600} FT_STEPS=${FT_STEPS:-400} CLS_BATCH=${CLS_BATCH:-32} CLS_D=${CLS_D:-64} CLS_LAYERS=${CLS_LAYERS:-4} GEN=${GEN:-250}
    PROMPTS=${PROMPTS:-10} THREADS=${THREADS:-16}
    [ -f "$DATA/train.tsv" ] || python3 scripts/make-audio-digits.py --rate 16000 --out "$DATA"
fi
PROMPT_S=${PROMPT_S:-0.25} PROMPT_SPEECH_S=${PROMPT_SPEECH_S:-0.1} TOP_K=${TOP_K:-0} TEMPERATURE=${TEMPERATURE:-1}
LM_DT_MIN=${LM_DT_MIN:-0.001}
# LM_WARMUP is the LM's warmup steps; a resumed run that grows LM_STEPS keeps the first run's.
LM_WARMUP=${LM_WARMUP:-$((LM_STEPS / 10 + 1))}
[ -f "$DATA/train.tsv" ] && [ -f "$DATA/test.tsv" ] || { echo "audio-digits-generate.sh: no $DATA/train.tsv and test.tsv" >&2; exit 1; }
# REUSE_MODELS=1 keeps OUT/lm and OUT/cls of an earlier run (only generation and scoring run again).
# RESUME=1 keeps OUT and goes on where an interrupted run stopped: the LM from its last checkpoint
# (written every LM_CHECKPOINT_EVERY steps, default 250 with RESUME=1), a model already trained is
# not trained again; so a run longer than a call's time limit finishes in the next call.
LM_CHECKPOINT_EVERY=${LM_CHECKPOINT_EVERY:-$([ "${RESUME:-0}" = 1 ] && echo 250 || echo 0)}
trained() { [ -f "$1/eval.json" ] && [ -d "$1/model" ]; }
if [ "${REUSE_MODELS:-0}" = 1 ] && [ -d "$OUT/lm/model" ] && [ -d "$OUT/cls/model" ]; then
    find "$OUT" -mindepth 1 -maxdepth 1 ! -name lm ! -name cls ! -name cls-ft -exec rm -rf {} +; reuse=1
elif [ "${RESUME:-0}" = 1 ]; then
    find "$OUT" -mindepth 1 -maxdepth 1 ! -name lm ! -name cls -exec rm -rf {} + 2>/dev/null || true; reuse=
else
    rm -rf "$OUT"; reuse=
fi
mkdir -p "$OUT/prompts"
run() { echo "+ $*" >&2; "$@"; }
if [ -z "$reuse" ]; then
LM_RESUME=(); [ -d "$OUT/lm/checkpoints" ] && LM_RESUME=(--resume)
if [ "${RESUME:-0}" = 1 ] && trained "$OUT/lm" \
    && python3 -c "import json,sys; sys.exit(json.load(open('$OUT/lm/eval.json'))['step'] != $LM_STEPS)"; then
    echo "audio-digits-generate.sh: keeping $OUT/lm (trained $LM_STEPS steps)" >&2
else
# shellcheck disable=SC2086
run "$SSMTK" audio train-lm --manifest "$DATA/train.tsv" --test-manifest "$DATA/test.tsv" --out "$OUT/lm" --sample-rate "$RATE" \
    --d-model "$LM_D" --layers "$LM_LAYERS" --seq-len "$RATE" --batch "$LM_BATCH" --steps "$LM_STEPS" --lr 2e-3 --warmup "$LM_WARMUP" \
    --eval-windows 400 --dt-min "$LM_DT_MIN" --checkpoint-every "$LM_CHECKPOINT_EVERY" --log-every 50 --seed 1 --device "$DEVICE" --threads "$THREADS" \
    "${LM_RESUME[@]}" ${EXTRA:-} ${LM_EXTRA:-}
fi
if [ "${RESUME:-0}" = 1 ] && trained "$OUT/cls"; then
    echo "audio-digits-generate.sh: keeping $OUT/cls (trained)" >&2
else
rm -rf "$OUT/cls"
# shellcheck disable=SC2086
run "$SSMTK" audio train-classifier --manifest "$DATA/train.tsv" --test-manifest "$DATA/test.tsv" --out "$OUT/cls" --sample-rate "$RATE" \
    --d-model "$CLS_D" --layers "$CLS_LAYERS" --seq-len "$RATE" --batch "$CLS_BATCH" --steps "$CLS_STEPS" --lr 2e-3 --warmup $((CLS_STEPS / 10 + 1)) \
    --checkpoint-every 0 --log-every 50 --seed 1 --device "$DEVICE" --threads "$THREADS" ${EXTRA:-}
fi
fi
run "$SSMTK" audio generate --model "$OUT/lm/model" --seconds 1 --count "$GEN" --output "$OUT/unconditional" --seed 1 --top-k "$TOP_K" --temperature "$TEMPERATURE" \
    --device "$DEVICE" --threads "$THREADS"
# Prompts: the first PROMPT_S seconds of test clips, one digit after another (16-bit WAVs at RATE),
# each from a clip whose digit starts PROMPT_SPEECH_S or more before the prompt ends.
python3 - "$DATA/test.tsv" "$OUT/prompts" "$PROMPTS" "$PROMPT_S" "$PROMPT_SPEECH_S" <<'PY'
import os, struct, sys, wave
manifest, out, n, seconds, speech = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])
rows = [l.split("\t") for l in open(manifest).read().splitlines()[1:] if l and not l.startswith("#")]
by_label = {}
for r in rows:
    by_label.setdefault(r[1] if len(r) > 1 else "", []).append(r[0])
labels = sorted(by_label)


def read_wav(path):
    """(rate, 16-bit little-endian PCM bytes) of a mono WAV of 16-bit PCM or G.711 mu-law (format 7,
    as scripts/pack-audio-set.sh writes them), which Python's wave module does not read."""
    data = open(path, "rb").read()
    pos, fmt, rate, bits, pcm = 12, None, None, None, None
    while pos + 8 <= len(data):
        cid, size = data[pos:pos + 4], struct.unpack("<I", data[pos + 4:pos + 8])[0]
        body = data[pos + 8:pos + 8 + size]
        if cid == b"fmt ":
            fmt, channels, rate = struct.unpack("<HHI", body[:8])
            bits = struct.unpack("<H", body[14:16])[0]
            if channels != 1:
                sys.exit(f"{path}: {channels} channels, the prompts must be mono")
        elif cid == b"data":
            pcm = body
        pos += 8 + size + (size & 1)
    if fmt == 1 and bits == 16:
        return rate, pcm
    if fmt == 7 and bits == 8:
        def ulaw(u):
            u = ~u & 0xFF
            mag = (((u & 0x0F) << 3) + 0x84) << ((u >> 4) & 0x07)
            return (0x84 - mag) if u & 0x80 else (mag - 0x84)
        table = [ulaw(u) for u in range(256)]
        return rate, b"".join(struct.pack("<h", table[b]) for b in pcm)
    sys.exit(f"{path}: WAV format {fmt} with {bits} bits: only 16-bit PCM and 8-bit mu-law are read here")


def onset(rate, pcm):
    """Seconds to the first sample above 1% of the clip's peak (the clips start with silence)."""
    x = [abs(v) for (v,) in struct.iter_unpack("<h", pcm)]
    floor = max(x) / 100 if x else 0
    return next((i for i, v in enumerate(x) if v > floor), len(x)) / rate


# a prompt must hold the start of its digit, at least `speech` seconds of it, so that its
# continuations are conditioned on a digit (a prompt of silence alone is an unconditional draw)
# (eligible: per label, (clip, rate, its 16-bit PCM, onset) in manifest order)
cursor, eligible = {label: 0 for label in labels}, {label: [] for label in labels}


def next_eligible(label):
    while cursor[label] < len(by_label[label]):
        rel = by_label[label][cursor[label]]
        cursor[label] += 1
        rate, pcm = read_wav(os.path.join(os.path.dirname(manifest), rel))
        start = onset(rate, pcm)
        if start <= seconds - speech:
            eligible[label].append((rel, rate, pcm, start))
            return True
    return False


picked = []
for i in range(n):
    label, k = labels[i % len(labels)], i // len(labels)
    while len(eligible[label]) <= k and next_eligible(label):
        pass
    if not eligible[label]:
        sys.exit(f"{manifest}: no '{label}' clip whose digit starts {speech} s or more before {seconds} s (PROMPT_SPEECH_S)")
    picked.append(eligible[label][k % len(eligible[label])])
with open(os.path.join(out, "sources.tsv"), "w") as sources:
    sources.write("prompt\tclip\tlabel\tonset_s\n")
    for i, (rel, rate, pcm, start) in enumerate(picked):
        sources.write(f"prompt-{i:03d}.wav\t{rel}\t{labels[i % len(labels)]}\t{start:.4f}\n")
for i, (rel, rate, pcm, start) in enumerate(picked):
    keep = int(round(seconds * rate))
    with wave.open(os.path.join(out, f"prompt-{i:03d}.wav"), "wb") as o:
        o.setnchannels(1)
        o.setsampwidth(2)
        o.setframerate(rate)
        o.writeframes(pcm[:2 * keep])
PY
PER=$(( (GEN + PROMPTS - 1) / PROMPTS ))
# every prompt continued PER times, all in one batch (--prompts); --with-prompt: each clip is the
# prompt as the model read it, then its continuation, 1 s in all; files PPP-KKK.wav
(cd "$OUT/prompts" && ls prompt-*.wav > list.txt)
run "$SSMTK" audio generate --model "$OUT/lm/model" --seconds "$(python3 -c "print(1 - $PROMPT_S)")" --count "$PER" \
    --prompts "$OUT/prompts/list.txt" --with-prompt --output "$OUT/prompt-continued" --seed 100 --top-k "$TOP_K" \
    --temperature "$TEMPERATURE" --device "$DEVICE" --threads "$THREADS" > /dev/null
# Does a continuation keep its prompt's digit? Each continuation labelled with its prompt's digit
# (sources.tsv), classified by the same classifier: its accuracy here beside its accuracy on real clips.
python3 - "$OUT" <<'PY'
import os, sys
out = sys.argv[1]
label = {}
for line in open(f"{out}/prompts/sources.tsv").read().splitlines()[1:]:
    f = line.split("\t")
    label[f[0][len("prompt-"):-len(".wav")]] = f[2]
with open(f"{out}/prompt-continued.tsv", "w") as m:
    m.write("path\tlabel\n")
    for name in sorted(os.listdir(f"{out}/prompt-continued")):
        if name.endswith(".wav"):
            m.write(f"prompt-continued/{name}\t{label[name.split('-')[0]]}\n")
PY
run "$SSMTK" audio classify --model "$OUT/cls/model" --manifest "$OUT/prompt-continued.tsv" --output "$OUT/prompt-continued-calls.tsv" \
    --metrics "$OUT/prompt-continued-digits.json" --device "$DEVICE" --threads "$THREADS" > /dev/null
for set in unconditional prompt-continued; do
    run "$SSMTK" audio score-generation --model "$OUT/cls/model" --generated "$OUT/$set" --real-manifest "$DATA/test.tsv" \
        --output "$OUT/$set.json" --plot "$OUT/$set-png" --plot-clips 4 --device "$DEVICE" --threads "$THREADS"
done
if [ "$FT_STEPS" -gt 0 ]; then
    # shellcheck disable=SC2086
    rm -rf "$OUT/cls-ft" "$OUT/mfcc"
    run "$SSMTK" audio train-classifier --manifest "$DATA/train.tsv" --test-manifest "$DATA/test.tsv" --out "$OUT/cls-ft" --sample-rate "$RATE" \
        --model "$OUT/lm/model" --seq-len "$RATE" --batch "$CLS_BATCH" --steps "$FT_STEPS" --lr 1e-3 --warmup $((FT_STEPS / 10 + 1)) \
        --checkpoint-every 0 --log-every 50 --seed 1 --device "$DEVICE" --threads "$THREADS" ${EXTRA:-}
    run "$SSMTK" audio mfcc-baseline --manifest "$DATA/train.tsv" --test-manifest "$DATA/test.tsv" --out "$OUT/mfcc" --sample-rate "$RATE"
fi
python3 - "$OUT" "$RATE" "$TEMPERATURE" "$TOP_K" <<'PY' | tee "$OUT/generation.md"
import json, sys
out, rate, temperature, top_k = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
lm, cls = json.load(open(f"{out}/lm/eval.json")), json.load(open(f"{out}/cls/eval.json"))
u, p = json.load(open(f"{out}/unconditional.json")), json.load(open(f"{out}/prompt-continued.json"))
print(f"\nspoken digits at {rate} Hz: LM held-out {lm['bits_per_sample']:.4f} bits/sample (bigram {lm['bigram_bits_per_sample']:.4f}), "
      f"classifier accuracy on unseen voices {cls['accuracy']:.4f}; sampled at temperature {temperature}"
      f"{', top-k ' + top_k if top_k != '0' else ''}")
print("| clips | n | IS | mIS | Frechet distance to the real test clips | IS / real IS |\n|---|---|---|---|---|---|")
r = u["real"]
print(f"| real test clips | {r['clips']} | {r['inception_score']:.3f} | {r['modified_inception_score']:.3f} | {u.get('frechet_distance_real_halves', float('nan')):.3f} (one random half vs the other) | 1 |")
for name, s in (("unconditional", u), ("prompt-continued", p)):
    g = s["generated"]
    print(f"| {name} | {g['clips']} | {g['inception_score']:.3f} | {g['modified_inception_score']:.3f} | {s['frechet_distance']:.3f} | {s['inception_score_ratio']:.3f} |")
import os
follow = json.load(open(f"{out}/prompt-continued-digits.json"))
print(f"prompt-continued clips heard as their prompt's digit: {follow['accuracy']:.3f} (the classifier on the real test clips: {cls['accuracy']:.3f})")
if os.path.exists(f"{out}/cls-ft/eval.json"):
    print("\n| digit classification, unseen voices | accuracy | macro-F1 |\n|---|---|---|")
    for name, d in (("the LM fine-tuned (raw waveform)", "cls-ft"), ("a fresh classifier (raw waveform)", "cls"), ("MFCC baseline", "mfcc")):
        e = json.load(open(f"{out}/{d}/eval.json"))
        print(f"| {name} | {e['accuracy']:.4f} | {e['macro_f1']:.4f} |")
ok = abs(u["inception_score_ratio"] - 1) <= 0.2
print(f"unconditional IS within 20% of the real clips' IS: {'yes' if ok else 'no'}")
PY
