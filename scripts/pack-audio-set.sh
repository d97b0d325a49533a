#!/usr/bin/env bash
# Packs a folder of 16-bit PCM mono WAVs with its manifests (e.g. the 16 kHz digits of
# scripts/make-audio-digits.py) for a machine that takes limited uploads at a time: every WAV becomes
# an 8-bit G.711 mu-law WAV (1 byte per sample; ssmtk reads it directly) at the same relative path,
# *.tsv files are copied, and the result is an xz tar cut into PART_MB (default 30) MB parts.
#
#   scripts/pack-audio-set.sh SRC_DIR OUT_PREFIX      # writes OUT_PREFIX.tar.xz.part-aa, -ab, ...
#   there: mkdir DIR && cat OUT_PREFIX.tar.xz.part-* | tar -xJ -C DIR      (DIR/train.tsv, ...)
#
# The encoder is G.711's (14-bit samples, bias 33, 3-bit segment, 4-bit step, bits inverted); it
# equals CPython's audioop.lin2ulaw on all 65,536 16-bit inputs. Needs python3 with numpy.
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: pack-audio-set.sh SRC_DIR OUT_PREFIX" >&2; exit 1; }
SRC=$1 PREFIX=$2
[ -d "$SRC" ] || { echo "pack-audio-set.sh: $SRC: no such folder" >&2; exit 1; }
WORK=$(mktemp -d); trap 'rm -rf "$WORK"' EXIT
python3 - "$SRC" "$WORK/set" <<'PY'
import os, shutil, sys, wave
import numpy as np

src, dst = sys.argv[1], sys.argv[2]


def g711_mulaw(x16):
    v = x16.astype(np.int32) >> 2
    sign = np.where(v < 0, 0x80, 0)
    mag = np.minimum(np.abs(v), 8158) + 33
    seg = np.floor(np.log2(mag)).astype(np.int32) - 5
    step = (mag >> (seg + 1)) & 0x0F
    return (~(sign | (seg << 4) | step) & 0xFF).astype(np.uint8)


n = samples = 0
for root, _, files in os.walk(src):
    for f in sorted(files):
        path = os.path.join(root, f)
        out = os.path.join(dst, os.path.relpath(path, src))
        os.makedirs(os.path.dirname(out), exist_ok=True)
        if f.endswith(".tsv"):
            shutil.copyfile(path, out)
        elif f.lower().endswith(".wav"):
            with wave.open(path) as w:
                if w.getsampwidth() != 2 or w.getnchannels() != 1:
                    sys.exit(f"pack-audio-set.sh: {path}: {8 * w.getsampwidth()}-bit, {w.getnchannels()} channels; expected 16-bit mono")
                rate, x = w.getframerate(), np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
            body = g711_mulaw(x).tobytes()
            pad = b"\0" if len(body) % 2 else b""
            fmt = (7).to_bytes(2, "little") + (1).to_bytes(2, "little") + rate.to_bytes(4, "little") + rate.to_bytes(4, "little") \
                + (1).to_bytes(2, "little") + (8).to_bytes(2, "little")
            with open(out, "wb") as o:
                o.write(b"RIFF" + (4 + 24 + 8 + len(body) + len(pad)).to_bytes(4, "little") + b"WAVE" + b"fmt " + (16).to_bytes(4, "little") + fmt)
                o.write(b"data" + len(body).to_bytes(4, "little") + body + pad)
            n += 1
            samples += len(x)
print(f"pack-audio-set: {n} WAVs, {samples:,} samples as G.711 mu-law", file=sys.stderr)
PY
rm -f "$PREFIX".tar.xz.part-*
mkdir -p "$(dirname "$PREFIX")"
tar -C "$WORK/set" -cf - . | xz -6 -T"${JOBS:-2}" | split -b "${PART_MB:-30}m" - "$PREFIX.tar.xz.part-"
echo "pack-audio-set: $(du -ch "$PREFIX".tar.xz.part-* | tail -1 | cut -f1) in $(ls "$PREFIX".tar.xz.part-* | wc -l) parts: $PREFIX.tar.xz.part-*" >&2
