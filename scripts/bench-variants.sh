#!/usr/bin/env bash
# dna score-variants on a real genome with simulated variants: LLR distributions per class side by
# side, and variants/s. A benchmark run, not a test: nothing here is tuned to its result.
#
# Genome: H. pylori G27 (1.65 Mb; or --species ecoli|saureus|vcholerae, see dna-species.sh) from
# Debian's ragout-examples package, fetched with apt-get download into ~/.cache/ssmtk/genomes
# (shared with scripts/dna-species.sh), not git.
#
# Variants (simulated by the Python below, standard library only, seeded; documented recipe):
#   genes        open reading frames ATG..stop of >= 300 codons on either strand (in a bacterial
#                genome nearly all are real genes), codons 10..n-10 only
#   coding mask  every base of any ORF >= 100 codons in any of the six frames
#   intergenic   bases outside the coding mask (random sequence of that length rarely lacks a stop)
#   classes      synonymous    SNV at a codon's 3rd base that keeps the amino acid
#                missense      SNV that changes the amino acid (not to a stop)
#                stop_gain     SNV that makes the codon a stop
#                start_loss    SNV in a gene's ATG (the ORF's first in-frame ATG, which may lie upstream of
#                              the real start: a gene's start is not always its longest ORF's)
#                stop_loss     SNV in a gene's stop codon that makes it a sense codon
#                intergenic    SNV (random other base) at an intergenic base
#                frameshift    1-base deletion inside a gene
#                inframe_del   3-base deletion of one whole codon inside a gene
#                intergenic_del  1-base deletion at an intergenic base
#   --per-class N of each (indels N/2), distinct positions, written sorted with INFO/CLASS.
# Indels: the LLR compares windows of different lengths, so a deletion drops about one base's
# ln p (~ -1.4 nats for a 2-bit/base model) per deleted base and scores higher than an SNV for that
# alone: compare indel classes with each other (frameshift vs in-frame vs intergenic), not with SNVs.
# A model: --model DIR, or one of --preset (default tiny) pretrained here for --steps on the genome's first 80%
# (windows of --seq-len); --arch caduceus-ph|caduceus-ps pretrains a Caduceus instead (masked LM on
# the same 80%: --holdout 0.2), which score-variants scores by masked marginals (indels missing). Expectation for a model that has learnt coding sequence: stop_gain and
# frameshift lower (more negative) than synonymous, intergenic in between; a few hundred CPU steps
# of the tiny model will show little of that. Prints, per class: n, mean, sd, quantiles, the share
# of its LLRs below synonymous ones (Mann-Whitney: 0.5 = no separation), a histogram with classes
# side by side, AUROC of start/stop-breaking SNVs against synonymous ones (all, and those in the
# last 20% of each contig, which no model trained here saw), and score-variants' own variants/s line (this machine's timing is not a benchmark
# figure when it is shared).
#
#   scripts/bench-variants.sh [--species hpylori] [--model DIR | --arch mamba|caduceus-ph|caduceus-ps] [--preset tiny]
#       [--steps 200] [--pretrain-batch 8] [--lr 3e-3] [--seq-len 256]
#       [--window 256] [--per-class 150] [--batch 32] [--threads 2] [--device cpu] [--seed 1]
#       [--cache DIR] [--out DIR]
# Needs apt-get and dpkg-deb for the genome, python3 (standard library). SSMTK= picks the launcher.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
ssmtk=${SSMTK:-$root/bin/ssmtk}
species=hpylori model='' arch=mamba preset=tiny pretrain_batch=8 lr=3e-3 steps=200 seq_len=256 window=256 per_class=150 batch=32 threads=2 device=cpu seed=1
cache=${XDG_CACHE_HOME:-$HOME/.cache}/ssmtk/genomes out=$root/out/bench-variants
while [ $# -gt 0 ]; do
  case $1 in
    --species) species=$2; shift 2 ;;
    --model) model=$2; shift 2 ;;
    --arch) arch=$2; shift 2 ;;
    --steps) steps=$2; shift 2 ;;
    --preset) preset=$2; shift 2 ;;
    --lr) lr=$2; shift 2 ;;
    --pretrain-batch) pretrain_batch=$2; shift 2 ;;
    --seq-len) seq_len=$2; shift 2 ;;
    --window) window=$2; shift 2 ;;
    --per-class) per_class=$2; shift 2 ;;
    --batch) batch=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --device) device=$2; shift 2 ;;
    --seed) seed=$2; shift 2 ;;
    --cache) cache=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -e/p' "$0" | sed '$d'; exit 0 ;;
    *) echo "bench-variants.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
