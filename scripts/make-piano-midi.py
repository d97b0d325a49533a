#!/usr/bin/env python3
"""Procedurally composed solo-piano pieces as Standard MIDI Files, for scripts/make-piano-set.sh.

No MIDI collection with a clear licence ships in Debian's main archive as plain piano pieces, so the
pieces are composed here by a fixed, seeded procedure (the output is as free as this script: the
project's GPL-3.0-or-later; rendered with FluidR3_GM, which is MIT-licensed). What a long-context
model can learn from them is the point, so every piece has structure at several time scales:

  * a key (one of 12 tonics, major or harmonic minor), a tempo (66-132 quarter notes a minute) and
    a metre (4/4, or 3/4 for about a quarter of the pieces);
  * sections of 8 bars, each over a 4-chord progression (one chord a bar, played twice; the
    second time the last bar moves to the dominant then closes on the tonic), with a melody whose
    rhythm comes from a small pattern book and whose notes walk the scale, landing on a chord tone
    on each downbeat, over a left-hand pattern fixed per piece (Alberti bass, broken chords, block
    chords, or a waltz bass in 3/4);
  * a form of 5-9 sections drawn from templates such as AABA or ABACABA, where a repeated letter
    is the same notes again (dynamics may change): the repeats lie 8-40 bars apart, i.e. about
    15 s to over a minute, 250k to 1M samples at 16 kHz: far beyond a short context window.

Pieces are written until their total length reaches --hours. pieces.tsv lists every piece with
its seconds, key, tempo, metre, form and accompaniment.

  python3 scripts/make-piano-midi.py --out midi/ --hours 2.2 --seed 1
  python3 scripts/make-piano-midi.py --out sample/ --pieces 4 --max-seconds 6     # a tiny sample
"""
import argparse
import os
import random
import struct
import sys

TPQ = 480  # ticks per quarter note
MAJOR = [0, 2, 4, 5, 7, 9, 11]
MINOR = [0, 2, 3, 5, 7, 8, 11]  # harmonic minor: the raised seventh gives the dominant its leading tone
NAMES = ["C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B"]
PROGRESSIONS = [[0, 3, 4, 0], [0, 5, 3, 4], [0, 4, 5, 3], [5, 3, 0, 4], [0, 3, 1, 4], [0, 1, 4, 0], [3, 4, 2, 5], [0, 2, 3, 4]]
FORMS = ["AABA", "AABABA", "ABACABA", "AABBACA", "ABABCBA", "AABACAA", "ABCABCA", "AABCCBA", "ABAABA"]
# Melody rhythms per bar in eighth notes (4/4 bars are 8 eighths, 3/4 bars 6).
RHYTHMS = {8: [[2, 2, 2, 2], [1, 1, 2, 2, 2], [3, 1, 2, 2], [2, 1, 1, 2, 2], [4, 2, 2], [1, 1, 1, 1, 2, 2], [2, 2, 4], [6, 2]],
           6: [[2, 2, 2], [1, 1, 2, 2], [3, 1, 2], [4, 2], [2, 1, 1, 2], [6]]}


def varlen(n):
    out = [n & 0x7F]
    n >>= 7
    while n:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    return bytes(reversed(out))


def write_midi(path, events, tempo_bpm, beats_per_bar):
    """events: (tick, order, status, data1, data2); one track (format 0), channel 0, program 0 (grand piano)."""
    track = bytearray()
    track += varlen(0) + b"\xff\x51\x03" + struct.pack(">I", int(round(60_000_000 / tempo_bpm)))[1:]
    track += varlen(0) + b"\xff\x58\x04" + bytes([beats_per_bar, 2, 24, 8])
    track += varlen(0) + bytes([0xC0, 0])
    last = 0
    for tick, _, status, d1, d2 in sorted(events):
        track += varlen(tick - last) + bytes([status, d1, d2])
        last = tick
    track += varlen(TPQ) + b"\xff\x2f\x00"
    with open(path, "wb") as f:
        f.write(b"MThd" + struct.pack(">IHHH", 6, 0, 1, TPQ))
        f.write(b"MTrk" + struct.pack(">I", len(track)) + track)


def note(events, start, length, key, velocity):
    key = max(21, min(108, key))
    events.append((start, 1, 0x90, key, max(1, min(127, velocity))))
    events.append((start + max(1, length - 10), 0, 0x80, key, 0))  # note-offs sort before note-ons at a tick


