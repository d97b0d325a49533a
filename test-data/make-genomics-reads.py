#!/usr/bin/env python3
"""Writes genomics/reads.bam (+ .bai): reads "aligned" to class-b.fa for dna classify-reads and its
scattered runs (issue 18). Reads of 40-90 bases cut from class-b.fa's two records at their own
positions (a quarter on the reverse strand: SEQ is the reference's forward strand, as in SAM), plus
reads cut from class-a.fa that are unmapped: half placed at a mapped neighbour's position (as aligners
place an unmapped mate), half unplaced at the end. Coordinate-sorted and indexed by samtools (its own
@PG line left out, so the bytes do not depend on its version); one @PG line from this script.
Deterministic: python3 test-data/make-genomics-reads.py (needs samtools on PATH)."""
import os, random, subprocess

here = os.path.dirname(os.path.abspath(__file__))
g = os.path.join(here, "genomics")


def fasta(path):
    seqs, name = {}, None
    for line in open(path):
        line = line.strip()
        if line.startswith(">"):
            name = line[1:].split()[0]
            seqs[name] = []
        elif name:
            seqs[name].append(line.upper())
    return {k: "".join(v) for k, v in seqs.items()}


def comp(s):
    return s.translate(str.maketrans("ACGTN", "TGCAN"))[::-1]


rnd = random.Random(18)
b, a = fasta(os.path.join(g, "class-b.fa")), fasta(os.path.join(g, "class-a.fa"))
lines = ["@HD\tVN:1.6\tSO:unsorted"] + ["@SQ\tSN:%s\tLN:%d" % (k, len(v)) for k, v in b.items()]
lines.append("@PG\tID:make-reads\tPN:make-genomics-reads.py\tCL:python3 test-data/make-genomics-reads.py")
recs = []
for i in range(240):
    contig = rnd.choice(list(b))
    n = rnd.randint(40, 90)
    pos = rnd.randint(0, len(b[contig]) - n)
    seq = b[contig][pos:pos + n]
    flag = 16 if rnd.random() < 0.25 else 0
    recs.append("r%03d\t%d\t%s\t%d\t%d\t%dM\t*\t0\t0\t%s\t%s" % (i, flag, contig, pos + 1, rnd.randint(0, 60), n, seq, "I" * n))
for i in range(40):
    contig = rnd.choice(list(a))
    n = rnd.randint(40, 90)
    pos = rnd.randint(0, len(a[contig]) - n)
    seq = a[contig][pos:pos + n]
    if i % 2 == 0:  # placed: at some b contig position, no CIGAR
        c = rnd.choice(list(b))
        recs.append("u%03d\t4\t%s\t%d\t0\t*\t*\t0\t0\t%s\t%s" % (i, c, rnd.randint(1, len(b[c])), seq, "I" * n))
    else:
        recs.append("u%03d\t4\t*\t0\t0\t*\t*\t0\t0\t%s\t%s" % (i, seq, "I" * n))
sam = "\n".join(lines + recs) + "\n"
out = os.path.join(g, "reads.bam")
subprocess.run(["samtools", "sort", "--no-PG", "-o", out, "-"], input=sam.encode(), check=True)
subprocess.run(["samtools", "index", out], check=True)
