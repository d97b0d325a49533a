#!/usr/bin/env bash
# A solo-piano set anyone can rebuild: pieces composed by scripts/make-piano-midi.py (seeded; see
# its header for the procedure and the licence), rendered with FluidSynth and the FluidR3 General
# MIDI soundfont (Debian's fluidsynth and fluid-soundfont-gm; MIT-licensed), 16 kHz mono, split by
# piece: every tenth piece (9, 19, ...) is held out for test, so no test piece is heard in training.
#
#   scripts/make-piano-set.sh [--out DIR] [--hours H] [--seed S] [--jobs N]
#   scripts/make-piano-set.sh --sample test-data/audio/piano      # 4 pieces of 6 s (what the repo ships)
#
# Writes, under DIR (default ~/.cache/ssmtk/piano):
#   midi/piece-NNN.mid, midi/pieces.tsv   the scores and what each piece is (key, tempo, form, ...)
#   wav/piece-NNN.wav                     16-bit PCM mono, 16 kHz
#   mulaw/piece-NNN.wav                   the same as 8-bit G.711 mu-law WAV (1 byte per sample; ssmtk
#                                         reads it directly): what travels to a GPU machine
#   wav/{train,test}.tsv, mulaw/{train,test}.tsv   manifests (path, piece) of the split
#   piano-16k-mulaw.tar.xz.part-aa, -ab, ...   mulaw/ as xz-compressed tar cut into PART_MB (default 30) MB
#                                         pieces, for machines that take limited uploads at a time;
#                                         rebuild there with: cat piano-16k-mulaw.tar.xz.part-* | tar -xJ
# --sample DIR writes only the mu-law WAVs and manifests, into DIR. Needs python3 with numpy.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=$HOME/.cache/ssmtk/piano HOURS=2.2 SEED=1 JOBS=${JOBS:-2} SAMPLE=
while [ $# -gt 0 ]; do
    case "$1" in
        --out) OUT=$2; shift 2 ;;
        --hours) HOURS=$2; shift 2 ;;
        --seed) SEED=$2; shift 2 ;;
        --jobs) JOBS=$2; shift 2 ;;
        --sample) SAMPLE=$2; shift 2 ;;
        *) echo "make-piano-set.sh: unknown argument $1" >&2; exit 1 ;;
    esac
done
RATE=16000
SF2=${SF2:-/usr/share/sounds/sf2/FluidR3_GM.sf2}
if ! command -v fluidsynth >/dev/null || [ ! -f "$SF2" ]; then
    if [ "$(id -u)" = 0 ]; then
        echo "make-piano-set.sh: installing fluidsynth and fluid-soundfont-gm" >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends fluidsynth fluid-soundfont-gm >&2
    else
        echo "make-piano-set.sh: needs fluidsynth and $SF2: sudo apt-get install fluidsynth fluid-soundfont-gm" >&2; exit 1
    fi
fi
python3 -c 'import numpy' 2>/dev/null || { echo "make-piano-set.sh: needs python3 with numpy" >&2; exit 1; }

if [ -n "$SAMPLE" ]; then
    WORK=$(mktemp -d); trap 'rm -rf "$WORK"' EXIT
    python3 scripts/make-piano-midi.py --out "$WORK/midi" --pieces 4 --max-seconds 6 --seed "$SEED"
    MIDI=$WORK/midi WAVS=$WORK/wav MULAW=$SAMPLE TEST_EVERY=4
else
    python3 scripts/make-piano-midi.py --out "$OUT/midi" --hours "$HOURS" --seed "$SEED"
    MIDI=$OUT/midi WAVS=$OUT/wav MULAW=$OUT/mulaw TEST_EVERY=10
