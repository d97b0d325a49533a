#!/usr/bin/env bash
# A strain-level DNA task anyone can rebuild from Debian packages: three E. coli strains, one FASTA
# per class, for dna train-classifier / dna kmer-baseline (--class NAME=FASTA).
#
#   ec536  E. coli 536, uropathogenic (phylogroup B2), complete genome NC_008253.1, 4,938,920 bases
#          (bowtie-examples: usr/share/doc/bowtie/examples/genomes/NC_008253.fna.gz)
#   k12    E. coli K-12 MG1655, complete genome, 4,639,675 bases
#          (ragout-examples: usr/share/doc/ragout/examples/E.Coli/references/MG1655-K12.fasta.gz)
#   ec454  an E. coli draft assembly the package does not name: 152 contigs of 454 reads, 5,483,536
#          bases, 51.1% GC (abacas-examples: usr/share/doc/abacas-examples/454AllContigs.fna.gz).
#          The contigs are joined end to end in the file's order into one record, so that windows of
#          up to 1 Mb exist (the largest contig is 387 kb); no N run marks the 151 joins, which would
#          be a class cue no other class has.
# Left out: ragout's DH1 is also K-12 (99.5% of its 21-mers are in MG1655) and ragout's
# mg1655_contigs.fasta.gz is MG1655 again; unicycler-data's Shigella sonnei plasmids are 230 kb in all.
# How different the three are (canonical 21-mers, 1 in 64 sampled by hash; row's k-mers found in
# column's): ec536 in k12 0.50, in ec454 0.52; k12 in ec536 0.53, in ec454 0.74; ec454 in ec536 0.48,
# in k12 0.64. About half of each genome is a shared core nearly identical between strains, where no
# window can tell them apart; the rest is strain-specific islands, prophages and rearrangements.
#
# Split without leakage: give the classifiers --holdout F and they hold out the last F of every
# record (one record per class here), train only on the heads and score non-overlapping windows of
# the tails. With --holdout 0.25 every tail is >= 1.16 Mb, so one 1 Mb window per class fits.
#
#   scripts/ecoli-strains.sh [--cache DIR]     builds once, then prints "--class NAME=FASTA" lines
# The FASTAs are gzipped (4.3 MB in all; ssmtk reads gzip): DIR/{ec536,k12,ec454}.fa.gz. On a machine
# without network, carry them there and give the same --cache (long-context.sh passes its own on).
# Needs apt-get and dpkg-deb (Debian/Ubuntu); no root.
set -euo pipefail
cache=${XDG_CACHE_HOME:-$HOME/.cache}/ssmtk/ecoli-strains
while [ $# -gt 0 ]; do
  case $1 in
    --cache) cache=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -e/p' "$0" | sed '$d'; exit 0 ;;
    *) echo "ecoli-strains.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done

source_of() {
  case $1 in
    ec536) echo "bowtie-examples usr/share/doc/bowtie/examples/genomes/NC_008253.fna.gz 4938920" ;;
    k12) echo "ragout-examples usr/share/doc/ragout/examples/E.Coli/references/MG1655-K12.fasta.gz 4639675" ;;
    ec454) echo "abacas-examples usr/share/doc/abacas-examples/454AllContigs.fna.gz 5483536" ;;
  esac
}

mkdir -p "$cache/debs" "$cache/extracted"
for strain in ec536 k12 ec454; do
  read -r pkg path bases < <(source_of "$strain")
  fa=$cache/$strain.fa.gz
  if [ ! -s "$fa" ]; then
    if [ ! -f "$cache/extracted/$pkg/$path" ]; then
      if ! ls "$cache/debs/${pkg}"_*.deb >/dev/null 2>&1; then
        echo "ecoli-strains.sh: fetching $pkg" >&2
        (cd "$cache/debs" && apt-get download "$pkg" >/dev/null 2>&1) \
          || { echo "ecoli-strains.sh: apt-get download $pkg failed (apt-get update first?)" >&2; exit 1; }
      fi
      dpkg-deb -x "$(ls "$cache/debs/${pkg}"_*.deb | head -1)" "$cache/extracted/$pkg"
    fi
    # one record per strain, 80 bases a line; every record of the source joined in file order
    zcat "$cache/extracted/$pkg/$path" | awk -v name="$strain" '
      BEGIN { print ">" name }
      /^>/ { next }
      { gsub(/[ \t\r]/, ""); buf = buf $0; while (length(buf) >= 80) { print substr(buf, 1, 80); buf = substr(buf, 81) } }
      END { if (length(buf) > 0) print buf }' | gzip -n > "$fa.tmp"
    got=$(zcat "$fa.tmp" | grep -v '^>' | tr -d '\n' | wc -c)
    [ "$got" -eq "$bases" ] || { echo "ecoli-strains.sh: $pkg's $path gave $got bases, expected $bases (a different package version?)" >&2; rm -f "$fa.tmp"; exit 1; }
    mv "$fa.tmp" "$fa"
  fi
  echo "--class $strain=$fa"
done
