#!/usr/bin/env python3
"""Spoken digits "zero".."nine" in the style of SC09, synthesized by espeak-ng, with manifests.

Every (accent, voice variant) pair of espeak-ng is one "speaker"; each speaker says each digit once
at a random speed and pitch. Voice variants (m1, f3, croak, klatt2, ...) are split between train and
test, so the test set's voices are never heard in training (accents are shared: there are only 8).

Each clip is espeak-ng's 22,050 Hz output with leading/trailing silence trimmed, resampled to --rate
(scipy's polyphase resampler), scaled to a random peak level and placed at a random offset in a clip
of exactly --seconds, 16-bit PCM mono, like SC09's 1-second clips. 8 kHz is the default because
waveform models on two CPU cores cost per sample; --rate 16000 gives SC09's rate.

Writes OUT/wav/<split>/<digit>-<accent>-<variant>.wav, OUT/train.tsv and OUT/test.tsv (ssmtk
manifests: path relative to the manifest, label) and OUT/speakers.tsv. Deterministic for a given
--seed and espeak-ng version. Needs espeak-ng (Debian package) and numpy + scipy.

  python3 scripts/make-audio-digits.py                          # ~/.cache/ssmtk/audio-digits, ~4,000 clips
  python3 scripts/make-audio-digits.py --out test-data/audio/digits --variants 3 --accents en-us
  python3 scripts/make-audio-digits.py --rate 16000 --accents-per-variant 8 \
      --test-from ~/.cache/ssmtk/audio-digits-16000 --out ~/.cache/ssmtk/audio-digits-16000-a8   # twice the training clips
"""
import argparse
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import wave

import numpy as np
from scipy.signal import resample_poly

DIGITS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
# espeak-ng's own English voices (the mbrola "mb/" ones need extra packages)
ACCENTS = ["en-us", "en-gb", "en-gb-scotland", "en-gb-x-gbclan", "en-gb-x-rp", "en-gb-x-gbcwmd", "en-029", "en-us-nyc"]
ESPEAK_RATE = 22050


def variants():
    out = subprocess.run(["espeak-ng", "--voices=variant"], check=True, capture_output=True, text=True).stdout
    names = []
    for line in out.splitlines()[1:]:
        i = line.find("!v/")
        name = line[i + 3:].strip() if i >= 0 else ""
        if name and re.fullmatch(r"[A-Za-z0-9_]+", name):  # names used in file names; skips e.g. "Mr serious"
            names.append(name)
    return sorted(set(names))


def speak(word, voice, speed, pitch, tmp):
    path = os.path.join(tmp, "x.wav")
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-p", str(pitch), "-w", path, word], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    with wave.open(path, "rb") as w:
        if w.getsampwidth() != 2 or w.getnchannels() != 1:
            raise SystemExit(f"espeak-ng wrote {w.getnchannels()} channels x {8 * w.getsampwidth()} bits; expected 16-bit mono")
        rate = w.getframerate()
        x = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float64) / 32768.0
    return x, rate


def trim(x, rel=0.02):
    """Drops leading and trailing samples quieter than rel x the peak (espeak-ng pads with silence)."""
    peak = np.max(np.abs(x)) if len(x) else 0.0
    if peak == 0:
        return x[:0]
    loud = np.nonzero(np.abs(x) > rel * peak)[0]
    return x[loud[0]:loud[-1] + 1]


def write_wav(path, x, rate):
    pcm = np.clip(np.round(x * 32767), -32768, 32767).astype("<i2")
    tmp = path + ".part"
    with wave.open(tmp, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())
    os.replace(tmp, path)


def read_tsv(path):
    with open(path) as f:
        head = f.readline().rstrip("\n").split("\t")
        return [dict(zip(head, line.rstrip("\n").split("\t"))) for line in f if line.strip()]


def check_test_from(src, split):
    """src's test speakers; exits unless src holds out the voice variants this run does (the same --seed and voices)."""
    try:
        theirs = [sp for sp in read_tsv(os.path.join(src, "speakers.tsv")) if sp["split"] == "test"]
    except (OSError, KeyError) as e:
        sys.exit(f"make-audio-digits: --test-from {src}: no usable speakers.tsv ({e})")
    if {sp["variant"] for sp in theirs} != {v for v, s in split.items() if s == "test"}:
        sys.exit(f"make-audio-digits: --test-from {src} holds out other voice variants than this run; use the same --seed and voices")
    return theirs