def chord_tones(scale, tonic, degree, octave):
    """The triad on a scale degree as MIDI keys from the given octave up."""
    out = []
    for step in (0, 2, 4):
        d = degree + step
        out.append(12 * (octave + d // 7) + tonic + scale[d % 7])
    return out


def compose_section(rng, scale, tonic, progression, eighths):
    """An 8-bar section: a list of bars, each (degree, [(offset_eighths, length_eighths, key)])."""
    bars = []
    degrees = progression + progression[:-2] + [4, 0]  # the second phrase cadences V-I
    pitch = 12 * 5 + tonic + scale[0] + rng.choice([0, 4, 7])
    for degree in degrees:
        rhythm = rng.choice(RHYTHMS[eighths])
        notes, at = [], 0
        targets = chord_tones(scale, tonic, degree, 5) + chord_tones(scale, tonic, degree, 6)
        for i, length in enumerate(rhythm):
            if i == 0:
                pitch = min(targets, key=lambda k: (abs(k - pitch), k))  # a chord tone on the downbeat, near the last note
            else:
                pitch = step_in_scale(pitch, rng.choice([-2, -1, -1, 1, 1, 2, 0]), scale, tonic)
                pitch = max(12 * 5 + tonic - 5, min(12 * 7 + tonic, pitch))
            notes.append((at, length, pitch))
            at += length
        bars.append((degree, notes))
    return bars


def step_in_scale(key, steps, scale, tonic):
    pcs = sorted((tonic + s) % 12 for s in scale)
    if steps == 0:
        return key
    k = key
    direction = 1 if steps > 0 else -1
    for _ in range(abs(steps)):
        k += direction
        while k % 12 not in pcs:
            k += direction
    return k


def accompaniment(style, scale, tonic, degree, eighths, bar_start, events, velocity):
    eighth = TPQ // 2
    root, third, fifth = chord_tones(scale, tonic, degree, 3)
    bass = root - 12
    if style == "alberti":
        pattern = [root, fifth, third, fifth] * (eighths // 4) + ([root, fifth] if eighths % 4 else [])
        for i, k in enumerate(pattern[:eighths]):
            note(events, bar_start + i * eighth, eighth, k, velocity - 8)
    elif style == "broken":
        pattern = [bass, root, third, fifth, root + 12, fifth, third, root][:eighths]
        for i, k in enumerate(pattern):
            note(events, bar_start + i * eighth, eighth * 2, k, velocity - 10)
    elif style == "block":
        for beat in range(eighths // 2):
            for k in (bass, third, fifth):
                note(events, bar_start + beat * TPQ, TPQ, k, velocity - (6 if beat else 2))
    else:  # waltz: bass on one, chord on two and three
        note(events, bar_start, TPQ, bass, velocity - 2)
        for beat in (1, 2):
            for k in (third, fifth, root + 12):
                note(events, bar_start + beat * TPQ, TPQ, k, velocity - 14)


def piece(rng, max_seconds):
    tonic = rng.randrange(12)
    minor = rng.random() < 0.35
    scale = MINOR if minor else MAJOR
    tempo = rng.randrange(66, 133, 2)
    waltz = rng.random() < 0.25
    eighths = 6 if waltz else 8
    style = "waltz" if waltz and rng.random() < 0.6 else rng.choice(["alberti", "broken", "block"])
    if waltz and style == "alberti":
        style = "broken"
    form = rng.choice(FORMS)
    sections = {}
    progressions = rng.sample(PROGRESSIONS, 3)
    for i, letter in enumerate(sorted(set(form))):
        sections[letter] = compose_section(rng, scale, tonic, progressions[i % 3], eighths)
    bar_ticks = eighths * TPQ // 2
    seconds_per_bar = eighths / 2 * 60 / tempo
    events, bar = [], 0
    for letter in form:
        level = rng.choice([62, 72, 82])
        for degree, notes in sections[letter]:
            if max_seconds and (bar + 1) * seconds_per_bar > max_seconds:
                break
            start = bar * bar_ticks
            for at, length, key in notes:
                note(events, start + at * TPQ // 2, length * TPQ // 2, key, level + 12 + rng.randrange(-4, 5))
            accompaniment(style, scale, tonic, degree, eighths, start, events, level)
            bar += 1
    # a final tonic chord, held for two beats
    for k in chord_tones(scale, tonic, 0, 3) + [12 * 5 + tonic]:
        note(events, bar * bar_ticks, 2 * TPQ, k, 70)
    seconds = bar * seconds_per_bar + 2 * 60 / tempo
    info = dict(key=NAMES[tonic] + (" minor" if minor else " major"), tempo=tempo, metre="3/4" if waltz else "4/4",
                form=form, accompaniment=style, bars=bar)
    return events, tempo, eighths // 2, seconds, info


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--hours", type=float, default=2.2, help="write pieces until they last this long in total")
    ap.add_argument("--pieces", type=int, default=0, help="write exactly this many pieces instead")
    ap.add_argument("--max-seconds", type=float, default=0, help="cut every piece to at most this long (for small samples)")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    rng = random.Random(a.seed)
    total, rows, i = 0.0, [], 0
    while (a.pieces and i < a.pieces) or (not a.pieces and total < a.hours * 3600):
        events, tempo, beats, seconds, info = piece(random.Random(rng.getrandbits(64)), a.max_seconds)
        name = f"piece-{i:03d}"
        write_midi(os.path.join(a.out, name + ".mid"), events, tempo, beats)
        rows.append((name, seconds, info))
        total += seconds
        i += 1
    with open(os.path.join(a.out, "pieces.tsv"), "w") as f:
        f.write("piece\tseconds\tkey\ttempo\tmetre\tform\taccompaniment\tbars\n")
        for name, seconds, info in rows:
            f.write(f"{name}\t{seconds:.2f}\t{info['key']}\t{info['tempo']}\t{info['metre']}\t{info['form']}\t{info['accompaniment']}\t{info['bars']}\n")
    print(f"make-piano-midi: {len(rows)} pieces, {total / 3600:.2f} h of music -> {a.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