case $species in
  ecoli) path=usr/share/doc/ragout/examples/E.Coli/references/MG1655-K12.fasta.gz ;;
  hpylori) path=usr/share/doc/ragout/examples/H.Pylori/references/G27.fasta.gz ;;
  saureus) path=usr/share/doc/ragout/examples/S.Aureus/references/N315.fasta.gz ;;
  vcholerae) path=usr/share/doc/ragout/examples/V.Cholerae/references/O1_Inaba.fasta.gz ;;
  *) echo "bench-variants.sh: unknown species '$species' (hpylori, ecoli, saureus, vcholerae)" >&2; exit 2 ;;
esac
pkg=ragout-examples
for tool in dpkg-deb python3; do command -v "$tool" >/dev/null || { echo "bench-variants.sh: needs $tool" >&2; exit 1; }; done
mkdir -p "$cache/debs" "$cache/extracted" "$out"
fa=$cache/$species.fa
if [ ! -s "$fa" ]; then
  if [ ! -f "$cache/extracted/$pkg/$path" ]; then
    if ! ls "$cache/debs/${pkg}"_*.deb >/dev/null 2>&1; then
      echo "fetching $pkg" >&2
      (cd "$cache/debs" && apt-get download "$pkg" >/dev/null) \
        || { echo "bench-variants.sh: apt-get download $pkg failed (apt-get update first?)" >&2; exit 1; }
    fi
    dpkg-deb -x "$(ls "$cache/debs/${pkg}"_*.deb | head -1)" "$cache/extracted/$pkg"
  fi
  zcat "$cache/extracted/$pkg/$path" | awk -v sp="$species" '/^>/ { print ">" sp "_" ++n; next } { print }' > "$fa.tmp"
  mv "$fa.tmp" "$fa"
fi

# --- simulate the VCF (and the training BED: the first 80% of every contig) ----------------------
python3 - "$fa" "$out/sim.vcf" "$out/train.bed" "$per_class" "$seed" <<'PY'
import random, sys
fa, vcf, bed, per_class, seed = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
seqs, name = {}, None
for line in open(fa):
    line = line.strip()
    if line.startswith(">"):
        name = line[1:].split()[0]; seqs[name] = []
    elif name:
        seqs[name].append(line.upper())
seqs = {k: "".join(v) for k, v in seqs.items()}
comp = str.maketrans("ACGTN", "TGCAN")
bases = "TCAG"
aa = "FFLLSSSSYY**CC*WLLLLPPPPHHQQRRRRIIIMTTTTNNKKSSRRVVVVAAAADDEEGGGG"
code = {a + b + c: aa[16 * i + 4 * j + k] for i, a in enumerate(bases) for j, b in enumerate(bases) for k, c in enumerate(bases)}
rng = random.Random(seed)

def orfs(s, min_codons):
    """(strand, start, end) of ATG..stop ORFs on both strands, genome coordinates [start, end)."""
    out, n = [], len(s)
    for strand, t in (("+", s), ("-", s.translate(comp)[::-1])):
        for frame in range(3):
            start = None
            for p in range(frame, n - 2, 3):
                c = t[p:p + 3]
                if start is None and c == "ATG":
                    start = p
                elif start is not None and code.get(c) == "*":
                    if (p + 3 - start) // 3 >= min_codons:
                        out.append((strand, start, p + 3) if strand == "+" else (strand, n - (p + 3), n - start))
                    start = None
    return out

