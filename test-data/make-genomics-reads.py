#!/usr/bin/env python3
"""Writes genomics/reads.bam (+ .bai) and genomics/small.vcf.gz (+ .tbi). reads.bam: reads "aligned" to class-b.fa for dna classify-reads and its
scattered runs (issue 18). Reads of 40-90 bases cut from class-b.fa's two records at their own
positions (a quarter on the reverse strand: SEQ is the reference's forward strand, as in SAM), plus
reads cut from class-a.fa that are unmapped: half placed at a mapped neighbour's position (as aligners
place an unmapped mate), half unplaced at the end. Coordinate-sorted and indexed by samtools (its own
@PG line left out, so the bytes do not depend on its version); one @PG line from this script.
small.vcf.gz: 30 SNVs over small.fa (REF from the FASTA; contigs in the order chr1, chrM, chr2, not the
FASTA's), bgzipped and tabix-indexed, for dna score-variants and its scattered runs.
reads.part1.bam, reads.part2.bam, small.part1.vcf.gz, small.part2.vcf.gz: each file cut in two in its
own order, every part with the whole header (as a scattered run's shards write them), for the gathers.
Deterministic: python3 test-data/make-genomics-reads.py (needs samtools, bgzip and tabix on PATH)."""
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
# the gatherbam parts: b1's reads, then b2's and the unplaced ones (the file's order, cut between contigs)
for part, regions in (("reads.part1.bam", ["b1"]), ("reads.part2.bam", ["b2", "*"])):
    subprocess.run(["samtools", "view", "--no-PG", "-b", "-o", os.path.join(g, part), out] + regions, check=True)

small = fasta(os.path.join(g, "small.fa"))
vcf = ["##fileformat=VCFv4.2"] + ["##contig=<ID=%s,length=%d>" % (k, len(v)) for k, v in small.items()]
vcf += ["##INFO=<ID=DP,Number=1,Type=Integer,Description=\"Depth\">", "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO"]
for contig, count in (("chr1", 16), ("chrM", 4), ("chr2", 10)):
    for pos in sorted(rnd.sample(range(1, len(small[contig]) + 1), count)):
        ref = small[contig][pos - 1]
        alt = rnd.choice([x for x in "ACGT" if x != ref])
        vcf.append("%s\t%d\t.\t%s\t%s\t50\tPASS\tDP=%d" % (contig, pos, ref, alt, rnd.randint(5, 40)))
out = os.path.join(g, "small.vcf.gz")
with open(out, "wb") as f:
    subprocess.run(["bgzip", "-c"], input=("\n".join(vcf) + "\n").encode(), stdout=f, check=True)
subprocess.run(["tabix", "-f", "-p", "vcf", out], check=True)
# the gathervcf parts: chr1's records, then chrM's and chr2's, each under the whole header
head = [l for l in vcf if l.startswith("#")]
for part, contigs in (("small.part1.vcf.gz", ("chr1",)), ("small.part2.vcf.gz", ("chrM", "chr2"))):
    body = [l for l in vcf if not l.startswith("#") and l.split("\t")[0] in contigs]
    with open(os.path.join(g, part), "wb") as f:
        subprocess.run(["bgzip", "-c"], input=("\n".join(head + body) + "\n").encode(), stdout=f, check=True)
