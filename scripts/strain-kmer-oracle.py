#!/usr/bin/env python3
"""What an exact-sequence memoriser could learn on the E. coli strain task (scripts/long-context.sh).

A classifier trained on the first 75% of each strain's genome and scored on the last 25% can only
use what the held-out tails share with the training parts. This script asks how much that is, with
the most literal learner there is: every canonical k-mer (both strands) of each strain's training
part in a set; a held-out window votes for the class whose set holds most of its k-mers that are in
that class's set alone (k-mers shared by several strains say nothing about which one). Windows tile
the tails as `dna train-classifier` and `dna kmer-baseline` tile them (non-overlapping, at most
--eval-windows per class, spread evenly). A window with no strain-specific k-mer, or a tie, scores
1/(number tied), as a guess would.

It also prints where each strain's held-out k-mers occur: in each strain's training part and in
each strain's held-out tail. The three genomes are largely collinear, so a tail's homologues sit
mostly in the other strains' tails, held out too, and little of a tail occurs in any training part:
what does (rearranged or repeated sequence) says little about which strain it came from.

usage: strain-kmer-oracle.py [--cache DIR] [--k 21] [--lengths 1024,8192,...] [--holdout 0.25]
       [--eval-windows 256]   (DIR: where scripts/ecoli-strains.sh keeps ec536, k12, ec454 .fa.gz)
Needs NumPy. About a minute and 2 GB of memory on one core.
"""
import argparse, gzip, os
import numpy as np

ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
ap.add_argument("--cache", default=os.path.join(os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")),
                                                "ssmtk", "ecoli-strains"))
ap.add_argument("--k", type=int, default=21)
ap.add_argument("--lengths", default="1024,8192,32768,131072,1048576")
ap.add_argument("--holdout", type=float, default=0.25)
ap.add_argument("--eval-windows", type=int, default=256)
args = ap.parse_args()
assert 1 <= args.k <= 31, "k from 1 to 31 (a k-mer is packed in 62 bits)"
names = ["ec536", "k12", "ec454"]
CODE = np.full(256, 255, np.uint8)
for i, b in enumerate(b"ACGT"):
    CODE[b] = i
    CODE[b + 32] = i  # lower case


def read(path):
    """All records of a FASTA joined end to end, as ssmtk joins them: 2-bit codes, 255 for anything else."""
    with gzip.open(path, "rb") as f:
        seq = b"".join(line.strip() for line in f if not line.startswith(b">"))
    return CODE[np.frombuffer(seq, np.uint8)]


def kmers(codes, k):
    """Canonical k-mers (min of the two strands) of every position whose k bases are all A/C/G/T."""
    n = len(codes) - k + 1
    if n <= 0:
        return np.empty(0, np.uint64)
    ok = codes != 255
    valid = np.convolve(ok.astype(np.int32), np.ones(k, np.int32), "valid") == k
    c = np.where(ok, codes, 0).astype(np.uint64)
    fwd = np.zeros(n, np.uint64)
    rev = np.zeros(n, np.uint64)
    for j in range(k):
        fwd = (fwd << np.uint64(2)) | c[j:j + n]
        rev |= (np.uint64(3) - c[j:j + n]) << np.uint64(2 * j)
    return np.minimum(fwd, rev)[valid]


def member(x, sorted_set):
    i = np.searchsorted(sorted_set, x)
    i[i == len(sorted_set)] = 0
    return sorted_set[i] == x


genomes = [read(os.path.join(args.cache, f"{n}.fa.gz")) for n in names]
cut = [len(g) - int(round(len(g) * args.holdout)) for g in genomes]
train = [np.unique(kmers(g[:c], args.k)) for g, c in zip(genomes, cut)]
tails = [g[c:] for g, c in zip(genomes, cut)]
for n, g, c, t in zip(names, genomes, cut, train):
    print(f"{n}: {len(g):,} bases, {c:,} for training ({len(t):,} distinct {args.k}-mers), {len(g) - c:,} held out")

# per class: share of the tail's k-mers found in each strain's training part, and in each strain's tail
held = [np.unique(kmers(t, args.k)) for t in tails]
print(f"\nshare of each held-out tail's {args.k}-mers found in each strain's training part | held-out tail:")
print("tail \\ in        " + "  ".join(f"{n:>7}" for n in names) + "  |" + "  ".join(f"{n:>7}" for n in names))
for n, t in zip(names, tails):
    km = kmers(t, args.k)
    print(f"{n:16s} " + "  ".join(f"{member(km, s).mean():7.3f}" for s in train) + "  |"
          + "  ".join(f"{member(km, s).mean():7.3f}" for s in held))

print(f"\nexact-match memoriser ({args.k}-mers found in one strain's training part only):")
print("| window | accuracy | windows | windows with no strain-specific k-mer |")
print("|---|---|---|---|")
for L in map(int, args.lengths.split(",")):
    credit, count, blank = 0.0, 0, 0
    for truth, t in enumerate(tails):
        starts = list(range(0, len(t) - L + 1, L))
        if len(starts) > args.eval_windows:
            starts = [starts[i * len(starts) // args.eval_windows] for i in range(args.eval_windows)]
        for s in starts:
            km = kmers(t[s:s + L], args.k)
            hit = np.array([member(km, tr) for tr in train])  # classes x k-mers
            only = hit & (hit.sum(axis=0) == 1)
            votes = only.sum(axis=1)
            best = np.flatnonzero(votes == votes.max())
            blank += votes.max() == 0
            credit += (truth in best) / len(best)
            count += 1
    print(f"| {L:,} | {credit / count:.3f} | {count} | {blank} |")
print("\n3 classes (chance 0.333).")
