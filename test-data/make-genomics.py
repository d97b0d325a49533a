#!/usr/bin/env python3
"""Writes test-data/genomics/: small FASTA files for the genomics tests and README examples.

Only the Python standard library, and deterministic (fixed seed, gzip mtime 0), so running it
again reproduces the committed files byte for byte:

  small.fa            3 records (chr1 6,000 bp, chr2 3,000 bp, chrM 500 bp), 60 bases a line.
                      chr1 has a soft-masked (lower-case) stretch and a run of N; chr2 has IUPAC
                      codes (R, Y, K, M, S, W); the bases follow an order-3 Markov chain with
                      tandem repeats, so a model has something to learn beyond 2 bits per base.
  small.fa.fai        its samtools faidx index
  small.fa.gz         plain gzip (no random access; read front to back)
  small.bed           two training intervals (chr1:0-3000, chr2:500-2500), BED's 0-based half-open
  small.bgzf.fa.gz    bgzip (BGZF, 4 KiB blocks), with .fai and .gzi as samtools faidx / bgzip -i write them

Usage: python3 test-data/make-genomics.py   (from anywhere)
"""
import gzip, os, random, struct, zlib

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "genomics")
WIDTH = 60
# bgzip fills blocks to 0xff00 bytes; smaller ones (still valid BGZF) make this small file span
# several blocks, so random access through the .gzi is really exercised.
BLOCK = 4096
rng = random.Random(20261123)

def markov(n):
    # A skewed order-3 chain: each 3-mer context prefers one next base.
    table = {}
    for a in "ACGT":
        for b in "ACGT":
            for c in "ACGT":
                w = [rng.random() ** 3 for _ in range(4)]
                table[a + b + c] = w
    s = ["A", "C", "G"]
    while len(s) < n:
        if rng.random() < 0.01 and len(s) > 50:
            unit = "".join(s[-rng.randint(2, 12):])
            s.extend(unit * rng.randint(2, 6))
            continue
        s.append(rng.choices("ACGT", table["".join(s[-3:])])[0])
    return "".join(s[:n])

chr1 = list(markov(6000))
for i in range(1200, 1800):
    chr1[i] = chr1[i].lower()
for i in range(3000, 3100):
    chr1[i] = "N"
chr2 = list(markov(3000))
for i, code in zip(range(100, 3000, 450), "RYKMSW"):
    chr2[i] = code
chrM = markov(500)
records = [("chr1", "".join(chr1), "synthetic, soft-masked 1201-1800, N 3001-3100"),
           ("chr2", "".join(chr2), "synthetic, IUPAC codes"),
           ("chrM", chrM, "synthetic")]

text = bytearray()
fai = []
for name, seq, desc in records:
    text += (">" + name + " " + desc + "\n").encode()
    offset = len(text)
    for i in range(0, len(seq), WIDTH):
        text += (seq[i:i + WIDTH] + "\n").encode()
    fai.append("%s\t%d\t%d\t%d\t%d\n" % (name, len(seq), offset, WIDTH, WIDTH + 1))

def bgzf(data):
    """BGZF blocks as bgzip writes them, and the .gzi index of block starts."""
    out, gzi, pos = bytearray(), [], 0
    while pos < len(data):
        chunk = data[pos:pos + BLOCK]
        c = zlib.compressobj(6, zlib.DEFLATED, -15)
        deflated = c.compress(chunk) + c.flush()
        if pos > 0:
            gzi.append((len(out), pos))
        out += struct.pack("<4BI2BH2BHH", 0x1f, 0x8b, 8, 4, 0, 0, 0xff, 6, ord("B"), ord("C"), 2, 25 + len(deflated))
        out += deflated + struct.pack("<II", zlib.crc32(chunk) & 0xffffffff, len(chunk))
        pos += len(chunk)
    out += bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")  # the EOF block
    index = struct.pack("<Q", len(gzi)) + b"".join(struct.pack("<QQ", a, b) for a, b in gzi)
    return bytes(out), index

os.makedirs(OUT, exist_ok=True)
def write(name, data):
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)

write("small.fa", bytes(text))
write("small.fa.fai", "".join(fai).encode())
write("small.fa.gz", gzip.compress(bytes(text), 9, mtime=0))
blocks, gzi = bgzf(bytes(text))
write("small.bgzf.fa.gz", blocks)
write("small.bgzf.fa.gz.fai", "".join(fai).encode())
write("small.bgzf.fa.gz.gzi", gzi)
write("small.bed", b"track name=small\nchr1\t0\t3000\tfirst-half\nchr2\t500\t2500\tmiddle\n")
print("wrote", OUT)