def test_split_from(src, out, speakers, theirs):
    """Replaces out's test clips by src's; theirs: src's test speakers (check_test_from)."""
    shutil.rmtree(os.path.join(out, "wav", "test"))
    shutil.copytree(os.path.join(src, "wav", "test"), os.path.join(out, "wav", "test"))
    clips = [c for c in read_tsv(os.path.join(src, "clips.tsv")) if c["path"].startswith("wav/test/")]
    rows = [(c["path"], c["label"], c["accent"], c["variant"], c["speed_wpm"], c["pitch"]) for c in clips]
    kept = [sp for sp in speakers if sp[2] != "test"] + [(sp["accent"], sp["variant"], "test") for sp in theirs]
    return rows, kept


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.expanduser("~/.cache/ssmtk/audio-digits"))
    ap.add_argument("--rate", type=int, default=8000)
    ap.add_argument("--seconds", type=float, default=1.0)
    ap.add_argument("--no-pad", action="store_true",
                    help="keep each trimmed word as it is (variable length, no silence around it): for waveform LMs, "
                         "whose bits per sample would otherwise be dominated by the padding's digital silence")
    ap.add_argument("--accents", default=",".join(ACCENTS), help="comma-separated espeak-ng English voices")
    ap.add_argument("--variants", type=int, default=0, help="use only this many voice variants (0 = all)")
    ap.add_argument("--accents-per-variant", type=int, default=4, help="accents each variant speaks with (random, per variant)")
    ap.add_argument("--test-fraction", type=float, default=0.2, help="fraction of voice variants held out for test")
    ap.add_argument("--speed", default="130,210", help="words per minute, uniform range")
    ap.add_argument("--pitch", default="25,75", help="espeak-ng pitch 0..99, uniform range")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--test-from", metavar="DIR",
                    help="take the test split (wav/test, test.tsv, its rows of clips.tsv and speakers.tsv) from this "
                         "earlier set of the same --seed, replacing this run's: more training clips, the same test clips")
    a = ap.parse_args()
    if shutil.which("espeak-ng") is None:
        sys.exit("make-audio-digits: espeak-ng not found (apt-get install espeak-ng)")
    rng = random.Random(a.seed)
    accents = [s for s in a.accents.split(",") if s]
    names = variants()
    rng.shuffle(names)
    if a.variants > 0:
        names = names[:a.variants]
    n_test = max(1, round(len(names) * a.test_fraction))
    split = {v: ("test" if i < n_test else "train") for i, v in enumerate(names)}
    test_speakers = check_test_from(a.test_from, split) if a.test_from else None
    lo_s, hi_s = map(int, a.speed.split(","))
    lo_p, hi_p = map(int, a.pitch.split(","))
    clip_len = int(round(a.seconds * a.rate))
    g = np.gcd(a.rate, ESPEAK_RATE)
    for s in ("train", "test"):
        os.makedirs(os.path.join(a.out, "wav", s), exist_ok=True)
    rows = {"train": [], "test": []}
    speakers = []
    cut = 0
    with tempfile.TemporaryDirectory() as tmp:
        for k, variant in enumerate(sorted(names)):
            for accent in sorted(rng.sample(accents, min(a.accents_per_variant, len(accents)))):
                speakers.append((accent, variant, split[variant]))
                for digit in DIGITS:
                    speed, pitch = rng.randint(lo_s, hi_s), rng.randint(lo_p, hi_p)
                    x, rate = speak(digit, f"{accent}+{variant}", speed, pitch, tmp)
                    if rate != ESPEAK_RATE:
                        sys.exit(f"espeak-ng wrote {rate} Hz; expected {ESPEAK_RATE}")
                    x = trim(resample_poly(trim(x), a.rate // g, ESPEAK_RATE // g))
                    if len(x) == 0:
                        print(f"make-audio-digits: {accent}+{variant} '{digit}' is silent; skipped", file=sys.stderr)
                        continue
                    if len(x) > clip_len:  # keep the middle: a slow word loses a little of both ends
                        cut += 1
                        start = (len(x) - clip_len) // 2
                        x = x[start:start + clip_len]
                    level = rng.uniform(0.3, 0.9) / np.max(np.abs(x))
                    if a.no_pad:
                        clip = x * level
                    else:
                        clip = np.zeros(clip_len)
                        off = rng.randint(0, clip_len - len(x))
                        clip[off:off + len(x)] = x * level
                    rel = os.path.join("wav", split[variant], f"{digit}-{accent}-{variant}.wav")
                    write_wav(os.path.join(a.out, rel), clip, a.rate)
                    rows[split[variant]].append((rel, digit, accent, variant, speed, pitch))
            print(f"make-audio-digits: {k + 1}/{len(names)} voice variants", file=sys.stderr, flush=True)
    if a.test_from:
        rows["test"], speakers = test_split_from(a.test_from, a.out, speakers, test_speakers)
    for s, rs in rows.items():
        with open(os.path.join(a.out, s + ".tsv"), "w") as f:
            f.write("path\tlabel\n")
            for r in rs:
                f.write(f"{r[0]}\t{r[1]}\n")
    with open(os.path.join(a.out, "speakers.tsv"), "w") as f:
        f.write("accent\tvariant\tsplit\n")
        for sp in speakers:
            f.write("\t".join(sp) + "\n")
    with open(os.path.join(a.out, "clips.tsv"), "w") as f:
        f.write("path\tlabel\taccent\tvariant\tspeed_wpm\tpitch\n")
        for s in ("train", "test"):
            for r in rows[s]:
                f.write("\t".join(map(str, r)) + "\n")
    print(f"make-audio-digits: {len(rows['train'])} train clips ({len(names) - n_test} voice variants), {len(rows['test'])} test clips "
          f"({n_test} unseen variants), {a.rate} Hz, {'unpadded' if a.no_pad else str(a.seconds) + ' s each'}, {cut} cut to fit -> {a.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