fi
mkdir -p "$WAVS" "$MULAW" "$WAVS/stereo"
# FluidSynth renders stereo 16-bit at the set's rate (gain 1.0: the GM piano peaks near 0.3; peaks and clipping are reported below).
ls "$MIDI"/*.mid | xargs -P "$JOBS" -I{} sh -c \
    'f={}; fluidsynth -ni -q -F "'"$WAVS"'/stereo/$(basename "$f" .mid).wav" -r '"$RATE"' -O s16 -T wav -g 1.0 "'"$SF2"'" "$f" >/dev/null'
python3 - "$WAVS" "$MULAW" "$TEST_EVERY" "$RATE" "$MIDI/pieces.tsv" <<'PY'
import os, sys, wave
import numpy as np

wavs, mulaw_dir, test_every, rate, pieces = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]


def g711_mulaw(x16):
    """16-bit linear -> G.711 mu-law bytes, on 14-bit samples as G.711 defines it: bias 33, a 3-bit
    segment, a 4-bit step, all bits inverted (equal to CPython audioop.lin2ulaw on all 65,536 inputs)."""
    v = x16.astype(np.int32) >> 2
    sign = np.where(v < 0, 0x80, 0)
    mag = np.minimum(np.abs(v), 8158) + 33
    seg = np.floor(np.log2(mag)).astype(np.int32) - 5
    step = (mag >> (seg + 1)) & 0x0F
    return (~(sign | (seg << 4) | step) & 0xFF).astype(np.uint8)


def write(path, data, fmt, bits):
    block = bits // 8
    fmt_chunk = (fmt).to_bytes(2, "little") + (1).to_bytes(2, "little") + rate.to_bytes(4, "little") \
        + (rate * block).to_bytes(4, "little") + block.to_bytes(2, "little") + bits.to_bytes(2, "little")
    body = data.tobytes()
    with open(path + ".part", "wb") as f:
        f.write(b"RIFF" + (4 + 8 + 16 + 8 + len(body) + len(body) % 2).to_bytes(4, "little") + b"WAVE")
        f.write(b"fmt " + (16).to_bytes(4, "little") + fmt_chunk)
        f.write(b"data" + len(body).to_bytes(4, "little") + body + (b"\0" if len(body) % 2 else b""))
    os.replace(path + ".part", path)


names = [l.split("\t")[0] for l in open(pieces).read().splitlines()[1:]]
rows, total, peak, clipped = [], 0, 0, 0
for i, name in enumerate(names):
    with wave.open(os.path.join(wavs, "stereo", name + ".wav")) as w:
        assert w.getframerate() == rate and w.getsampwidth() == 2, (name, w.getframerate(), w.getsampwidth())
        x = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").reshape(-1, w.getnchannels()).astype(np.float64)
    mono = x.mean(axis=1)
    # FluidSynth renders until every voice has died away: keep 0.25 s after the last sample above -60 dB
    loud = np.nonzero(np.abs(mono) > 32.768)[0]
    mono = mono[:min(len(mono), (loud[-1] if len(loud) else 0) + rate // 4)]
    peak = max(peak, np.abs(mono).max() / 32768)
    clipped += int((np.abs(mono) >= 32767).sum())
    pcm = np.clip(np.round(mono), -32768, 32767).astype("<i2")
    write(os.path.join(mulaw_dir, name + ".wav"), g711_mulaw(pcm), 7, 8)
    write(os.path.join(wavs, name + ".wav"), pcm, 1, 16)
    os.remove(os.path.join(wavs, "stereo", name + ".wav"))
    split = "test" if i % test_every == test_every - 1 else "train"
    rows.append((split, name, len(pcm)))
    total += len(pcm)
os.rmdir(os.path.join(wavs, "stereo"))
for d in (wavs, mulaw_dir):
    for split in ("train", "test"):
        with open(os.path.join(d, split + ".tsv"), "w") as f:
            f.write("path\tlabel\n")
            for s, name, _ in rows:
                if s == split:
                    f.write(f"{name}.wav\t{name}\n")
test = sum(n for s, _, n in rows if s == "test")
print(f"make-piano-set: {len(rows)} pieces, {total / rate / 3600:.2f} h at {rate} Hz mono ({(total - test) / rate / 3600:.2f} h train, "
      f"{test / rate / 60:.1f} min test in {sum(1 for s, _, _ in rows if s == 'test')} pieces); peak {peak:.3f}, {clipped} clipped samples",
      file=sys.stderr)
PY
if [ -n "$SAMPLE" ]; then
    du -sh "$SAMPLE" >&2
else
    rm -f "$OUT"/piano-16k-mulaw.tar.xz.part-*
    tar -C "$OUT" -cf - mulaw | xz -6 -T"$JOBS" | split -b "${PART_MB:-30}m" - "$OUT/piano-16k-mulaw.tar.xz.part-"
    echo "make-piano-set: to copy: $(du -ch "$OUT"/piano-16k-mulaw.tar.xz.part-* | tail -1 | cut -f1) in $(ls "$OUT"/piano-16k-mulaw.tar.xz.part-* | wc -l) parts," \
        "$OUT/piano-16k-mulaw.tar.xz.part-*; there: cat piano-16k-mulaw.tar.xz.part-* | tar -xJ (mulaw/train.tsv and mulaw/test.tsv are the manifests)" >&2
fi