records, bed_lines = [], []
for contig, s in seqs.items():
    n = len(s)
    bed_lines.append(f"{contig}\t0\t{int(n * 0.8)}\n")
    genes = orfs(s, 300)
    coding = bytearray(n)
    for _, a, b in orfs(s, 100):
        coding[a:b] = b"\x01" * (b - a)
    intergenic = [i for i in range(n) if not coding[i] and s[i] in "ACGT"]
    used = set()

    def codon_site(g):
        """A random codon of gene g (not its first or last 10): genome positions of its 3 bases in reading order, and the codon."""
        strand, a, b = g
        k = rng.randrange(10, (b - a) // 3 - 10)
        if strand == "+":
            pos = [a + 3 * k + i for i in range(3)]
            return pos, "".join(s[p] for p in pos)
        pos = [b - 1 - 3 * k - i for i in range(3)]
        return pos, "".join(s[p] for p in pos).translate(comp)

    def snv(cls, want):
        for _ in range(200000):
            if want == 0: return
            g = genes[rng.randrange(len(genes))]
            strand = g[0]
            pos, c = codon_site(g)
            if code.get(c) in (None, "*"): continue
            i = 2 if cls == "synonymous" else rng.randrange(3)
            new = c[:i] + rng.choice([x for x in "ACGT" if x != c[i]]) + c[i + 1:]
            na = code[new]
            ok = {"synonymous": na == code[c], "missense": na not in (code[c], "*"), "stop_gain": na == "*"}[cls]
            if not ok or pos[i] in used: continue
            alt = new[i] if strand == "+" else new[i].translate(comp)
            used.add(pos[i]); records.append((contig, pos[i], s[pos[i]], alt, cls)); want -= 1

    for cls in ("synonymous", "missense", "stop_gain"):
        snv(cls, per_class)

    def ends(cls, want):
        """SNVs in a gene's start (ATG) or stop codon; a stop stays a stop only if no base change makes it sense: skipped."""
        for g in rng.sample(genes, len(genes)):
            if want == 0: return
            strand, a, b = g
            first = a if cls == "start_loss" else b - 3           # the codon's leftmost genome base on the + strand
            if strand == "-": first = b - 3 if cls == "start_loss" else a
            pos = [first + i for i in range(3)] if strand == "+" else [first + 2 - i for i in range(3)]
            c = "".join(s[p] for p in pos) if strand == "+" else "".join(s[p] for p in pos).translate(comp)
            i = rng.randrange(3)
            choices = [x for x in "ACGT" if x != c[i] and (cls == "start_loss" or code.get(c[:i] + x + c[i + 1:]) != "*")]
            if not choices or pos[i] in used: continue
            assert (c == "ATG") if cls == "start_loss" else code.get(c) == "*", (cls, c)
            new = rng.choice(choices)
            alt = new if strand == "+" else new.translate(comp)
            used.add(pos[i]); records.append((contig, pos[i], s[pos[i]], alt, cls)); want -= 1

    for cls in ("start_loss", "stop_loss"):
        ends(cls, per_class)
    for p in rng.sample(intergenic, min(per_class, len(intergenic))):
        if p in used: continue
        used.add(p); records.append((contig, p, s[p], rng.choice([x for x in "ACGT" if x != s[p]]), "intergenic"))
    # deletions: VCF anchors them on the base before; REF = anchor + deleted bases, ALT = anchor
    for cls, want in (("frameshift", per_class // 2), ("inframe_del", per_class // 2)):
        while want > 0:
            g = genes[rng.randrange(len(genes))]
            pos, _ = codon_site(g)
            first = min(pos) if cls == "inframe_del" else pos[rng.randrange(3)]
            size = 3 if cls == "inframe_del" else 1
            if first < 1 or any(q in used for q in range(first - 1, first + size)): continue
            used.update(range(first - 1, first + size))
            records.append((contig, first - 1, s[first - 1:first + size], s[first - 1], cls)); want -= 1
    for p in rng.sample(intergenic, min(per_class // 2, len(intergenic))):
        if p < 1 or p in used or (p - 1) in used or not coding[p - 1] == 0: continue
        used.update((p - 1, p)); records.append((contig, p - 1, s[p - 1:p + 1], s[p - 1], "intergenic_del"))
    print(f"{contig}: {n} bases, {len(genes)} ORFs >= 300 codons, {len(intergenic)} intergenic bases "
          f"({100 * len(intergenic) / n:.1f}%)", file=sys.stderr)

order = {c: i for i, c in enumerate(seqs)}
records.sort(key=lambda r: (order[r[0]], r[1]))
with open(vcf, "w") as f:
    f.write("##fileformat=VCFv4.2\n")
    for c, s in seqs.items(): f.write(f"##contig=<ID={c},length={len(s)}>\n")
    f.write('##INFO=<ID=CLASS,Number=1,Type=String,Description="simulated class (scripts/bench-variants.sh)">\n')
    f.write("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n")
    for c, p, ref, alt, cls in records:
        f.write(f"{c}\t{p + 1}\t.\t{ref}\t{alt}\t.\t.\tCLASS={cls}\n")
open(bed, "w").write("".join(bed_lines))
counts = {}
for r in records: counts[r[4]] = counts.get(r[4], 0) + 1
print("simulated: " + ", ".join(f"{k} {v}" for k, v in counts.items()), file=sys.stderr)
PY

# --- the model ----------------------------------------------------------------------------------
if [ -z "$model" ]; then
  echo "pretraining a $preset $arch model: $steps steps of $pretrain_batch x $seq_len on the first 80% of each contig" >&2
  rm -rf "$out/pt"
  if [ "$arch" = mamba ]; then split=(--regions "$out/train.bed"); else split=(--arch "$arch" --holdout 0.2); fi
  "$ssmtk" dna pretrain --fasta "$fa" "${split[@]}" --out "$out/pt" --preset "$preset" --seq-len "$seq_len" --batch "$pretrain_batch" \
    --lr "$lr" --steps "$steps" --rc-augment --threads "$threads" --device "$device" --checkpoint-every 0 2>&1 | tail -1 >&2
  model=$out/pt/model
fi

# --- score ----------------------------------------------------------------------------------------
"$ssmtk" dna score-variants --model "$model" --fasta "$fa" --vcf "$out/sim.vcf" --out "$out/scored.vcf.gz" --window "$window" \
  --batch "$batch" --threads "$threads" --device "$device" 2> "$out/score.log" || { cat "$out/score.log" >&2; exit 1; }
grep -v warning "$out/score.log" >&2 || true

# --- distributions ----------------------------------------------------------------------------------
python3 - "$out/scored.vcf.gz" <<'PY'
import gzip, math, re, sys
by, held, lengths, scoring = {}, {}, {}, "causal"
for line in gzip.open(sys.argv[1], "rt"):
    if line.startswith("##contig"):
        m = re.search(r"ID=([^,>]+),length=(\d+)", line)
        if m: lengths[m.group(1)] = int(m.group(2))
    if line.startswith("##ssmtk_score_variants") and "scoring=masked-marginal" in line: scoring = "masked-marginal"
    if line.startswith("#"): continue
    f = line.rstrip("\n").split("\t")
    info = dict(kv.split("=", 1) for kv in f[7].split(";") if "=" in kv)
    v = info.get("SSMTK_LLR", ".")
    if v != ".":
        by.setdefault(info["CLASS"], []).append(float(v))
        if int(f[1]) > 0.8 * lengths.get(f[0], 0): held.setdefault(info["CLASS"], []).append(float(v))
classes = [c for c in ("synonymous", "missense", "stop_gain", "start_loss", "stop_loss", "intergenic", "frameshift", "inframe_del",
                       "intergenic_del") if c in by]
def q(xs, p):
    xs = sorted(xs); i = p * (len(xs) - 1); lo = int(i)
    return xs[lo] + (xs[min(lo + 1, len(xs) - 1)] - xs[lo]) * (i - lo)
def below(a, b):  # P(X_a < X_b) + P(=)/2: Mann-Whitney AUC
    s = sum((x < y) + 0.5 * (x == y) for x in a for y in b)
    return s / (len(a) * len(b))
print("\nLLR = ln P(ALT window) - ln P(REF window), nats" if scoring == "causal"
      else "\nLLR = masked marginal: ln p(ALT) - ln p(REF) at the masked variant base, nats")
print(f"{'class':<15}{'n':>5}{'mean':>9}{'sd':>8}{'q05':>9}{'q25':>9}{'median':>9}{'q75':>9}{'q95':>9}{'P(<syn)':>9}")
for c in classes:
    xs = by[c]; m = sum(xs) / len(xs); sd = math.sqrt(sum((x - m) ** 2 for x in xs) / max(len(xs) - 1, 1))
    auc = below(xs, by["synonymous"]) if "synonymous" in by and c != "synonymous" else float("nan")
    print(f"{c:<15}{len(xs):>5}{m:>9.3f}{sd:>8.3f}" + "".join(f"{q(xs, p):>9.3f}" for p in (0.05, 0.25, 0.5, 0.75, 0.95))
          + ("" if math.isnan(auc) else f"{auc:>9.3f}"))
lo = min(q(by[c], 0.01) for c in classes); hi = max(q(by[c], 0.99) for c in classes)
bins = 12; width = (hi - lo) / bins or 1
print(f"\nshare of each class per LLR bin (%)")
print(f"{'LLR bin':<18}" + "".join(f"{c[:12]:>13}" for c in classes))
for b in range(bins):
    a = lo + b * width; z = a + width
    row = []
    for c in classes:
        xs = by[c]
        k = sum(1 for x in xs if (x >= a or b == 0) and (x < z or b == bins - 1))
        row.append(f"{100 * k / len(xs):>12.1f} ")
    print(f"[{a:>7.2f},{z:>7.2f}) " + "".join(row))
broken = [c for c in ("start_loss", "stop_loss") if c in by]
if broken and "synonymous" in by:
    print("\nAUROC, start/stop-breaking SNVs scored below synonymous 3rd-position SNVs (0.5 = no separation):")
    for name, src in (("all variants", by), ("held-out 20% only", held)):
        a = [x for c in broken for x in src.get(c, [])]; b = src.get("synonymous", [])
        if a and b: print(f"  {name:<18} {below(a, b):.3f}  ({len(a)} start/stop vs {len(b)} synonymous)")
PY
