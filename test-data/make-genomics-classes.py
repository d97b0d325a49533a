#!/usr/bin/env python3
"""Writes test-data/genomics/class-a.fa and class-b.fa: two labelled classes for
`ssmtk dna train-classifier` tests and README examples.

Only the Python standard library, and deterministic (fixed seed), so running it again reproduces
the committed files byte for byte. Kept apart from make-genomics.py so that script's outputs stay
as they are.

  class-a.fa   2 records (a1 3,000 bp, a2 2,000 bp), AT-rich (GC 35%) order-3 Markov chain
  class-b.fa   2 records (b1 3,000 bp, b2 2,000 bp), GC-rich (GC 65%) order-3 Markov chain

The classes differ in GC content and in their 3-mer transition tables, so a 64-base window is
separable by composition alone: a classifier that learns anything beats chance clearly, which
keeps the CLI test short and reliable.

Usage: python3 test-data/make-genomics-classes.py   (from anywhere)
"""
import os, random

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "genomics")
WIDTH = 60
rng = random.Random(20261124)

def chain(gc):
    # Each 3-mer context gets its own next-base weights, scaled towards the class's GC content.
    base = {"A": (1 - gc) / 2, "T": (1 - gc) / 2, "C": gc / 2, "G": gc / 2}
    table = {}
    for a in "ACGT":
        for b in "ACGT":
            for c in "ACGT":
                table[a + b + c] = [base[x] * (0.5 + rng.random()) for x in "ACGT"]
    return table

def sample(table, n):
    s = [rng.choice("ACGT") for _ in range(3)]
    while len(s) < n:
        s.append(rng.choices("ACGT", table["".join(s[-3:])])[0])
    return "".join(s)

def write(name, records):
    with open(os.path.join(OUT, name), "w", newline="\n") as f:
        for rid, seq in records:
            f.write(">" + rid + "\n")
            for i in range(0, len(seq), WIDTH):
                f.write(seq[i:i + WIDTH] + "\n")

os.makedirs(OUT, exist_ok=True)
a, b = chain(0.35), chain(0.65)
write("class-a.fa", [("a1", sample(a, 3000)), ("a2", sample(a, 2000))])
write("class-b.fa", [("b1", sample(b, 3000)), ("b2", sample(b, 2000))])
